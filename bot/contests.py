"""Contests (以赛促学): drawing questions per participant, server-timed answers recorded exactly once, ranking.

Setting a contest up and managing it is the other half, in bot/contest_setup.py.

Plain Python: handlers and the command line call this module and render what it returns.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from bot.clock import iso, parse_iso, utc_now
from bot.contest_setup import ContestError, ContestSetup, ContestSpec, check_question_count, check_title
from bot.knowledge import KnowledgeBase
from bot.live import QUESTION, LiveHosting, LiveStep
from bot.leaderboard import Leaderboard, ParticipantResult, TeamInfo, question_stats, rank_individuals, rank_teams
from bot.policy import Actor, may_take_contest
from bot.quiz import LETTERS, QuestionBank, QuizQuestion
from bot.storage import Storage

# Set-up lives in bot/contest_setup.py; callers keep importing contests from here.
__all__ = ["AnswerOutcome", "ContestError", "ContestSpec", "Contests", "GRACE_SECONDS", "ShownQuestion",
           "check_question_count", "check_title"]

POINTS_PER_QUESTION = 10
MAX_SPEED_BONUS = 5
GRACE_SECONDS = 1.0  # network delay allowed after the deadline before a press counts as late


@dataclass(frozen=True)
class ShownQuestion:
    """A question as this participant sees it: options in their own shuffled order."""
    attempt_id: int
    position: int
    total: int
    question: QuizQuestion
    order: tuple[int, ...]          # order[displayed index] = original option index
    seconds: int
    asked_at: datetime | None

    @property
    def options(self) -> list[str]:
        return [self.question.options[i] for i in self.order]

    @property
    def right_display(self) -> list[int]:
        return sorted(self.order.index(i) for i in self.question.answer)

    @property
    def deadline(self) -> datetime | None:
        return self.asked_at + timedelta(seconds=self.seconds) if self.asked_at else None


@dataclass(frozen=True)
class AnswerOutcome:
    status: str                     # recorded | timed_out | already | not_yours | closed | not_yet (live: clock not started)
    shown: ShownQuestion | None = None
    correct: bool = False
    points: float = 0.0
    finished: bool = False
    attempt: dict[str, Any] | None = None  # as it is after this outcome
    following: ShownQuestion | None = None  # the next question, asked by the same step (its clock has started)
    chosen: tuple[int, ...] = ()    # the options recorded, as displayed (none when time ran out)


@dataclass
class Contests(ContestSetup, LiveHosting):
    """The whole contest: set-up and management (ContestSetup), then taking it, here; live contests' hosting in
    LiveHosting."""

    storage: Storage
    bank_provider: Callable[[], QuestionBank]
    kb_provider: Callable[[], KnowledgeBase]
    timezone: ZoneInfo
    clock: Callable[[], datetime] = utc_now
    rng_factory: Callable[[str], random.Random] = field(default=lambda seed: random.Random(seed))
    _rows: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)  # contest rows by id
    live_listeners: list[Callable[[LiveStep], None]] = field(default_factory=list)
    _live_plans: dict[int, list[tuple[str, list[int]]]] = field(default_factory=dict, repr=False)

    # --- state ---------------------------------------------------------------------------------------

    def is_open(self, contest: dict[str, Any], now: datetime | None = None) -> bool:
        now = now or self.clock()
        return (not contest["closed_at"] and parse_iso(contest["starts_at"]) <= now < parse_iso(contest["ends_at"]))

    def status(self, contest: dict[str, Any]) -> str:
        now = self.clock()
        if contest["closed_at"] or parse_iso(contest["ends_at"]) <= now:
            return "已结束"
        return "进行中" if parse_iso(contest["starts_at"]) <= now else "未开始"

    def card(self, contest_id: int, user_id: int) -> tuple[dict[str, Any], str, dict[str, Any] | None] | None:
        """What a contest's card shows this person: the contest, its status and their attempt (None: no contest)."""
        contest = self.contest(contest_id)
        if contest is None:
            return None
        return contest, self.status(contest), self.storage.attempt_of(contest_id, user_id)

    def attempt_of(self, attempt_id: int, user_id: int) -> dict[str, Any] | None:
        """An attempt, if it is this person's."""
        attempt = self.storage.attempt(attempt_id)
        return attempt if attempt is not None and attempt["user_id"] == user_id else None

    def current_question(self, attempt_id: int, user_id: int) -> ShownQuestion | None:
        """The question this person's attempt is at (None: not their attempt, or it is over)."""
        attempt = self.storage.attempt(attempt_id)
        if attempt is None or attempt["user_id"] != user_id:
            return None
        return self.shown(attempt)

    def latest_for(self, actor: Actor) -> int | None:
        """The contest /rank shows by default: the person's latest, else one open to them now."""
        attempts = self.storage.attempts_of_user(actor.user_id)
        if attempts:
            return attempts[0]["contest_id"]
        open_now = self.open_for(actor) if actor.region else []
        return open_now[0]["id"] if open_now else None

    def open_for(self, actor: Actor) -> list[dict[str, Any]]:
        """Open contests this person may take (those of their 市县 or of the whole province)."""
        return [contest for contest in self.storage.open_contests(iso(self.clock()))
                if may_take_contest(actor, contest)]

    # --- taking a contest ----------------------------------------------------------------------------

    def draw(self, contest: dict[str, Any], user_id: int) -> list[tuple[str, list[int]]]:
        """This participant's questions (same mix as everyone's) and the order of each question's options."""
        spec = self.spec_of(contest)
        rng = self.rng_factory(f"{contest['id']}:{user_id}:{contest['board_token']}")
        pool = self.candidates(spec)
        chosen: list[QuizQuestion] = []
        if spec.difficulty:
            total = sum(spec.difficulty.values())
            wanted = {level: int(spec.questions * share / total) for level, share in spec.difficulty.items()}
            for level in sorted(spec.difficulty, key=lambda lv: -spec.difficulty[lv]):
                if sum(wanted.values()) >= spec.questions:
                    break
                wanted[level] += 1
            for level, count in wanted.items():
                level_pool = sorted((q for q in pool if q.difficulty == level), key=lambda q: q.id)
                chosen += rng.sample(level_pool, min(count, len(level_pool)))
        rest = sorted((q for q in pool if q not in chosen), key=lambda q: q.id)
        chosen += rng.sample(rest, spec.questions - len(chosen))
        rng.shuffle(chosen)
        plan = []
        for question in chosen:
            order = list(range(len(question.options)))
            if question.type != "judge":  # 正确 stays before 错误
                rng.shuffle(order)
            plan.append((question.id, order))
        return plan

    def start(self, contest_id: int, user: dict[str, Any]) -> dict[str, Any]:
        """The user's attempt at this contest, created on first start; a second start returns the same attempt."""
        contest = self.contest(contest_id)
        if contest is None:
            raise ContestError("没有这个竞赛。")
        existing = self.storage.attempt_of(contest_id, user["id"])
        if existing is not None:
            return existing
        if not self.is_open(contest):
            raise ContestError("竞赛未开始或已经结束。")
        if not may_take_contest(Actor(user["id"], region=user.get("region")), contest):
            raise ContestError("这个竞赛只面向" + "、".join(json.loads(contest["regions"])) + "的参赛者。")
        return self.storage.insert_attempt({
            "contest_id": contest_id, "user_id": user["id"], "team_id": user.get("team_id"),
            "region": user.get("region"), "name": user.get("first_name") or str(user["id"]),
            "plan": json.dumps(self.live_plan(contest) if contest["mode"] == "live" else self.draw(contest, user["id"])),
            "started_at": iso(self.clock())})

    def contest(self, contest_id: int) -> dict[str, Any] | None:
        """A contest's row, read once: only this process changes a contest (update, close), and those forget it."""
        row = self._rows.get(contest_id)
        if row is None:
            row = self.storage.contest(contest_id)
            if row is not None:
                self._rows[contest_id] = row
        return row

    def shown(self, attempt: dict[str, Any]) -> ShownQuestion | None:
        """The question this attempt is at, or None when the attempt is over."""
        plan = json.loads(attempt["plan"])
        if attempt["finished_at"] or attempt["position"] >= len(plan):
            return None
        question_id, order = plan[attempt["position"]]
        question = self.bank_provider().questions.get(question_id)
        if question is None:
            raise ContestError("题库已更新，这道题不存在了，请联系组织者。")
        return ShownQuestion(attempt["id"], attempt["position"], len(plan), question, tuple(order),
                             self.contest(attempt["contest_id"])["seconds_per_question"],
                             parse_iso(attempt["asked_at"]) if attempt["asked_at"] else None)

    def ask(self, attempt_id: int, position: int) -> tuple[ShownQuestion, bool] | None:
        """The question at `position`, and True when its clock starts now. A question asked before keeps its
        deadline however often it is shown again (开始答题 pressed twice, a lost message). None when the attempt has
        moved on."""
        attempt = self.storage.attempt(attempt_id)
        if attempt is None or attempt["position"] != position:
            return None
        return self._ask(attempt)

    def _ask(self, attempt: dict[str, Any]) -> tuple[ShownQuestion, bool] | None:
        shown = self.shown(attempt)
        if shown is None or shown.asked_at is not None:
            return (shown, False) if shown is not None else None
        if self.contest(attempt["contest_id"])["mode"] == "live":
            return None  # only the host opens a live question
        now = self.clock()
        if self.storage.mark_asked(attempt["id"], shown.position, iso(now)):
            return replace(shown, asked_at=now), True
        return self._ask(self.storage.attempt(attempt["id"]))  # asked or answered in the same instant

    def retime(self, attempt: dict[str, Any]) -> tuple[ShownQuestion, bool] | None:
        """After a restart of the bot: the interrupted question gets a new clock (True), once per question; asked
        again after a second restart it keeps the deadline it had (False). None when the attempt is over."""
        shown = self.shown(attempt)
        if shown is None or shown.asked_at is None:
            return self._ask(attempt)
        now = self.clock()
        if self.storage.retime(attempt["id"], shown.position, iso(now)):
            return replace(shown, asked_at=now), True
        return shown, False

    def delivered(self, shown: ShownQuestion, message_id: int) -> ShownQuestion | None:
        """The question has reached the participant: its clock starts again now, so time spent waiting in a
        throttled send queue is not charged to them. None if it was answered or re-asked meanwhile."""
        now = self.clock()
        if not self.storage.restart_clock(shown.attempt_id, shown.position, iso(shown.asked_at), iso(now), message_id):
            return None
        return replace(shown, asked_at=now)

    def answer(self, attempt_id: int, user_id: int, position: int, chosen_display: list[int]) -> AnswerOutcome:
        """Record an answer given on the server clock; double presses, old buttons and late presses change nothing."""
        attempt = self.storage.attempt(attempt_id)
        if attempt is None or attempt["user_id"] != user_id:
            return AnswerOutcome("not_yours")
        if attempt["finished_at"] or attempt["position"] != position or not attempt["asked_at"]:
            return AnswerOutcome("already", attempt=attempt)
        shown = self.shown(attempt)
        now = self.clock()
        contest = self.contest(attempt["contest_id"])
        if not self.is_open(contest, now):
            self.storage.finish_attempt(attempt_id, iso(now))
            return AnswerOutcome("closed", shown=shown, attempt={**attempt, "finished_at": iso(now), "asked_at": None})
        if contest["mode"] == "live":
            return self._answer_live(contest, attempt, shown, chosen_display, now)
        elapsed = (now - shown.asked_at).total_seconds()
        if elapsed > shown.seconds + GRACE_SECONDS:
            return self._record(attempt, shown, [], now, timed_out=True)
        return self._record(attempt, shown, chosen_display, now, timed_out=False)

    def _answer_live(self, contest: dict[str, Any], attempt: dict[str, Any], shown: ShownQuestion,
                     chosen_display: list[int], now: datetime) -> AnswerOutcome:
        """A live question takes answers from the moment it has reached every phone (its clock starts for all at
        once) to the one deadline, so nobody gains by receiving it first; the last answer reveals it at once."""
        if contest["live_state"] != QUESTION or contest["live_position"] != shown.position:
            return AnswerOutcome("already", attempt=attempt)
        if not contest["live_deadline"]:
            return AnswerOutcome("not_yet", shown=shown, attempt=attempt)
        late = now > parse_iso(contest["live_deadline"]) + timedelta(seconds=GRACE_SECONDS)
        outcome = self._record(attempt, shown, [] if late else chosen_display, now, timed_out=late)
        if outcome.status != "already" and self.live_everyone_answered(contest["id"], shown.position):
            self.live_reveal(contest["id"], shown.position)
        return outcome

    def expire(self, attempt_id: int, position: int) -> AnswerOutcome:
        """The timer ran out: a zero for this question unless it was answered meanwhile."""
        attempt = self.storage.attempt(attempt_id)
        if attempt is None or attempt["finished_at"] or attempt["position"] != position or not attempt["asked_at"]:
            return AnswerOutcome("already", attempt=attempt)
        shown = self.shown(attempt)
        now = self.clock()
        if now < shown.deadline:
            return AnswerOutcome("already", attempt=attempt)  # the clock was restarted after this timer was set
        return self._record(attempt, shown, [], now, timed_out=True)

    def _record(self, attempt: dict[str, Any], shown: ShownQuestion, chosen_display: list[int], now: datetime,
                timed_out: bool) -> AnswerOutcome:
        chosen = sorted({shown.order[i] for i in chosen_display if 0 <= i < len(shown.order)})
        correct = not timed_out and frozenset(chosen) == shown.question.answer
        limit_ms = shown.seconds * 1000
        time_ms = min(limit_ms, max(0, int((now - shown.asked_at).total_seconds() * 1000)))
        points = float(POINTS_PER_QUESTION) if correct else 0.0
        contest = self.contest(attempt["contest_id"])
        if correct and contest["speed_bonus"]:
            points += round(MAX_SPEED_BONUS * (limit_ms - time_ms) / limit_ms, 1)
        live = contest["mode"] == "live"  # the host opens the next question, and ends everyone's attempt at the end
        finished = shown.position + 1 >= shown.total and not live
        saved = self.storage.record_answer(attempt, {
            "position": shown.position, "question_id": shown.question.id,
            "chosen": "".join(LETTERS[i] for i in chosen), "correct": int(correct), "points": points,
            "time_ms": time_ms, "timed_out": int(timed_out), "answered_at": iso(now)}, finished, ask_next=not live)
        if not saved:
            return AnswerOutcome("already", attempt=self.storage.attempt(attempt["id"]))
        after = {**attempt, "position": shown.position + 1, "asked_at": None if finished or live else iso(now),
                 "score": attempt["score"] + points, "correct": attempt["correct"] + int(correct),
                 "time_ms": attempt["time_ms"] + time_ms, "finished_at": iso(now) if finished else None}
        return AnswerOutcome("timed_out" if timed_out else "recorded", shown=shown, correct=correct, points=points,
                             finished=finished, attempt=after,
                             following=None if finished or live else self.shown(after),
                             chosen=tuple(sorted(shown.order.index(i) for i in chosen)))

    def flag(self, attempt_id: int, user_id: int, position: int) -> bool:
        """答题纠错: the participant marks a question they answered as wrong; organisers see the count."""
        attempt = self.storage.attempt(attempt_id)
        if attempt is None or attempt["user_id"] != user_id or position >= attempt["position"]:
            return False
        question_id = json.loads(attempt["plan"])[position][0]
        return self.storage.add_flag(attempt["contest_id"], question_id, user_id)

    def resumable(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """After a restart: attempts to ask again (contest still open) and attempts closed because time is up."""
        resume, closed = [], []
        now = self.clock()
        for attempt in self.storage.unfinished_attempts():
            contest = self.contest(attempt["contest_id"])
            if contest["mode"] == "live" and self.is_open(contest, now):
                continue  # the host's contest picks up where it was (bot/live.py)
            if self.is_open(contest, now):
                resume.append(attempt)
            else:
                end = min(now, parse_iso(contest["ends_at"]))
                self.storage.finish_attempt(attempt["id"], iso(end))
                closed.append(self.storage.attempt(attempt["id"]))
        return resume, closed

    # --- results -------------------------------------------------------------------------------------

    def leaderboard(self, contest_id: int, with_questions: bool = True) -> Leaderboard:
        """The standings; per-question statistics (a scan of every answer) only where they are shown."""
        contest = self.contest(contest_id)
        if contest is None:
            raise ContestError("没有这个竞赛。")
        attempts = self.storage.contest_attempts(contest_id)
        teams = {row["id"]: TeamInfo(row["id"], row["name"], row["region"], row["company"], row["headcount"])
                 for row in self.storage.teams_by_id({a["team_id"] for a in attempts if a["team_id"]}).values()}
        results = [ParticipantResult(a["user_id"], a["name"], a["team_id"],
                                     teams[a["team_id"]].name if a["team_id"] in teams else None, a["region"],
                                     round(a["score"], 1), a["correct"], a["position"], a["time_ms"], a["finished_at"])
                   for a in attempts if a["position"] > 0 or a["finished_at"]]
        questions = []
        if with_questions:
            stems = {q.id: (q.stem, q.topic) for q in self.bank_provider().questions.values()}
            questions = question_stats(self.storage.contest_answers(contest_id), stems)
        return Leaderboard(contest_id=contest_id, title=contest["title"], individuals=rank_individuals(results),
                           teams=rank_teams(results, teams, contest["min_team_size"]), questions=questions,
                           generated_at=self.clock().astimezone(self.timezone).isoformat(timespec="seconds"),
                           ends_at=contest["ends_at"], min_team_size=contest["min_team_size"])
