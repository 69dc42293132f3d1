"""Knowledge-base retrieval benchmark: our engine against two baselines, on the same questions, in the same run.

Question sets (tests/data/README.md)
  dev          qa_dev.jsonl: written by the team with the topics (the old engine was tuned on it)
  calibration  qa_calibration.jsonl: written without seeing the topics; the answer verdict is fitted on it
  heldout      qa_heldout.jsonl: the other half of that corpus; nothing is tuned on it

Methods
  qualitybot  bot.search.engine.SearchEngine (built from scratch, no disk cache)
  bm25        bm25s over plain jieba tokens (user dictionary loaded) of title + questions + keywords + answer text
  rapidfuzz   process.extractOne / process.extract(limit=3) with fuzz.WRatio over every title and question phrasing

Sizes: 1 = the real knowledge base, 10 and 100 = the real topics plus 9 / 99 deterministic variations of each
(id `T.id + "~k"`). A hit is right when its id with the "~k" suffix stripped is one of the question's ids.

Every (method, size) runs in its own subprocess pinned to CPU 0 and prints one JSON line; the parent collects them
and prints Markdown tables (latency and accuracy per size; per set and per kind at size 1) plus the start-up timings
of `qualitybot kb search` and of `python -c "import bot"`.

    .venv/bin/python benchmarks/qa_benchmark.py [--sizes 1,100] [--quick] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
DATA = ROOT / "tests" / "data"
QUESTION_SETS = {"dev": DATA / "qa_dev.jsonl", "calibration": DATA / "qa_calibration.jsonl",
                 "heldout": DATA / "qa_heldout.jsonl"}
# Kinds grouped as issue 17 reports them (the same groups as bot.search.evaluate.KIND_GROUPS).
KIND_GROUPS = {"worker": ("colloquial", "long", "noisy", "typo", "traditional", "technical", "keyword"),
               "written": ("forum", "exam"), "web": ("web_keyword", "web_forum", "web_exam"),
               "refuse": ("ood", "near_miss")}
METHODS = ("qualitybot", "bm25", "rapidfuzz")
SIZES = (1, 100)
WARM_UP_QUESTIONS = 200
P99_TARGETS_MS = {1: 5.0, 100: 25.0}  # p99 latency targets at 85 and 8,500 topics
STARTUP_TARGET_S = 1.5
STARTUP_RUNS = 5

# Site context a worker might add to a question; inserted into the synthetic copies.
CONTEXT_PHRASES = ("3号楼", "地下室", "样板间", "二期", "5号楼", "地下车库", "一标段", "东区", "12层", "商铺",
                   "人防区", "B栋", "屋顶层", "公寓楼")
CLAUSE_SEPARATORS = "，,；;、"


# --- shared helpers ---------------------------------------------------------------------------------------

def rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def read_questions() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(set name, question, right ids, kind) of every question of every set."""
    items = []
    for name, path in QUESTION_SETS.items():
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    items.append((name, str(row["q"]), tuple(row.get("ids") or ()), str(row.get("kind") or "")))
    return items


class Tally:
    """Accuracy counts over some questions; `answered` is None for methods without an answer flag."""

    def __init__(self):
        self.questions = self.in_domain = self.top1 = self.top3 = 0
        self.reciprocal = 0.0
        self.answered_right = self.answered_in_domain = self.wrong_confident = self.refused = 0

    def add(self, ranked: list[str], expected: tuple[str, ...], answered) -> None:
        self.questions += 1
        top1_right = bool(ranked) and ranked[0] in expected
        if expected:
            self.in_domain += 1
            self.top1 += top1_right
            self.top3 += any(topic_id in expected for topic_id in ranked[:3])
            rank = next((n for n, topic_id in enumerate(ranked[:3], start=1) if topic_id in expected), None)
            self.reciprocal += 1 / rank if rank else 0.0
            self.answered_in_domain += bool(answered)
            self.answered_right += bool(answered) and top1_right
        else:
            self.refused += answered is False
        self.wrong_confident += bool(answered) and not top1_right

    def as_json(self, calibrated: bool) -> dict:
        ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        flag = (lambda a, b: ratio(a, b)) if calibrated else (lambda a, b: "n/a")  # noqa: E731
        return {"questions": self.questions, "in_domain": self.in_domain,
                "top1": ratio(self.top1, self.in_domain), "top3": ratio(self.top3, self.in_domain),
                "mrr": ratio(self.reciprocal, self.in_domain),
                "answered_right": flag(self.answered_right, self.in_domain),
                "answered_in_domain": flag(self.answered_in_domain, self.in_domain),
                "wrong_confident": flag(self.wrong_confident, self.questions),
                "ood_rejection": flag(self.refused, self.questions - self.in_domain)}


