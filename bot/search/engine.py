"""Ranking topics for a worker's question, with an honest verdict: answer, suggest, or say we do not know.

Score of a topic = weighted term coverage (how much of the question's information the topic's words explain,
rare words counting more) + character-bigram coverage (robust to segmentation) + rapidfuzz similarity to the
topic's title and phrasings. Only the best candidates by coverage are compared with rapidfuzz, so the cost stays
small at thousands of topics.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import os
import pickle
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from bot.knowledge import SECTIONS, KnowledgeBase, Topic, require_knowledge
from bot.search.normalise import Normalised, Normaliser, cache_dir

log = logging.getLogger(__name__)

STRONG, WEAK = 1.0, 0.5  # a word from title/questions/keywords explains more than one from the answer text


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float


@dataclass
class SearchResult:
    query: str
    normalised: Normalised
    hits: list[Hit]
    verdict: str  # answer | suggest | none | empty | smalltalk
    elapsed_ms: float

    @property
    def answered(self) -> bool:
        return self.verdict == "answer"

    def as_json(self, top: int) -> dict:
        return {"query": self.query, "answered": self.answered, "elapsed_ms": round(self.elapsed_ms, 3),
                "results": [{"id": h.id, "title": h.title, "score": round(h.score, 4)} for h in self.hits[:top]]}


def fingerprint(knowledge_dir: Path) -> str:
    """Changes whenever a knowledge file or the code that builds the index changes."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    sources = [here / "engine.py", here / "normalise.py", here.parent / "knowledge.py", here.parent / "yamlfile.py"]
    files = sorted([*knowledge_dir.glob("topics/*.yaml"), *knowledge_dir.glob("dict/*"), knowledge_dir / "topic_ids.tsv"])
    for path in [*sources, *files]:
        if path.is_file():
            digest.update(str(path.name).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1) if text[i:i + 2].strip() and " " not in text[i:i + 2]}


class SearchEngine:
    # Calibrated on tests/data/qa_dev.jsonl (docs/benchmarks.md). Confidence is the best score plus its lead over
    # the runner-up: a clear winner is trusted more than two topics that fit equally well.
    ANSWER_CONFIDENCE = 0.70
    SUGGEST_SCORE = 0.36
    LEAD_WEIGHT = 1.5
    MIN_LEAD = 0.02
    MIN_EVIDENCE = 1.5  # matched word weight that counts as full evidence (one distinctive domain word)  # a tie is never an answer, however high (a bare "空鼓" fits five topics)
    WORD_WEIGHT, BIGRAM_WEIGHT, FUZZY_WEIGHT = 0.45, 0.3, 0.25
    CANDIDATES = 40

    def __init__(self, kb: KnowledgeBase, normaliser: Normaliser):
        started = time.perf_counter()
        self.kb = kb
        self.normaliser = normaliser
        self.topics: list[Topic] = list(kb.topics.values())
        self.index_of = {t.id: i for i, t in enumerate(self.topics)}
        self.word_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.bigram_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.phrasings: list[list[str]] = []
        for index, topic in enumerate(self.topics):
            strong_texts = [topic.title, *topic.questions, *topic.keywords]
            weak_texts = [topic.summary, *(item for key, _ in SECTIONS for item in getattr(topic, key))]
            strong_tokens = [normaliser.tokens_of(text) for text in strong_texts]
            weak_tokens = [normaliser.tokens_of(text) for text in weak_texts]
            words = self._strengths(strong_tokens, weak_tokens, lambda tokens: set(tokens))
            grams = self._strengths(strong_tokens, weak_tokens, lambda tokens: bigrams("".join(tokens)))
            for token, weight in words.items():
                self.word_postings[token].append((index, weight))
            for gram, weight in grams.items():
                self.bigram_postings[gram].append((index, weight))
            self.phrasings.append([" ".join(tokens) for tokens in strong_tokens[: 1 + len(topic.questions)]])
        count = len(self.topics)
        self.word_idf = {t: math.log(1 + count / len(p)) for t, p in self.word_postings.items()}
        self.bigram_idf = {g: math.log(1 + count / len(p)) for g, p in self.bigram_postings.items()}
        self.max_idf = math.log(1 + count)
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
    def build(cls, kb: KnowledgeBase, knowledge_dir: Path) -> "SearchEngine":
        extra = [word for topic in kb.topics.values() for word in (*topic.keywords, topic.title)]
        normaliser = Normaliser(knowledge_dir / "dict" / "user_dict.txt", knowledge_dir / "dict" / "synonyms.yaml",
                                extra)
        normaliser.precompute_pinyin()
        return cls(kb, normaliser)

    @classmethod
    def load(cls, knowledge_dir: Path) -> "SearchEngine":
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
        hits, verdict = self._rank(normalised, top)
        return SearchResult(query=query, normalised=normalised, hits=hits, verdict=verdict,
                            elapsed_ms=(time.perf_counter() - started) * 1000)

    def _rank(self, normalised: Normalised, top: int) -> tuple[list[Hit], str]:
        tokens = list(dict.fromkeys(normalised.tokens))
        if not tokens:
            return [], "smalltalk" if normalised.greeting or normalised.thanks else "empty"
        matched: dict[int, float] = defaultdict(float)
        total = 0.0
        for token in tokens:
            weight = self._weight(token)
            total += weight
            for index, strength in self.word_postings.get(token, ()):
                matched[index] += weight * strength
        # a high share of a query made of everyday words is weak evidence: ask for some informative overlap too
        scores: dict[int, float] = defaultdict(float)
        for index, mass in matched.items():
            scores[index] = self.WORD_WEIGHT * (mass / total) * min(1.0, mass / self.MIN_EVIDENCE)
        grams = bigrams("".join(tokens))
        gram_total = sum(self.bigram_idf.get(g, 1.0) for g in grams)
        if gram_total:
            for gram in grams:
                for index, strength in self.bigram_postings.get(gram, ()):
                    scores[index] += self.BIGRAM_WEIGHT * self.bigram_idf[gram] * strength / gram_total
        if not scores:
            return [], "none"
        candidates = heapq.nlargest(self.CANDIDATES, scores.items(), key=lambda item: item[1])
        query_text = " ".join(tokens)
        ranked = []
        for index, partial in candidates:
            similarity = max(fuzz.partial_ratio(query_text, phrasing) for phrasing in self.phrasings[index])
            ranked.append((partial + self.FUZZY_WEIGHT * similarity / 100.0, index))
        ranked.sort(reverse=True)
        hits = [Hit(self.topics[i].id, self.topics[i].title, min(1.0, s)) for s, i in ranked[:max(top, 3)]]
        best = hits[0].score
        runner_up = hits[1].score if len(hits) > 1 else 0.0
        confidence = best + self.LEAD_WEIGHT * (best - runner_up)
        if confidence >= self.ANSWER_CONFIDENCE and best - runner_up >= self.MIN_LEAD:
            verdict = "answer"
        else:
            verdict = "suggest" if best >= self.SUGGEST_SCORE else "none"
        return hits[:top], verdict
