"""Per-question statistics of a contest for its organiser: how many got each question right and what they chose.

Plain data from counted answers; the weakest questions come first, since they are what the next training should
cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from bot.quiz import LETTERS, QuizQuestion

MISSING_STEM = "（题目已不在题库中）"


@dataclass(frozen=True)
class OptionShare:
    letter: str
    text: str        # "" when the question is no longer in the bank
    chosen: int      # answers that chose this option (for 多选, each ticked option counts)
    right: bool


@dataclass(frozen=True)
class QuestionBreakdown:
    question_id: str
    stem: str
    topic: str       # "" when the question is no longer in the bank
    kind: str        # single | multiple | judge | "" (unknown)
    answered: int    # answers recorded, timed-out ones included
    correct: int
    timed_out: int
    options: tuple[OptionShare, ...]

    @property
    def correct_rate(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    def share(self, count: int) -> float:
        return count / self.answered if self.answered else 0.0


def question_breakdown(counts: Iterable[Mapping], questions: Mapping[str, QuizQuestion]) -> list[QuestionBreakdown]:
    """Rows of (question_id, chosen letters, correct, timed_out, answers) → one breakdown per question.

    Weakest first: lowest correct rate, then the most answered (a weak question many met matters more), then id."""
    grouped: dict[str, list[Mapping]] = {}
    for row in counts:
        grouped.setdefault(row["question_id"], []).append(row)
    result = [_one(question_id, rows, questions.get(question_id)) for question_id, rows in grouped.items()]
    result.sort(key=lambda q: (q.correct_rate, -q.answered, q.question_id))
    return result


def _one(question_id: str, rows: list[Mapping], question: QuizQuestion | None) -> QuestionBreakdown:
    answered = sum(row["answers"] for row in rows)
    correct = sum(row["answers"] for row in rows if row["correct"])
    timed_out = sum(row["answers"] for row in rows if row["timed_out"])
    chosen: dict[str, int] = {}
    for row in rows:
        for letter in set(row["chosen"] or ""):
            chosen[letter] = chosen.get(letter, 0) + row["answers"]
    if question is not None:
        options = tuple(OptionShare(LETTERS[i], text, chosen.get(LETTERS[i], 0), i in question.answer)
                        for i, text in enumerate(question.options))
        return QuestionBreakdown(question_id, question.stem, question.topic, question.type, answered, correct,
                                 timed_out, options)
    options = tuple(OptionShare(letter, "", chosen[letter], False) for letter in sorted(chosen))
    return QuestionBreakdown(question_id, MISSING_STEM, "", "", answered, correct, timed_out, options)
