"""我的: a person's practice accuracy, practice streak and latest contest results, as plain figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from bot.clock import utc_now
from bot.storage import Storage

CONTESTS_SHOWN = 3  # the latest few contests on 我的


@dataclass(frozen=True)
class ContestResult:
    contest_id: int
    title: str
    score: float
    place: int | None  # None: nothing answered yet, so not on the board
    participants: int
    finished: bool


@dataclass(frozen=True)
class ProfileStats:
    answered: int  # practice questions, 每日一题 and 错题本 included
    correct: int
    streak: int    # consecutive days (北京时间) with practice, up to today or yesterday
    practised_today: bool
    wrongbook: int  # questions waiting in the 错题本
    contests: list[ContestResult]

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answered if self.answered else None


def daily_streak(days: Iterable[date], today: date) -> int:
    """Consecutive days with practice ending today, or ending yesterday while today may still join the run."""
    practised = set(days)
    day = today if today in practised else today - timedelta(days=1)
    streak = 0
    while day in practised:
        streak += 1
        day -= timedelta(days=1)
    return streak


def contest_result(row: dict) -> ContestResult:
    return ContestResult(contest_id=row["contest_id"], title=row["title"], score=round(row["score"], 1),
                         place=row["place"], participants=row["participants"],
                         finished=row["finished_at"] is not None)


@dataclass
class Profiles:
    storage: Storage
    timezone: ZoneInfo
    clock: Callable[[], datetime] = utc_now

    def stats(self, user_id: int, contests: int = CONTESTS_SHOWN) -> ProfileStats:
        now = self.clock().astimezone(self.timezone)
        today = now.date()
        # 北京时间 keeps one offset all year, so today's offset turns every stored UTC moment into its local date
        offset = int(now.utcoffset().total_seconds() // 60)
        days = [date.fromisoformat(day) for day in self.storage.practice_days(user_id, offset)]
        answered, correct = self.storage.practice_totals(user_id)
        return ProfileStats(answered=answered, correct=correct, streak=daily_streak(days, today),
                            practised_today=today in days, wrongbook=len(self.storage.wrongbook(user_id)),
                            contests=[contest_result(row) for row in self.storage.contest_history(user_id, contests)])
