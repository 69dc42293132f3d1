"""答题纠错 for organisers: one flagged question with its options and right answer, and marking it resolved.

Only the contest's organiser or an administrator (Contests.managed decides); a resolved question leaves the list of
flags, and the audit log keeps who resolved it and how many people had flagged it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.contests import Contests
from bot.policy import Actor
from bot.quiz import QuizQuestion


@dataclass(frozen=True)
class FlaggedQuestion:
    question_id: str
    count: int                     # people who flagged it
    question: QuizQuestion | None  # None once the question left the bank


def flagged_question(contests: Contests, contest_id: int, question_id: str,
                     actor: Actor) -> tuple[dict[str, Any], FlaggedQuestion | None]:
    """The contest and this question's open flags (None when none are left: resolved meanwhile)."""
    contest, rows = contests.flagged(contest_id, actor)
    for count, flagged_id, question in rows:
        if flagged_id == question_id:
            return contest, FlaggedQuestion(flagged_id, count, question)
    return contest, None


def resolve(contests: Contests, contest_id: int, question_id: str, actor: Actor) -> int:
    """Mark a flagged question as dealt with; returns how many flags it had (0: already resolved)."""
    contests.managed(contest_id, actor)
    resolved = contests.storage.resolve_flags(contest_id, question_id)
    if resolved:
        contests.storage.log_audit(actor.user_id, "flag.resolve", json.dumps(
            {"contest": contest_id, "question": question_id, "flags": resolved}, ensure_ascii=False))
    return resolved