def base_id(topic_id: str) -> str:
    return topic_id.split("~", 1)[0]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 473 values is the 469th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(len(ordered) * fraction)))
    return ordered[rank - 1]


# --- synthetic knowledge bases ------------------------------------------------------------------------------

class Varier:
    """Small deterministic changes to a topic's texts: a site context phrase, a synonym swap, a clause dropped or
    repeated. Copy k of topic T uses random.Random(f"{T.id}~{k}"), so a copy is the same at every size."""

    def __init__(self, synonyms_path: Path):
        import yaml

        groups = (yaml.safe_load(synonyms_path.read_text(encoding="utf-8")) or {}).get("groups", [])
        self.group_of: dict[str, list[str]] = {}
        for group in groups:
            words = [str(word) for word in group if str(word).strip()]
            for word in words:
                self.group_of.setdefault(word, words)
        self.by_first_char: dict[str, list[str]] = {}
        for word in sorted(self.group_of, key=len, reverse=True):
            self.by_first_char.setdefault(word[0], []).append(word)
        self._matches: dict[str, list[tuple[int, str]]] = {}

    def synonym_matches(self, text: str) -> list[tuple[int, str]]:
        """Non-overlapping (position, word) occurrences of synonym-group words, longest first at each position."""
        found = self._matches.get(text)
        if found is None:
            found, i = [], 0
            while i < len(text):
                for word in self.by_first_char.get(text[i], ()):
                    if text.startswith(word, i):
                        found.append((i, word))
                        i += len(word)
                        break
                else:
                    i += 1
            self._matches[text] = found
        return found

    @staticmethod
    def clauses(text: str) -> list[str]:
        parts, current = [], ""
        for char in text:
            current += char
            if char in CLAUSE_SEPARATORS:
                parts.append(current)
                current = ""
        if current:
            parts.append(current)
        return parts

    def vary(self, text: str, rng, short: bool = False) -> str:
        operations = ["context"]
        matches = self.synonym_matches(text)
        if matches:
            operations += ["synonym", "synonym"]
        parts = self.clauses(text)
        if not short and len(parts) >= 2:
            operations += ["drop", "repeat"]
        operation = rng.choice(operations)
        if operation == "synonym":
            position, word = rng.choice(matches)
            others = [w for w in self.group_of[word] if w != word]
            if others:
                return text[:position] + rng.choice(others) + text[position + len(word):]
            operation = "context"
        if operation == "drop":
            del parts[rng.randrange(1, len(parts))]  # keep the first clause: it usually names the subject
            return "".join(parts).rstrip(CLAUSE_SEPARATORS) or text
        if operation == "repeat":
            index = rng.randrange(len(parts))
            clause = parts[index] if parts[index][-1:] in CLAUSE_SEPARATORS else parts[index] + "，"
            parts.insert(index, clause)
            return "".join(parts)
        phrase = rng.choice(CONTEXT_PHRASES)
        boundaries = [0] + [i + 1 for i, char in enumerate(text[:-1]) if char in CLAUSE_SEPARATORS]
        position = rng.choice(boundaries) if not short else 0
        return text[:position] + phrase + text[position:]

    def copy(self, topic, k: int):
        import dataclasses
        import random

        rng = random.Random(f"{topic.id}~{k}")
        many = lambda items: tuple(self.vary(item, rng) for item in items)  # noqa: E731
        return dataclasses.replace(
            topic, id=f"{topic.id}~{k}", title=self.vary(topic.title, rng, short=True),
            summary=self.vary(topic.summary, rng), symptoms=many(topic.symptoms), causes=many(topic.causes),
            prevention=many(topic.prevention), remedy=many(topic.remedy), questions=many(topic.questions),
            keywords=tuple(self.vary(word, rng, short=True) for word in topic.keywords),
            hainan=self.vary(topic.hainan, rng) if topic.hainan else None, related=())


