"""答题回顾: a participant's own answers to a contest, question by question, as they saw the options.

Plain Python: who may open a review (`review_access`), what each question looked like to the person
(`review_items`: the options in their shuffled order, their answer and the right one in the letters they saw) and
paging. bot.contest_results reads the attempt, its answers and the question bank and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from bot.quiz import LETTERS, QuizQuestion

PAGE_SIZE = 5

# ok: show it; not_yours: no such attempt, or someone else's; answering: the person is still answering;
# running: they finished but others may still be answering, so the answers must not go round yet; empty: nothing
# was answered
Access = Literal["ok", "not_yours", "answering", "running", "empty"]


@dataclass(frozen=True)
class ReviewItem:
    """One answered question as the participant saw it. Indexes are positions in `options` (their own order)."""
    number: int                  # 1-based, in the order the questions were asked
    question: QuizQuestion | None  # None: the question has left the bank since
    options: tuple[str, ...]     # in the order shown to this participant (empty when the question is gone)
    chosen: tuple[int, ...]      # what they chose (none when time ran out)
    right: tuple[int, ...]
    correct: bool
    timed_out: bool
    points: float

    @property
    def chosen_letters(self) -> str:
        return "".join(LETTERS[i] for i in self.chosen)

    @property
    def right_letters(self) -> str:
        return "".join(LETTERS[i] for i in self.right)


@dataclass(frozen=True)
class Review:
    contest: dict[str, Any]
    attempt: dict[str, Any]
    items: list[ReviewItem]

    @property
    def correct(self) -> int:
        return sum(item.correct for item in self.items)


@dataclass(frozen=True)
class Page:
    number: int   # 0-based, clamped to the pages there are
    pages: int
    first: int    # index of the page's first item
    last: int     # one past the page's last item


def review_access(attempt: dict[str, Any] | None, user_id: int, contest_ended: bool) -> Access:
    """Whether this person may read this attempt's review now: only their own, and only once the contest has ended
    (or was closed), since a review shows the right answers to questions others may still be answering."""
    if attempt is None or attempt["user_id"] != user_id:
        return "not_yours"
    if not contest_ended:
        return "running" if attempt["finished_at"] else "answering"
    if attempt["position"] == 0:
        return "empty"
    return "ok"


def displayed(order: Sequence[int], original: Sequence[int]) -> tuple[int, ...]:
    """Original option indexes as the participant saw them: order[displayed index] = original index."""
    return tuple(sorted(order.index(i) for i in original if i in order))


def stored_choice(letters: str) -> list[int]:
    """The answers table keeps the chosen options as letters of the bank's own order ("AC")."""
    return [LETTERS.index(letter) for letter in letters or "" if letter in LETTERS]


def review_items(plan: Sequence[Sequence[Any]], answers: Sequence[Mapping[str, Any]],
                 questions: Mapping[str, QuizQuestion]) -> list[ReviewItem]:
    """Each answered question of an attempt, in the order asked. `plan`: the attempt's [question id, order] per
    position; `answers`: its rows of the answers table; `questions`: the bank."""
    items = []
    for row in sorted(answers, key=lambda r: r["position"]):
        position = row["position"]
        if not 0 <= position < len(plan):
            continue
        question_id, order = plan[position]
        question = questions.get(question_id)
        chosen = stored_choice(row["chosen"])
        timed_out = bool(row["timed_out"])
        if question is None:  # no order to map through: the letters as stored
            items.append(ReviewItem(position + 1, None, (), tuple(chosen), (), bool(row["correct"]), timed_out,
                                    row["points"]))
            continue
        items.append(ReviewItem(position + 1, question, tuple(question.options[i] for i in order),
                                displayed(order, chosen), displayed(order, sorted(question.answer)),
                                bool(row["correct"]), timed_out, row["points"]))
    return items


def page_of(count: int, page: int, size: int = PAGE_SIZE) -> Page:
    """The page asked for, clamped to those there are (an old button after the list shrank lands on the last)."""
    pages = max(1, (count + size - 1) // size)
    number = min(max(page, 0), pages - 1)
    return Page(number, pages, number * size, min(count, (number + 1) * size))
