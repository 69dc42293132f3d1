"""Ranking topics for a worker's question, with a calibrated verdict: answer, probably this, suggest, or not ours.

Score of a topic = weighted term coverage (how much of the question's information the topic's words explain,
rare words counting more) + character-bigram coverage (robust to segmentation) + rapidfuzz similarity to the
topic's title and phrasings, + a boost when the question names the topic's intent (保修几年 → warranty). Only the
best candidates by coverage are compared with rapidfuzz, so the cost stays small at thousands of topics.

The verdict is not a hand-set threshold: the engine measures the ranking (bot/search/verdict.py FEATURES) and a
logistic model fitted on tests/data/qa_calibration.jsonl (knowledge/dict/verdict.yaml) turns that into a
probability that the first hit is right.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge import SECTIONS, KnowledgeBase, KnowledgeError, Topic, require_knowledge
from bot.search.intents import IntentError, Intents, question_stem
from bot.search.normalise import Normalised, Normaliser, cache_dir
from bot.search.verdict import VerdictError, VerdictModel
from bot.yamlfile import Problem

log = logging.getLogger(__name__)

STRONG, WEAK = 1.0, 0.5  # a word from title/questions/keywords explains more than one from the answer text


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float


# answer: the card alone; probable: the card at once with alternatives beneath; suggest: only suggestions;
# offdomain: not a quality question (offer the topic menu); none: no topic shares a word with the question;
# empty: nothing searchable; smalltalk: a greeting or thanks.
VERDICTS = ("answer", "probable", "suggest", "offdomain", "none", "empty", "smalltalk")


@dataclass
class SearchResult:
    query: str
    normalised: Normalised
    hits: list[Hit]
    verdict: str  # one of VERDICTS
    elapsed_ms: float
    intent: str | None = None   # the answer section asked for (symptoms, causes, prevention, remedy, standards)
    confidence: float = 0.0     # calibrated probability that hits[0] is the right topic
    features: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        """A card is shown (sure or probable); what `kb search --json` reports as answered."""
        return self.verdict in ("answer", "probable")

    def as_json(self, top: int) -> dict:
        return {"query": self.query, "answered": self.answered, "elapsed_ms": round(self.elapsed_ms, 3),
                "results": [{"id": h.id, "title": h.title, "score": round(h.score, 4)} for h in self.hits[:top]]}


def fingerprint(knowledge_dir: Path) -> str:
    """Changes whenever a knowledge file or the code that builds the index changes."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    sources = [here / "engine.py", here / "normalise.py", here / "intents.py", here / "verdict.py",
               here.parent / "knowledge.py", here.parent / "yamlfile.py"]
    files = sorted([*knowledge_dir.glob("topics/*.yaml"), *knowledge_dir.glob("dict/*"), knowledge_dir / "topic_ids.tsv"])
    for path in [*sources, *files]:
        if path.is_file():
            digest.update(str(path.name).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1) if text[i:i + 2].strip() and " " not in text[i:i + 2]}