def knowledge_base(size: int):
    """The real knowledge base (size 1), or it plus size-1 varied copies of every topic."""
    from bot.knowledge import KnowledgeBase, require_knowledge

    kb = require_knowledge(KNOWLEDGE)
    if size == 1:
        return kb
    varier = Varier(KNOWLEDGE / "dict" / "synonyms.yaml")
    topics = dict(kb.topics)
    for k in range(1, size):
        for topic in kb.topics.values():
            copy = varier.copy(topic, k)
            topics[copy.id] = copy
    return KnowledgeBase(topics=topics, categories=kb.categories)


# --- the three methods ------------------------------------------------------------------------------------
# Each builder returns search(question) -> (ranked topic ids, answered flag or None).

def build_qualitybot(kb):
    from bot.search.engine import SearchEngine

    engine = SearchEngine.build(kb, KNOWLEDGE)

    def search(question: str):
        result = engine.search(question, top=3)
        return [hit.id for hit in result.hits], result.answered

    return search


def _plain_normalise(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch if ch.isalnum() else " " for ch in text)


def build_bm25(kb):
    import bm25s
    import jieba

    jieba.initialize()
    jieba.load_userdict(str(KNOWLEDGE / "dict" / "user_dict.txt"))

    def tokens(text: str) -> list[str]:
        return [token for token in jieba.lcut(_plain_normalise(text)) if token.strip()]

    ids = list(kb.topics)
    corpus = []
    for topic in kb.topics.values():
        text = "\n".join([topic.title, *topic.questions, *topic.keywords, topic.plain_text()])
        corpus.append(tokens(text))
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    vocabulary = retriever.vocab_dict
    k = min(3, len(ids))

    def search(question: str):
        query = [token for token in tokens(question) if token in vocabulary]
        if not query:
            return [], None
        documents, scores = retriever.retrieve([query], k=k, show_progress=False, n_threads=0)
        return [ids[int(d)] for d, s in zip(documents[0], scores[0]) if s > 0], None

    return search


def build_rapidfuzz(kb, timings: dict[str, list[float]]):
    from rapidfuzz import fuzz, process, utils

    choices: list[str] = []
    owner: list[str] = []
    for topic in kb.topics.values():
        for phrasing in (topic.title, *topic.questions):
            choices.append(phrasing)
            owner.append(topic.id)

    def search(question: str):
        started = time.perf_counter()
        best = process.extractOne(question, choices, scorer=fuzz.WRatio, processor=utils.default_process)
        timings["extractOne"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        top = process.extract(question, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=3)
        timings["extract3"].append((time.perf_counter() - started) * 1000)
        ranked = [owner[best[2]]] if best and best[1] > 0 else []
        for _, score, index in top:  # three phrasings; two may belong to the same topic
            if score > 0 and owner[index] not in ranked:
                ranked.append(owner[index])
        return ranked[:3], None

    return search


# --- worker -----------------------------------------------------------------------------------------------

def worker(method: str, size: int) -> dict:
    os.sched_setaffinity(0, {0})
    import gc

    import bot.knowledge  # noqa: F401  (common to every method)
    if method == "qualitybot":
        import bot.search.engine  # noqa: F401
    elif method == "bm25":
        import bm25s  # noqa: F401
        import jieba
        import logging

        jieba.setLogLevel(logging.WARNING)
    elif method == "rapidfuzz":
        import rapidfuzz.process  # noqa: F401
    else:
        raise SystemExit(f"unknown method {method!r}")
    rss_after_imports = rss_mb()

    questions = read_questions()
    kb = knowledge_base(size)
    rss_after_kb = rss_mb()

    rapidfuzz_timings: dict[str, list[float]] = {"extractOne": [], "extract3": []}
    gc.collect()
    started = time.perf_counter()
    if method == "qualitybot":
        search = build_qualitybot(kb)
    elif method == "bm25":
        search = build_bm25(kb)
    else:
        search = build_rapidfuzz(kb, rapidfuzz_timings)
    build_seconds = time.perf_counter() - started

    for _, question, _, _ in questions[:WARM_UP_QUESTIONS]:  # warm-up pass
        search(question)
    for timings in rapidfuzz_timings.values():
        timings.clear()

    latencies: list[float] = []
    tallies: dict[str, dict[str, Tally]] = {name: {} for name in QUESTION_SETS}
    group_of = {kind: group for group, kinds in KIND_GROUPS.items() for kind in kinds}
    for set_name, question, expected, kind in questions:
        started = time.perf_counter()
        ranked, answered = search(question)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [base_id(topic_id) for topic_id in ranked]
        keys = ["all"] + ([kind] if kind else []) + ([f"[{group_of[kind]}]"] if kind in group_of else [])
        for key in keys:
            tallies[set_name].setdefault(key, Tally()).add(ranked, expected, answered)
    if method == "rapidfuzz":  # the table's latency is the call that yields the top-3 list, as for the others
        latencies = rapidfuzz_timings["extract3"]

    calibrated = method == "qualitybot"
    peak = peak_rss_mb()
    result = {
        "method": method, "size": size, "topics": len(kb.topics), "questions": len(questions),
        "build_s": round(build_seconds, 3),
        "p50_ms": round(percentile(latencies, 0.50), 3), "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "rss_after_imports_mb": round(rss_after_imports, 1), "rss_after_kb_mb": round(rss_after_kb, 1),
        "peak_rss_mb": round(peak, 1), "peak_increase_mb": round(peak - rss_after_imports, 1),
        "sets": {name: {key: tally.as_json(calibrated) for key, tally in by_key.items()}
                 for name, by_key in tallies.items()},
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
    }
    if method == "rapidfuzz":
        one = rapidfuzz_timings["extractOne"]
        result["extractOne_p50_ms"] = round(percentile(one, 0.50), 3)
        result["extractOne_p99_ms"] = round(percentile(one, 0.99), 3)
    return result


# --- parent -----------------------------------------------------------------------------------------------

def run_worker(method: str, size: int) -> dict:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, __file__, "--worker", method, str(size)], cwd=ROOT,
                               capture_output=True, text=True)
    wall = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit(f"worker {method} x{size} failed (exit {completed.returncode})")
    result = json.loads(lines[-1])
    result["worker_wall_s"] = round(wall, 1)
    return result


