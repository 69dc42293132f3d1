"""A contest's results beyond the standings: what the pictures say about it, certificates, per-question statistics,
a participant's own review of their answers.

Plain Python over storage and bot.contests; handlers render what it returns.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from bot.announcements import DELIVERED, RETRY, RETRY_AFTER, SendResult
from bot.clock import iso, parse_iso
from bot.contest_review import Access, Review, review_access, review_items
from bot.contest_stats import QuestionBreakdown, question_breakdown
from bot.contests import Contests
from bot.leaderboard import Leaderboard
from bot.policy import ORGANISER, PROVINCE, Actor
from bot.storage import Storage

log = logging.getLogger(__name__)
BOT_NAME = "质量通"  # who the organiser is when the contest was set up from the command line
CERTIFICATE_WINDOW = timedelta(days=3)  # a contest that ended longer ago sends no certificates any more


@dataclass(frozen=True)
class ContestFacts:
    """What a picture says about the contest besides the results."""
    contest_id: int
    title: str
    organiser: str
    dates: str       # in 北京时间: 2026年12月10日, or 2026年12月10日—12日 across days
    ended: bool


@dataclass(frozen=True)
class Certificate:
    facts: ContestFacts
    name: str
    team: str | None
    team_rank: int | None       # None: no team, or the team is below the minimum size
    score: float
    correct: int
    questions: int
    rank: int
    participants: int


def date_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """The days a contest ran, in the given zone: one day, or the first and last (a day ending at 00:00 is not one)."""
    first = start.astimezone(tz)
    last = (end - timedelta(microseconds=1)).astimezone(tz) if end > start else first
    text = f"{first.year}年{first.month}月{first.day}日"
    if last.date() == first.date():
        return text
    if last.year != first.year:
        return f"{text}—{last.year}年{last.month}月{last.day}日"
    return f"{text}—{last.month}月{last.day}日" if last.month != first.month else f"{text}—{last.day}日"


@dataclass
class ContestResults:
    storage: Storage
    contests: Contests
    timezone: ZoneInfo
    clock: Callable[[], datetime]

    def facts(self, contest: dict[str, Any]) -> ContestFacts:
        return ContestFacts(contest["id"], contest["title"], self.organiser(contest),
                            date_span(parse_iso(contest["starts_at"]), parse_iso(contest["closed_at"] or
                                                                                 contest["ends_at"]), self.timezone),
                            self.contests.status(contest) == "已结束")

    def organiser(self, contest: dict[str, Any]) -> str:
        """The organiser's name and the 市县 they organise for, e.g. 王工（三亚市）."""
        user = self.storage.get_user(contest["organiser_id"]) if contest.get("organiser_id") else None
        if user is None:
            return BOT_NAME
        scope = self.storage.roles_of(user["id"]).get(ORGANISER)
        name = user["first_name"] or BOT_NAME
        return f"{name}（{scope}）" if scope and scope != PROVINCE else name

    def standings(self, contest_id: int) -> tuple[Leaderboard, ContestFacts]:
        """The leaderboard and what the picture says about its contest (ContestError: no such contest)."""
        board = self.contests.leaderboard(contest_id, with_questions=False)
        return board, self.facts(self.contests.contest(contest_id))

    def leaderboard(self, contest_id: int) -> Leaderboard:
        return self.contests.leaderboard(contest_id, with_questions=False)

    def certificate(self, contest_id: int, user_id: int, board: Leaderboard | None = None) -> Certificate | None:
        """This person's certificate, once the contest has ended and if they answered at least one question.
        `board`: the contest's leaderboard, when the caller has it already (one per contest for many certificates)."""
        contest = self.contests.contest(contest_id)
        if contest is None or self.contests.status(contest) != "已结束":
            return None
        attempt = self.storage.attempt_of(contest_id, user_id)
        if attempt is None or attempt["position"] == 0:
            return None
        board = board or self.leaderboard(contest_id)
        place = board.place_of(user_id)
        if place is None:
            return None
        team = board.team_place(attempt["team_id"])
        return Certificate(self.facts(contest), place.name, team.name if team else None,
                           team.rank if team is not None else None, place.score, place.correct,
                           contest["question_count"], place.rank, board.participants)

    def ended(self, contest_id: int) -> bool:
        contest = self.contests.contest(contest_id)
        return contest is not None and self.contests.status(contest) == "已结束"

    def certificates_due(self, limit: int = 100) -> list[dict[str, Any]]:
        """Attempts whose certificate should go out now: their contest ended within CERTIFICATE_WINDOW."""
        now = self.clock()
        return self.storage.certificates_due(iso(now), iso(now - CERTIFICATE_WINDOW), limit)

    def claim_certificate(self, attempt_id: int) -> bool:
        return self.storage.claim_certificate(attempt_id, iso(self.clock()))

    def release_certificate(self, attempt_id: int) -> None:
        self.storage.release_certificate(attempt_id)

    async def deliver_certificates(self, send: Callable[[int, Certificate], Awaitable[SendResult]],
                                   limit: int = 100) -> int:
        """The certificates due now, each claimed in the database before `send(user_id, certificate)`, so that it goes
        out once even across a restart; only a send that certainly did not arrive is released to be tried again
        (one that may have arrived, or was refused, stays claimed). Returns how many were delivered."""
        boards: dict[int, Leaderboard] = {}
        sent = 0
        for row in self.certificates_due(limit):
            if not self.claim_certificate(row["id"]):
                continue
            if row["contest_id"] not in boards:
                boards[row["contest_id"]] = self.leaderboard(row["contest_id"])
            certificate = self.certificate(row["contest_id"], row["user_id"], boards[row["contest_id"]])
            if certificate is None:
                continue
            result = await send(row["user_id"], certificate)
            if result.outcome == DELIVERED:
                sent += 1
            elif result.outcome in (RETRY, RETRY_AFTER):
                log.warning("Certificate to user %s not delivered, will try again: %s", row["user_id"], result.error)
                self.release_certificate(row["id"])
            else:  # blocked or refused: nothing to retry; unknown: a second copy would be worse than none
                log.info("Certificate to user %s (contest %s): %s, %s", row["user_id"], row["contest_id"],
                         result.outcome, result.error)
        if sent:
            log.info("Sent %d contest certificates", sent)
        return sent

    def question_breakdown(self, contest_id: int, actor: Actor) -> tuple[dict[str, Any], list[QuestionBreakdown]]:
        """For its organiser (PermissionDenied otherwise): every answered question of the contest, weakest first."""
        contest = self.contests.managed(contest_id, actor)
        bank = self.contests.bank_provider()
        return contest, question_breakdown(self.storage.question_answer_counts(contest_id), bank.questions)

    def review(self, attempt_id: int, user_id: int) -> tuple[Access, Review | None]:
        """答题回顾 of an attempt: for the participant themself, once the contest has ended (the reason otherwise)."""
        attempt = self.storage.attempt(attempt_id)
        contest = self.contests.contest(attempt["contest_id"]) if attempt is not None else None
        access = review_access(attempt if contest is not None else None, user_id,
                               contest is not None and self.contests.status(contest) == "已结束")
        if access != "ok":
            return access, None
        items = review_items(json.loads(attempt["plan"]), self.storage.answers_of_attempt(attempt_id),
                             self.contests.bank_provider().questions)
        return ("ok", Review(contest, attempt, items)) if items else ("empty", None)
