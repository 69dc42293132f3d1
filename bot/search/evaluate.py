"""Measuring the engine on a JSONL set of questions with their right topic ids ([] = must not be answered).

"Answered" means a card is shown (`SearchResult.answered`), so "wrong but confident" counts every card whose topic
is wrong, whether the engine was sure or only probably right; it is a share of all questions of the set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.search.engine import SearchEngine

# Kinds of tests/data/qa_calibration.jsonl and qa_heldout.jsonl, grouped as issue 17 reports them.
KIND_GROUPS = {
    "worker": ("colloquial", "long", "noisy", "typo", "traditional", "technical", "keyword"),
    "written": ("forum", "exam"),
    "web": ("web_keyword", "web_forum", "web_exam"),
    "refuse": ("ood", "near_miss"),
}
GROUP_OF = {kind: group for group, kinds in KIND_GROUPS.items() for kind in kinds}


@dataclass(frozen=True)
class EvalItem:
    question: str
    ids: tuple[str, ...]
    kind: str = ""


def read_eval_set(path: Path) -> list[EvalItem]:
    items = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(EvalItem(str(row["q"]), tuple(row.get("ids") or ()), str(row.get("kind") or "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: expected {{\"q\": ..., \"ids\": [...]}} ({exc})") from None
    return items


@dataclass
class KindReport:
    """Counts for the questions of one kind (or of a whole set)."""
    questions: int = 0
    in_domain: int = 0
    top1: int = 0
    answered_right: int = 0
    wrong_confident: int = 0
    refused: int = 0  # out-of-domain questions without a card

    def add(self, in_domain: bool, top1_right: bool, answered: bool) -> None:
        self.questions += 1
        if in_domain:
            self.in_domain += 1
            self.top1 += top1_right
            self.answered_right += answered and top1_right
        else:
            self.refused += not answered
        self.wrong_confident += answered and not top1_right

    def as_json(self) -> dict:
        ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        out_of_domain = self.questions - self.in_domain
        return {"questions": self.questions, "top1": ratio(self.top1, self.in_domain),
                "answered_right": ratio(self.answered_right, self.in_domain),
                "wrong_confident": ratio(self.wrong_confident, self.questions),
                "refused": ratio(self.refused, out_of_domain)}


@dataclass
class EvalReport:
    in_domain: int = 0
    out_of_domain: int = 0
    top1: int = 0
    top3: int = 0
    reciprocal_rank: float = 0.0
    rejected_ood: int = 0
    answered_in_domain: int = 0
    answered_right: int = 0
    wrong_confident: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kinds: dict[str, KindReport] = field(default_factory=lambda: defaultdict(KindReport))
    misses: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        total = self.in_domain + self.out_of_domain
        ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        data = {
            "questions": total, "in_domain": self.in_domain, "out_of_domain": self.out_of_domain,
            "top1_accuracy": ratio(self.top1, self.in_domain), "top3_accuracy": ratio(self.top3, self.in_domain),
            "mrr": ratio(self.reciprocal_rank, self.in_domain),
            "ood_rejection_rate": ratio(self.rejected_ood, self.out_of_domain),
            "wrong_confident_rate": ratio(self.wrong_confident, total),
            "answered_rate_in_domain": ratio(self.answered_in_domain, self.in_domain),
            "answered_right_rate": ratio(self.answered_right, self.in_domain),
            "verdicts": dict(sorted(self.verdicts.items())),
        }
        if any(self.kinds):
            order = sorted(self.kinds, key=lambda kind: (kind.startswith("["), kind))  # groups last
            data["by_kind"] = {kind: self.kinds[kind].as_json() for kind in order}
        return data

    def as_text(self) -> str:
        data = self.as_json()
        by_kind = data.pop("by_kind", None)
        lines = [f"{key}: {value}" for key, value in data.items()]
        if by_kind:
            show = lambda value: "–" if value is None else f"{value:.3f}"  # noqa: E731
            lines.append(f"{'kind':12s} {'n':>4s} {'top-1':>6s} {'ans+right':>9s} {'wrong-conf':>10s} {'refused':>7s}")
            for kind, row in by_kind.items():
                top1, right, wrong, refused = (show(row[key]) for key in ("top1", "answered_right", "wrong_confident",
                                                                           "refused"))
                lines.append(f"{kind:12s} {row['questions']:4d} {top1:>6s} {right:>9s} {wrong:>10s} {refused:>7s}")
        return "\n".join(lines)


def evaluate(engine: SearchEngine, items: list[EvalItem]) -> EvalReport:
    report = EvalReport()
    for item in items:
        result = engine.search(item.question, top=3)
        ranked = [hit.id for hit in result.hits]
        top1_right = bool(ranked) and ranked[0] in item.ids
        report.verdicts[result.verdict] += 1
        if item.kind:
            report.kinds[item.kind].add(bool(item.ids), top1_right, result.answered)
            if item.kind in GROUP_OF:
                report.kinds[f"[{GROUP_OF[item.kind]}]"].add(bool(item.ids), top1_right, result.answered)
        if item.ids:
            report.in_domain += 1
            report.top1 += top1_right
            report.top3 += any(i in item.ids for i in ranked[:3])
            rank = next((n for n, i in enumerate(ranked, start=1) if i in item.ids), None)
            report.reciprocal_rank += 1 / rank if rank else 0.0
            report.answered_in_domain += result.answered
            report.answered_right += result.answered and top1_right
            if not top1_right or not result.answered:
                report.misses.append(f"{'WRONG' if result.answered else result.verdict.upper():8s} {item.question} "
                                     f"want {list(item.ids)} got {[(h.id, round(h.score, 2)) for h in result.hits]}")
        else:
            report.out_of_domain += 1
            report.rejected_ood += not result.answered
            if result.answered:
                report.misses.append(f"OOD-ANSW {item.question} got {[(h.id, round(h.score, 2)) for h in result.hits]}")
        if result.answered and not top1_right:
            report.wrong_confident += 1
    return report