def median_wall(command: list[str], runs: int = STARTUP_RUNS) -> tuple[float, list[float]]:
    """One untimed run to warm caches, then the median wall time of `runs` runs."""
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def fmt(value) -> str:
    """A rate with three decimals, or "n/a" as given."""
    return value if isinstance(value, str) else f"{value:.3f}"


def target_cell(result: dict) -> str:
    target = P99_TARGETS_MS.get(result["size"])
    if target is None:
        return "–"
    return f"< {target:g} ms {'✅' if result['p99_ms'] < target else '❌'}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    separator = "|" + "|".join("---" for _ in header) + "|"
    return "\n".join(["| " + " | ".join(header) + " |", separator, *("| " + " | ".join(row) + " |" for row in rows)])


def table(results: list[dict]) -> str:
    """Cost and raw ranking per method and size; accuracy over each whole set."""
    header = ["method", "topics", "build s", "p50 ms", "p99 ms", "p99 target", "peak RSS MB", "Δ RSS MB",
              *(f"top-1 {name}" for name in QUESTION_SETS)]
    rows = []
    for r in results:
        rows.append([r["method"], f"{r['topics']:,}", f"{r['build_s']:.2f}", f"{r['p50_ms']:.2f}",
                     f"{r['p99_ms']:.2f}", target_cell(r), f"{r['peak_rss_mb']:.0f}", f"{r['peak_increase_mb']:.0f}",
                     *(fmt(r["sets"][name]["all"]["top1"]) for name in QUESTION_SETS)])
    return markdown(header, rows)


def set_table(results: list[dict], size: int) -> str:
    """Per set at one size: ranking of every method, the answer flag of ours, and our top-1 over BM25's."""
    header = ["set", "method", "questions", "top-1", "top-3", "MRR", "answered and right", "wrong but confident",
              "OOD refused", "top-1 ÷ BM25"]
    rows = []
    by_method = {r["method"]: r for r in results if r["size"] == size}
    for name in QUESTION_SETS:
        for method, r in by_method.items():
            row = r["sets"][name]["all"]
            ratio = "–"
            if method == "qualitybot" and "bm25" in by_method and by_method["bm25"]["sets"][name]["all"]["top1"]:
                ratio = f"{row['top1'] / by_method['bm25']['sets'][name]['all']['top1']:.3f}"
            rows.append([name, method, str(row["questions"]), fmt(row["top1"]), fmt(row["top3"]), fmt(row["mrr"]),
                         fmt(row["answered_right"]), fmt(row["wrong_confident"]), fmt(row["ood_rejection"]), ratio])
    return markdown(header, rows)