class SearchEngine:
    MIN_EVIDENCE = 1.5  # matched word weight that counts as full evidence (one distinctive domain word)
    # The parts of a topic's score; they add up to 1, so a score is at most 1 (plus an intent's boost).
    # BM25's weight was chosen on tests/data/qa_calibration.jsonl with the verdict fitted in 5 folds
    # (docs/benchmarks.md), like the share of the word evidence taken from the clause that fits a topic best:
    # together they make long descriptions answerable without changing the first hit of short questions.
    WORD_WEIGHT, BIGRAM_WEIGHT, FUZZY_WEIGHT, BM25_WEIGHT = 0.36, 0.24, 0.2, 0.2
    BM25_K1, BM25_B = 1.2, 0.75
    CLAUSE_SHARE = 0.4
    CANDIDATES = 10  # compared with rapidfuzz; 5 to 40 give the same first hits on the calibration set

    def __init__(self, kb: KnowledgeBase, normaliser: Normaliser, intents: Intents | None = None,
                 verdict: VerdictModel | None = None):
        started = time.perf_counter()
        self.kb = kb
        self.normaliser = normaliser
        self.intents = intents or Intents()
        self.verdict = verdict or VerdictModel.uncalibrated()
        # words that say what is asked (怎么办, 什么原因), not about what: they never decide the topic
        phrases = map(normaliser.tokens_of, self.intents.section_phrases())
        self.intent_tokens = frozenset(tokens[0] for tokens in phrases if len(tokens) == 1)
        self.topics: list[Topic] = list(kb.topics.values())
        self.index_of = {t.id: i for i, t in enumerate(self.topics)}
        words: dict[str, list[tuple[int, float]]] = defaultdict(list)
        grams: dict[str, list[tuple[int, float]]] = defaultdict(list)
        term_counts: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths: list[int] = []
        self.phrasings: list[list[str]] = []
        for index, topic in enumerate(self.topics):
            strong_texts = [topic.title, *topic.questions, *topic.keywords]
            weak_texts = [topic.summary, *(item for key, _ in SECTIONS for item in getattr(topic, key))]
            strong_tokens = [normaliser.tokens_of(text) for text in strong_texts]
            weak_tokens = [normaliser.tokens_of(text) for text in weak_texts]
            for token, weight in self._strengths(strong_tokens, weak_tokens, lambda tokens: set(tokens)).items():
                words[token].append((index, weight))
            for gram, weight in self._strengths(strong_tokens, weak_tokens,
                                                lambda tokens: bigrams("".join(tokens))).items():
                grams[gram].append((index, weight))
            self.phrasings.append([" ".join(tokens) for tokens in strong_tokens[: 1 + len(topic.questions)]])
            counts: dict[str, int] = defaultdict(int)
            for tokens in (*strong_tokens, *weak_tokens):
                for token in tokens:
                    counts[token] += 1
            lengths.append(sum(counts.values()))
            for token, count in counts.items():
                term_counts[token].append((index, count))
        count = len(self.topics)
        self.word_idf = {t: math.log(1 + count / len(p)) for t, p in words.items()}
        self.max_idf = math.log(1 + count)
        # A query adds whole posting lists at once (numpy), which keeps a long question under a few milliseconds
        # at thousands of topics.
        self.word_postings = Postings(words)
        self.bigram_idf = {g: math.log(1 + count / len(p)) for g, p in grams.items()}
        self.bigram_postings = Postings(grams, lambda gram, _, weight: self.bigram_idf[gram] * weight)
        average = sum(lengths) / max(1, count)
        k1, b = self.BM25_K1, self.BM25_B
        bm25_idf = {t: math.log(1 + (count - len(p) + 0.5) / (len(p) + 0.5)) for t, p in term_counts.items()}
        self.bm25_postings = Postings(term_counts, lambda token, i, tf: bm25_idf[token] * tf * (k1 + 1) / (
            tf + k1 * (1 - b + b * lengths[i] / average)))
        self.jieba_total = normaliser.tokenizer.total
        self.build_seconds = time.perf_counter() - started

    @staticmethod
    def _strengths(strong: list[list[str]], weak: list[list[str]], units) -> dict[str, float]:
        """How much a word tells about this topic: used in the answer text only (WEAK), or in its title and
        phrasings, the more of them the stronger (a topic that says 空鼓 in most phrasings is about 空鼓)."""
        counts: dict[str, int] = defaultdict(int)
        for tokens in strong:
            for unit in units(tokens):
                counts[unit] += 1
        result = {unit: WEAK for tokens in weak for unit in units(tokens)}
        for unit, count in counts.items():
            result[unit] = STRONG * (0.6 + 0.4 * min(count, 4) / 4)
        return result

    @classmethod
    def build(cls, kb: KnowledgeBase, knowledge_dir: Path, verdict: VerdictModel | None = None) -> SearchEngine:
        """The engine for these topics with the dictionaries of `knowledge_dir`; the verdict model is read from
        dict/verdict.yaml unless given (calibration passes the uncalibrated one)."""
        extra = [word for topic in kb.topics.values() for word in (*topic.keywords, topic.title)]
        normaliser = Normaliser(knowledge_dir / "dict" / "user_dict.txt", knowledge_dir / "dict" / "synonyms.yaml",
                                extra)
        normaliser.precompute_pinyin()
        try:
            intents = Intents.load(knowledge_dir / "dict" / "intents.yaml", normaliser.clean)
            unknown = sorted({topic_id for _, topic_id, _ in intents.topics} - set(kb.topics))
            if unknown:
                raise IntentError(f"topics {', '.join(unknown)} do not exist")
            if verdict is None:
                verdict = VerdictModel.load(knowledge_dir / "dict" / "verdict.yaml")
        except IntentError as exc:
            raise KnowledgeError([Problem("dict/intents.yaml", 0, str(exc))]) from None
        except VerdictError as exc:
            raise KnowledgeError([Problem("dict/verdict.yaml", 0, str(exc))]) from None
        return cls(kb, normaliser, intents, verdict)

    @classmethod
    def load(cls, knowledge_dir: Path) -> SearchEngine:
        """The engine for this knowledge directory, from the on-disk cache when the files and code are unchanged.

        Raises KnowledgeError when the knowledge base does not pass the check.
        """
        path = cache_dir() / f"index-{fingerprint(knowledge_dir)}.pickle"
        try:
            with path.open("rb") as handle:
                engine = pickle.load(handle)
            if isinstance(engine, cls):
                return engine
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            pass
        engine = cls.build(require_knowledge(knowledge_dir), knowledge_dir)
        try:
            for old in path.parent.glob("index-*.pickle"):
                old.unlink(missing_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            with temporary.open("wb") as handle:
                pickle.dump(engine, handle, protocol=pickle.HIGHEST_PROTOCOL)
            temporary.replace(path)
        except OSError as exc:
            log.warning("Could not write the search index cache %s: %s", path, exc)
        return engine

    def _general_information(self, token: str) -> float:
        """How informative a word is in everyday Chinese (jieba's frequencies): 塔吊 a lot, 吃 or 今天 little."""
        frequency = self.normaliser.tokenizer.FREQ.get(token, 0)
        return math.log(self.jieba_total / (frequency + 1))

    def _weight(self, token: str) -> float:
        """Evidence a query word carries: its rarity among topics, damped for everyday words outside our vocabulary."""
        information = self._general_information(token)
        if token not in self.word_postings:
            return min(self.max_idf, max(0.2, (information - 9.0) * 0.8))
        idf = self.word_idf[token]
        if token in self.normaliser.vocabulary:
            return idf
        return idf * min(1.0, max(0.1, (information - 8.0) / 4.0))

    def search(self, query: str, top: int = 3) -> SearchResult:
        started = time.perf_counter()
        normalised = self.normaliser.normalise(query)
        result = self._search(query, normalised, top)
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    def _search(self, query: str, normalised: Normalised, top: int) -> SearchResult:
        result = SearchResult(query=query, normalised=normalised, hits=[], verdict="none", elapsed_ms=0.0)
        tokens = list(dict.fromkeys(normalised.tokens))
        if not tokens:
            result.verdict = "smalltalk" if normalised.greeting or normalised.thanks else "empty"
            return result
        asked = question_stem(normalised.text)
        result.intent = self.intents.section_of(asked)
        ranked, evidence = self._rank(tokens, normalised.clauses, asked)
        if not ranked:
            return result
        result.hits = [Hit(self.topics[i].id, self.topics[i].title, min(1.0, s)) for s, i in ranked[:max(top, 3)]]
        result.features = self._features(ranked, evidence, asked)
        result.verdict, result.confidence = self.verdict.decide(result.features)
        result.hits = result.hits[:top]
        return result

    def _rank(self, tokens: list[str], clauses: list[list[str]],
              asked: str) -> tuple[list[tuple[float, int]], _Evidence]:
        """(score, topic index) best first, and what the verdict's features need to know about the evidence."""
        content = [token for token in tokens if token not in self.intent_tokens] or tokens
        weights = {token: self._weight(token) for token in content}
        evidence = _Evidence(content=content, total=sum(weights.values()),
                             known=sum(w for t, w in weights.items() if t in self.word_postings),
                             matched=self._matched(content, weights),
                             # the same from the domain's own words only (dictionary, synonyms, titles, keywords):
                             # 食堂几点开饭 reaches a topic through 几点 alone, which says nothing about quality
                             domain=self._matched([t for t in content if t in self.normaliser.vocabulary], weights))
        scores = self.WORD_WEIGHT * self._word_coverage(evidence, clauses, weights)
        grams = bigrams("".join(content))
        gram_total = sum(self.bigram_idf.get(g, 1.0) for g in grams)
        for gram in grams:
            postings = self.bigram_postings.get(gram)
            if postings is not None:
                scores[postings[0]] += (self.BIGRAM_WEIGHT / gram_total) * postings[1]
        bm25 = np.zeros(len(self.topics))
        for token in content:
            postings = self.bm25_postings.get(token)
            if postings is not None:
                bm25[postings[0]] += postings[1]
        if bm25.max() > 0:
            scores += (self.BM25_WEIGHT / bm25.max()) * bm25
        for topic_id, boost in self.intents.topic_boosts(asked).items():
            scores[self.index_of[topic_id]] += boost
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > self.CANDIDATES:
            candidates = candidates[np.argpartition(scores[candidates], -self.CANDIDATES)[-self.CANDIDATES:]]
        return self._with_fuzzy(scores, candidates.tolist(), evidence), evidence

    def _word_coverage(self, evidence: _Evidence, clauses: list[list[str]], weights: dict[str, float]):
        """Per topic, the share of the question's word weight its words explain; for a description in several
        clauses, partly the share of the clause it explains best, so that the clause naming the problem
        ("后浇带里积满泥水") does not drown in the others ("两个多月了" "甲方催着封" "工长说")."""
        def coverage(matched, total):
            # a high share of a query made of everyday words is weak evidence: ask for some informative overlap too
            return matched / total * np.minimum(1.0, matched / self.MIN_EVIDENCE)

        whole = coverage(evidence.matched, evidence.total)
        clauses = [kept for kept in ([t for t in clause if t in weights] for clause in clauses) if kept]
        if not self.CLAUSE_SHARE or len(clauses) < 2:
            return whole
        best_clause = np.zeros(len(self.topics))
        for clause in clauses:
            np.maximum(best_clause, coverage(self._matched(clause, weights), sum(weights[t] for t in clause)),
                       out=best_clause)
        return (1 - self.CLAUSE_SHARE) * whole + self.CLAUSE_SHARE * best_clause

    def _with_fuzzy(self, scores, candidates: list[int], evidence: _Evidence) -> list[tuple[float, int]]:
        """The candidates ranked with their rapidfuzz similarity to their title and phrasings added: one call for
        every phrasing of every candidate, the best phrasing counting for its topic."""
        if not candidates:
            return []
        phrasings = [phrasing for index in candidates for phrasing in self.phrasings[index]]
        starts = np.cumsum([0] + [len(self.phrasings[index]) for index in candidates[:-1]])
        similarity = process.cdist([" ".join(evidence.content)], phrasings, scorer=fuzz.partial_ratio, dtype=np.uint8)
        best = np.maximum.reduceat(similarity[0], starts) / 100.0
        ranked = []
        for index, fit in zip(candidates, best.tolist()):
            evidence.fuzzy[index] = fit
            ranked.append((float(scores[index]) + self.FUZZY_WEIGHT * fit, index))
        ranked.sort(reverse=True)
        return ranked

    def _matched(self, tokens: list[str], weights: dict[str, float]):
        """Per topic, the weight of these query words that the topic's words explain (stronger in its phrasings)."""
        matched = np.zeros(len(self.topics))
        for token in tokens:
            postings = self.word_postings.get(token)
            if postings is not None:
                matched[postings[0]] += weights[token] * postings[1]
        return matched

    def _features(self, ranked: list[tuple[float, int]], evidence: _Evidence, asked: str) -> dict[str, float]:
        """What the verdict model weighs (bot/search/verdict.py FEATURES)."""
        best, first = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        total = evidence.total or 1.0
        mass = float(evidence.matched[first])
        return {
            "best": min(1.0, best), "tie": -math.log(0.01 + (best - second) / best) if best > 0 else 0.0,
            "coverage": mass / total, "known": evidence.known / total, "evidence": math.log1p(mass),
            "fuzzy": evidence.fuzzy.get(first, 0.0), "length": math.log1p(len(evidence.content)),
            "offdomain_cue": float(self.intents.offdomain_cue(asked)),
            "domain_match": float(evidence.domain[first]) / mass if mass else 0.0,
        }


@dataclass
class _Evidence:
    """What one query's words matched, kept for the verdict's features."""
    content: list[str]   # the query's words that say what it is about (intent words left out)
    total: float         # their weight
    known: float         # the weight of those some topic uses
    matched: object      # numpy array: per topic, the weight its words explain
    domain: object       # the same, counting only the domain's own words
    fuzzy: dict[int, float] = field(default_factory=dict)  # topic index -> rapidfuzz similarity (0-1)


class Postings:
    """Posting lists (topic index, value) of many keys in two flat numpy arrays, a key's list being a slice of them:
    thousands of small arrays would make the index cache slow to load. `value(key, index, raw)` turns a raw value
    into the stored one, list by list, so that no second copy of every posting is ever held."""

    def __init__(self, lists: dict[str, list[tuple[int, float]]], value=None):
        self.spans: dict[str, tuple[int, int]] = {}
        self.indices = np.empty(sum(len(postings) for postings in lists.values()), dtype=np.int32)
        self.values = np.empty(len(self.indices), dtype=np.float64)
        start = 0
        for key, postings in lists.items():
            end = start + len(postings)
            self.spans[key] = (start, end)
            self.indices[start:end] = [i for i, _ in postings]
            self.values[start:end] = [v if value is None else value(key, i, v) for i, v in postings]
            start = end

    def __contains__(self, key: str) -> bool:
        return key in self.spans

    def get(self, key: str):
        """(topic indices, values) of `key`, or None."""
        span = self.spans.get(key)
        return None if span is None else (self.indices[span[0]:span[1]], self.values[span[0]:span[1]])
