"""Measuring the engine on a JSONL set of questions with their right topic ids ([] = must not be answered)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.search.engine import SearchEngine


@dataclass(frozen=True)
class EvalItem:
    question: str
    ids: tuple[str, ...]


def read_eval_set(path: Path) -> list[EvalItem]:
    items = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(EvalItem(str(row["q"]), tuple(row.get("ids") or ())))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: expected {{\"q\": ..., \"ids\": [...]}} ({exc})") from None
    return items


@dataclass
class EvalReport:
    in_domain: int = 0
    out_of_domain: int = 0
    top1: int = 0
    top3: int = 0
    reciprocal_rank: float = 0.0
    rejected_ood: int = 0
    answered_in_domain: int = 0
    wrong_confident: int = 0
    misses: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        total = self.in_domain + self.out_of_domain
        ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        return {
            "questions": total, "in_domain": self.in_domain, "out_of_domain": self.out_of_domain,
            "top1_accuracy": ratio(self.top1, self.in_domain), "top3_accuracy": ratio(self.top3, self.in_domain),
            "mrr": ratio(self.reciprocal_rank, self.in_domain),
            "ood_rejection_rate": ratio(self.rejected_ood, self.out_of_domain),
            "wrong_confident_rate": ratio(self.wrong_confident, total),
            "answered_rate_in_domain": ratio(self.answered_in_domain, self.in_domain),
        }

    def as_text(self) -> str:
        data = self.as_json()
        return "\n".join(f"{key}: {value}" for key, value in data.items())


def evaluate(engine: SearchEngine, items: list[EvalItem]) -> EvalReport:
    report = EvalReport()
    for item in items:
        result = engine.search(item.question, top=3)
        ranked = [hit.id for hit in result.hits]
        top1_right = bool(ranked) and ranked[0] in item.ids
        if item.ids:
            report.in_domain += 1
            report.top1 += top1_right
            report.top3 += any(i in item.ids for i in ranked[:3])
            rank = next((n for n, i in enumerate(ranked, start=1) if i in item.ids), None)
            report.reciprocal_rank += 1 / rank if rank else 0.0
            report.answered_in_domain += result.answered
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