def kind_table(results: list[dict], size: int, set_name: str) -> str:
    """Per kind of one set: our answer flag beside every method's raw top-1."""
    by_method = {r["method"]: r for r in results if r["size"] == size}
    ours = by_method.get("qualitybot")
    keys = list(next(iter(by_method.values()))["sets"][set_name])
    keys = [k for k in keys if k != "all"]
    keys.sort(key=lambda k: (k.startswith("["), k))
    header = ["kind", "questions"]
    if ours:
        header += ["answered and right", "wrong but confident", "refused"]
    header += [f"top-1 {method}" for method in by_method]
    rows = []
    for key in keys:
        first = next(iter(by_method.values()))["sets"][set_name][key]
        row = [key, str(first["questions"])]
        if ours:
            mine = ours["sets"][set_name][key]
            row += [fmt(mine["answered_right"]) if mine["in_domain"] else "–", fmt(mine["wrong_confident"]),
                    fmt(mine["ood_rejection"]) if mine["in_domain"] < mine["questions"] else "–"]
        row += [fmt(r["sets"][set_name][key]["top1"]) if first["in_domain"] else "–" for r in by_method.values()]
        rows.append(row)
    return markdown(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="multipliers of the real knowledge base, comma-separated (default 1,100)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--quick", action="store_true", help="only size 1 (the real knowledge base)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table and start-up lines to PATH")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        method, size = args.worker
        print(json.dumps(worker(method, int(size)), ensure_ascii=False), flush=True)
        return 0

    sizes = [1] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for method in methods:
        if method not in METHODS:
            parser.error(f"unknown method {method!r}")

    questions = read_questions()
    counts = ", ".join(f"{name} {sum(1 for q in questions if q[0] == name)}" for name in QUESTION_SETS)
    print(f"# qualitybot retrieval benchmark — {len(questions)} questions ({counts}) from "
          f"{DATA.relative_to(ROOT)}", flush=True)
    results = []
    for size in sizes:
        for method in methods:
            print(f"  running {method} x{size} ...", file=sys.stderr, flush=True)
            result = run_worker(method, size)
            print(f"  {method} x{size}: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, top-1 " + ", ".join(
                f"{name} {result['sets'][name]['all']['top1']}" for name in QUESTION_SETS), file=sys.stderr, flush=True)
            results.append(result)

    startup_cli, cli_runs = median_wall([str(ROOT / ".venv" / "bin" / "qualitybot"), "kb", "search", "--json",
                                         "卫生间漏水"])
    startup_import, import_runs = median_wall([sys.executable, "-c", "import bot"])

    first_size = sizes[0]
    lines = [table(results), "",
             f"- `qualitybot kb search --json 卫生间漏水` start-up: median {startup_cli:.3f} s of {STARTUP_RUNS} warm runs "
             f"(target < {STARTUP_TARGET_S:g} s {'✅' if startup_cli < STARTUP_TARGET_S else '❌'}; "
             f"runs {', '.join(f'{t:.3f}' for t in cli_runs)})",
             f"- `python -c \"import bot\"` (bare interpreter start-up baseline): median {startup_import:.3f} s "
             f"(runs {', '.join(f'{t:.3f}' for t in import_runs)})",
             "",
             f"Per set, {results[0]['topics'] if results else 0:,} topics:" if first_size == 1 else
             f"Per set, size {first_size}:", "",
             set_table(results, first_size), ""]
    for name in ("calibration", "heldout"):
        lines += [f"Per kind, {name}:", "", kind_table(results, first_size, name), ""]
    lines += ["Latency: one query at a time, after a warm-up pass, each worker pinned to CPU 0; p99 is nearest-rank "
              f"over all {len(questions)} questions of the three sets. Δ RSS = peak RSS minus RSS after imports "
              "(includes the knowledge base). top-1, top-3 and MRR over in-domain questions; answered and right = "
              "a card shown for the right topic, over in-domain questions; wrong but confident = a card shown for "
              "a wrong topic (or for a question that must not be answered), over all questions; OOD refused = "
              "questions that must not be answered and got no card. Baselines have no answer flag (n/a)."]
    rapid = [r for r in results if r["method"] == "rapidfuzz"]
    if rapid:
        lines.append("rapidfuzz latency is `process.extract(limit=3)`; `extractOne` alone: " + "; ".join(
            f"{r['topics']:,} topics p50 {r['extractOne_p50_ms']:.2f} / p99 {r['extractOne_p99_ms']:.2f} ms"
            for r in rapid) + ".")
    text = "\n".join(lines)
    print(text)
    print(f"\n{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d')}")
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
