"""Practice: ten untimed questions, the wrong-question book (错题本), personal statistics and 每日一题."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from bot.clock import iso, utc_now
from bot.knowledge import KnowledgeBase
from bot.quiz import LETTERS, QuestionBank, QuizQuestion
from bot.storage import Storage

SESSION_SIZE = 10
DAILY_TIMES = ["07:00", "12:00", "18:00", "20:00"]


class PracticeError(ValueError):
    """Shown to the user (Chinese)."""


@dataclass(frozen=True)
class PracticeQuestion:
    session_id: int
    position: int
    total: int
    kind: str
    question: QuizQuestion

    @property
    def options(self) -> list[str]:
        return list(self.question.options)

    @property
    def right_display(self) -> list[int]:
        return sorted(self.question.answer)


@dataclass(frozen=True)
class PracticeOutcome:
    status: str  # recorded | already | not_yours
    item: PracticeQuestion | None = None
    correct: bool = False
    finished: bool = False
    streak: int | None = None  # 每日一题 streak after this answer
    following: PracticeQuestion | None = None  # the session's next question
    chosen: tuple[int, ...] = ()  # the options recorded


@dataclass(frozen=True)
class MissedQuestion:
    position: int
    question: QuizQuestion
    chosen: tuple[int, ...]


@dataclass(frozen=True)
class PracticeSummary:
    """A session as it ended: after its last answer, or where 结束 was pressed."""
    kind: str
    category: str | None
    planned: int
    answered: int
    right: int
    missed: list[MissedQuestion]

    @property
    def complete(self) -> bool:
        return self.answered >= self.planned


@dataclass(frozen=True)
class DailyStatus:
    """每日一题 as its settings screen shows it; next_push is None while it is off."""
    enabled: bool
    at_time: str | None
    streak: int
    next_push: datetime | None
    today: date


def next_daily_push(at_time: str, now: datetime, tz: ZoneInfo, last_sent_on: str | None) -> datetime:
    """When the next 每日一题 goes out: today at `at_time` if that is still ahead and today's question has not been
    sent, otherwise tomorrow at `at_time` (local time of `tz`). Turning a 07:00 push on at 14:58 waits for tomorrow."""
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in at_time.split(":"))
    today_at = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    sent_today = last_sent_on is not None and last_sent_on >= local.date().isoformat()
    if today_at > local and not sent_today:
        return today_at
    return datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=tz)


@dataclass(frozen=True)
class CategoryStat:
    category: str
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class Practice:
    storage: Storage
    bank_provider: Callable[[], QuestionBank]
    kb_provider: Callable[[], KnowledgeBase]
    timezone: ZoneInfo
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = random.Random()

    def _pool(self, category: str | None) -> list[QuizQuestion]:
        kb = self.kb_provider()
        questions = sorted(self.bank_provider().questions.values(), key=lambda q: q.id)
        if category:
            questions = [q for q in questions if kb.get(q.topic) and kb.get(q.topic).category == category]
        return questions

    def _start(self, user_id: int, kind: str, question_ids: list[str], category: str | None) -> PracticeQuestion:
        session_id = self.storage.insert_practice({"user_id": user_id, "kind": kind, "category": category,
                                                   "plan": json.dumps(question_ids)})
        return self.current(self.storage.practice(session_id))

    def start(self, user_id: int, category: str | None = None) -> PracticeQuestion:
        pool = self._pool(category)
        if category and category not in self.kb_provider().categories:
            raise PracticeError("没有这个分类。")
        if not pool:
            raise PracticeError("这个分类暂时没有题目。")
        chosen = self.rng.sample(pool, min(SESSION_SIZE, len(pool)))
        return self._start(user_id, "practice", [q.id for q in chosen], category)

    def start_category(self, user_id: int, index: int) -> PracticeQuestion:
        categories = self.kb_provider().categories
        if not 0 <= index < len(categories):
            raise PracticeError("没有这个分类。")
        return self.start(user_id, categories[index])

    def overview(self, user_id: int) -> tuple[int, dict[str, Any] | None]:
        """(questions waiting in the 错题本, the 每日一题 subscription) for the practice menu."""
        return len(self.storage.wrongbook(user_id)), self.storage.daily_subscription(user_id)

    def open_question(self, session_id: int, user_id: int) -> PracticeQuestion | None:
        """The question a session of this user is at (None: not their session, or it is over)."""
        session = self.storage.practice(session_id)
        if session is None or session["user_id"] != user_id:
            return None
        return self.current(session)

    def wrongbook(self, user_id: int) -> list[QuizQuestion]:
        """The questions waiting in this person's 错题本, oldest mistake first (ones the bank dropped left out)."""
        bank = self.bank_provider()
        return [bank.questions[qid] for qid in self.storage.wrongbook(user_id) if qid in bank.questions]

    def start_wrongbook(self, user_id: int, page: int = 0) -> PracticeQuestion:
        """Drill one page of the 错题本 (SESSION_SIZE questions; the last page when the book has shrunk since)."""
        ids = [q.id for q in self.wrongbook(user_id)]
        if not ids:
            raise PracticeError("错题本是空的，继续保持！")
        start = min(max(page, 0) * SESSION_SIZE, (len(ids) - 1) // SESSION_SIZE * SESSION_SIZE)
        return self._start(user_id, "wrongbook", ids[start:start + SESSION_SIZE], None)

    def current(self, session: dict[str, Any]) -> PracticeQuestion | None:
        plan = json.loads(session["plan"])
        if session["finished_at"] or session["position"] >= len(plan):
            return None
        question = self.bank_provider().questions.get(plan[session["position"]])
        if question is None:
            raise PracticeError("题库已更新，这道题不存在了，请重新开始练习。")
        return PracticeQuestion(session["id"], session["position"], len(plan), session["kind"], question)

    def answer(self, session_id: int, user_id: int, position: int, chosen: list[int]) -> PracticeOutcome:
        """Record once; a wrong answer goes into the 错题本, two right answers in a row take it out."""
        session = self.storage.practice(session_id)
        if session is None or session["user_id"] != user_id:
            return PracticeOutcome("not_yours")
        item = self.current(session)
        if item is None and session["finished_at"] and session["position"] < len(json.loads(session["plan"])):
            return PracticeOutcome("ended")  # 结束 was pressed before this question was answered
        if item is None or item.position != position:
            return PracticeOutcome("already")
        picked = sorted({i for i in chosen if 0 <= i < len(item.options)})
        correct = frozenset(picked) == item.question.answer
        finished = position + 1 >= item.total
        now = self.clock()
        saved = self.storage.record_practice_answer(session, {
            "position": position, "question_id": item.question.id, "chosen": "".join(LETTERS[i] for i in picked),
            "correct": int(correct), "answered_at": iso(now)}, finished)
        if not saved:
            return PracticeOutcome("already")
        streak = None
        if session["kind"] == "daily":
            today = now.astimezone(self.timezone).date()
            streak = self.storage.mark_daily_answered(user_id, today.isoformat(),
                                                      (today - timedelta(days=1)).isoformat())
        following = None if finished else self.current(self.storage.practice(session_id))
        return PracticeOutcome("recorded", item, correct, finished, streak, following, tuple(picked))

    def end(self, session_id: int, user_id: int) -> PracticeSummary | None:
        """结束: the session stops where it is; its summary (None when it is not this person's)."""
        session = self.storage.practice(session_id)
        if session is None or session["user_id"] != user_id:
            return None
        self.storage.finish_practice(session_id, iso(self.clock()))
        return self.summary(session_id, user_id)

    def summary(self, session_id: int, user_id: int) -> PracticeSummary | None:
        """How a session went: answered, right, and each wrong answer with the option chosen."""
        session = self.storage.practice(session_id)
        if session is None or session["user_id"] != user_id:
            return None
        bank = self.bank_provider()
        answers = self.storage.practice_session_answers(session_id)
        missed = [MissedQuestion(row["position"], bank.questions[row["question_id"]],
                                 tuple(LETTERS.index(letter) for letter in row["chosen"] or ""))
                  for row in answers if not row["correct"] and row["question_id"] in bank.questions]
        return PracticeSummary(session["kind"], session["category"], len(json.loads(session["plan"])), len(answers),
                               sum(row["correct"] for row in answers), missed)

    def statistics(self, user_id: int) -> tuple[int, int, list[CategoryStat], int]:
        """(answered, correct, per category, questions waiting in the 错题本)."""
        kb = self.kb_provider()
        bank = self.bank_provider()
        per: dict[str, list[int]] = {}
        for row in self.storage.practice_stats(user_id):
            question = bank.questions.get(row["question_id"])
            topic = kb.get(question.topic) if question else None
            category = topic.category if topic else "其他"
            counts = per.setdefault(category, [0, 0])
            counts[0] += 1
            counts[1] += row["correct"]
        stats = [CategoryStat(c, n, r) for c, (n, r) in per.items()]
        stats.sort(key=lambda s: kb.categories.index(s.category) if s.category in kb.categories else 99)
        return (sum(s.answered for s in stats), sum(s.correct for s in stats), stats,
                len(self.storage.wrongbook(user_id)))

    # --- 每日一题 ------------------------------------------------------------------------------------

    def subscribe(self, user_id: int, at_time: str | None) -> DailyStatus:
        """Switch 每日一题 on at `at_time` (off when None). A time already past today starts tomorrow."""
        if at_time is not None and at_time not in DAILY_TIMES:
            raise PracticeError("请选择列表中的时间。")
        skip_day = None
        if at_time is not None:
            now = self.clock()
            today = now.astimezone(self.timezone).date()
            if next_daily_push(at_time, now, self.timezone, None).date() > today:
                skip_day = today.isoformat()
        self.storage.set_daily_subscription(user_id, at_time, skip_day)
        return self.daily_status(user_id)

    def daily_status(self, user_id: int) -> DailyStatus:
        now = self.clock()
        daily = self.storage.daily_subscription(user_id)
        enabled = bool(daily and daily["enabled"])
        next_push = next_daily_push(daily["at_time"], now, self.timezone, daily["last_sent_on"]) if enabled else None
        return DailyStatus(enabled, daily["at_time"] if daily else None, daily["streak"] if daily else 0, next_push,
                           now.astimezone(self.timezone).date())

    def daily_on(self, user_id: int) -> bool:
        daily = self.storage.daily_subscription(user_id)
        return bool(daily and daily["enabled"])

    def due_daily(self) -> list[int]:
        local = self.clock().astimezone(self.timezone)
        return self.storage.due_daily(f"{local:%H:%M}", local.date().isoformat())

    def daily_question(self, user_id: int) -> PracticeQuestion | None:
        """Today's question for this subscriber, once a day (None when it was already sent today)."""
        today = self.clock().astimezone(self.timezone).date().isoformat()
        if not self.storage.mark_daily_sent(user_id, today):
            return None
        wrong = self.storage.wrongbook(user_id)
        bank = self.bank_provider()
        pool = [qid for qid in wrong if qid in bank.questions] or sorted(bank.questions)
        return self._start(user_id, "daily", [self.rng.choice(pool)], None)
