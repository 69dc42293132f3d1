"""Setting contests up and managing them: the spec and its checks, creation, changes before the start, closing.

`ContestSetup` is the organiser's half of `bot.contests.Contests`, kept apart so that each half reads on its own;
it uses the attributes `Contests` declares (storage, bank_provider, kb_provider, clock, _rows) and its `contest`
and `status`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.policy import ORGANISER, Actor, PermissionDenied, may_create_contest, may_manage_contest
from bot.quiz import QuizQuestion
from bot.render import plain_name


class ContestError(ValueError):
    """A request that cannot be done; the message is shown to the user (Chinese). `setting` names the culprit."""

    def __init__(self, message: str, setting: str | None = None):
        super().__init__(message)
        self.setting = setting


TITLE_LIMIT, MAX_QUESTIONS = 60, 100
MODES = {"self": "自主答题", "live": "现场模式（主持人逐题出题）"}


def check_title(title: str) -> None:
    if not title.strip() or len(title) > TITLE_LIMIT:
        raise ContestError(f"竞赛名称不能为空，且不超过 {TITLE_LIMIT} 个字。", "title")


def check_question_count(count: int | None) -> None:
    if count is None or not 1 <= count <= MAX_QUESTIONS:
        raise ContestError(f"题目数量应在 1 到 {MAX_QUESTIONS} 之间。", "questions")


@dataclass
class ContestSpec:
    title: str
    starts_at: datetime
    ends_at: datetime
    questions: int
    description: str = ""
    seconds_per_question: int = 30
    categories: list[str] | None = None
    topics: list[str] | None = None
    regions: list[str] | None = None
    min_team_size: int = 3
    speed_bonus: bool = False
    difficulty: dict[int, float] | None = None
    mode: str = "self"  # self: each at their own pace; live: the host opens each question for everyone (bot/live.py)


class ContestSetup:

    def candidates(self, spec: ContestSpec) -> list[QuizQuestion]:
        kb = self.kb_provider()
        questions = list(self.bank_provider().questions.values())
        if spec.topics:
            questions = [q for q in questions if q.topic in spec.topics]
        if spec.categories:
            questions = [q for q in questions if kb.get(q.topic) and kb.get(q.topic).category in spec.categories]
        return questions

    def validate(self, spec: ContestSpec, *, allow_past_start: bool = False) -> None:
        kb = self.kb_provider()
        check_title(spec.title)
        if spec.ends_at <= spec.starts_at:
            raise ContestError("结束时间必须晚于开始时间。", "ends_at")
        if not allow_past_start and spec.ends_at <= self.clock():
            raise ContestError("结束时间已经过去，请重新设置。", "ends_at")
        check_question_count(spec.questions)
        if not 10 <= spec.seconds_per_question <= 300:
            raise ContestError("每题限时应在 10 到 300 秒之间。", "seconds_per_question")
        if not 1 <= spec.min_team_size <= 1000:
            raise ContestError("团队最少参赛人数应为正整数。", "min_team_size")
        unknown_categories = [c for c in spec.categories or [] if c not in kb.categories]
        if unknown_categories:
            raise ContestError(f"没有这些分类：{'、'.join(unknown_categories)}。可选：{'、'.join(kb.categories)}。",
                               "categories")
        unknown_topics = [t for t in spec.topics or [] if t not in kb.topics]
        if unknown_topics:
            raise ContestError(f"没有这些知识主题：{'、'.join(unknown_topics)}。", "topics")
        if spec.mode not in MODES:
            raise ContestError("竞赛模式只能是 self（自主答题）或 live（现场模式）。", "mode")
        if spec.difficulty and (set(spec.difficulty) - {1, 2, 3} or any(v < 0 for v in spec.difficulty.values())
                                or sum(spec.difficulty.values()) <= 0):
            raise ContestError("难度比例的键为 1、2、3，值为非负数。", "difficulty")
        available = len(self.candidates(spec))
        if available < spec.questions:
            raise ContestError(f"所选范围内只有 {available} 道题，少于每人需要的 {spec.questions} 道。", "questions")

    def create(self, spec: ContestSpec, actor: Actor | None, organiser_id: int | None = None) -> dict[str, Any]:
        """A new contest by `actor`, who then manages it; `actor` None is the command line, trusted as the
        operator, which may name the organiser who manages it in chat."""
        if actor is not None and not may_create_contest(actor, spec.regions):
            scope = actor.scope(ORGANISER)
            raise PermissionDenied("只有竞赛组织者可以新建竞赛。" if scope is None else
                                   f"您是{scope}的组织者，只能面向{scope}的参赛者新建竞赛。")
        self.validate(spec)
        contest_id = self.storage.insert_contest({
            "title": plain_name(spec.title), "description": spec.description.strip(),
            "organiser_id": actor.user_id if actor else organiser_id,
            "regions": json.dumps(spec.regions, ensure_ascii=False) if spec.regions else None,
            "categories": json.dumps(spec.categories, ensure_ascii=False) if spec.categories else None,
            "topics": json.dumps(spec.topics) if spec.topics else None,
            "difficulty_mix": json.dumps({str(k): v for k, v in spec.difficulty.items()}) if spec.difficulty else None,
            "starts_at": iso(spec.starts_at), "ends_at": iso(spec.ends_at), "question_count": spec.questions,
            "seconds_per_question": spec.seconds_per_question, "min_team_size": spec.min_team_size,
            "speed_bonus": int(spec.speed_bonus), "board_token": secrets.token_urlsafe(18), "mode": spec.mode,
            "host_token": secrets.token_urlsafe(18) if spec.mode == "live" else None,
            "live_state": "lobby" if spec.mode == "live" else None,
        })
        return self.storage.contest(contest_id)

    def spec_of(self, contest: dict[str, Any]) -> ContestSpec:
        load = lambda key: json.loads(contest[key]) if contest.get(key) else None  # noqa: E731
        mix = load("difficulty_mix")
        return ContestSpec(
            title=contest["title"], description=contest["description"], starts_at=parse_iso(contest["starts_at"]),
            ends_at=parse_iso(contest["ends_at"]), questions=contest["question_count"],
            seconds_per_question=contest["seconds_per_question"], categories=load("categories"),
            topics=load("topics"), regions=load("regions"), min_team_size=contest["min_team_size"],
            speed_bonus=bool(contest["speed_bonus"]), difficulty={int(k): v for k, v in mix.items()} if mix else None,
            mode=contest["mode"])

    def managed(self, contest_id: int, actor: Actor) -> dict[str, Any]:
        """The contest, if this actor may manage it (its organiser, or an administrator)."""
        contest = self.contest(contest_id)
        if contest is None or not may_manage_contest(actor, contest):
            raise PermissionDenied("只有该竞赛的组织者或管理员可以操作。")
        return contest

    def overview(self, contest_id: int, actor: Actor) -> tuple[dict[str, Any], str, int, int]:
        """For its organiser: the contest, its status, how many took part and how many flags were raised."""
        contest = self.managed(contest_id, actor)
        flags = sum(row["flags"] for row in self.storage.flags(contest_id))
        return contest, self.status(contest), len(self.storage.contest_attempts(contest_id)), flags

    def flagged(self, contest_id: int, actor: Actor) -> tuple[dict[str, Any], list[tuple[int, str, QuizQuestion | None]]]:
        """For its organiser: (flags, question id, question) of every question participants marked as wrong."""
        contest = self.managed(contest_id, actor)
        bank = self.bank_provider()
        return contest, [(row["flags"], row["question_id"], bank.questions.get(row["question_id"]))
                         for row in self.storage.flags(contest_id)]

    def managed_by(self, actor: Actor) -> list[dict[str, Any]]:
        """The contests this actor manages: their own, or all of them for an administrator."""
        if not actor.holds(ORGANISER):
            raise PermissionDenied("只有竞赛组织者或管理员可以使用这个功能。")
        return self.storage.contests(None if actor.is_admin else actor.user_id)

    def update(self, contest_id: int, actor: Actor, **changes: Any) -> dict[str, Any]:
        """Change a contest that has not started yet."""
        contest = self.managed(contest_id, actor)
        if parse_iso(contest["starts_at"]) <= self.clock() or contest["closed_at"]:
            raise ContestError("竞赛已经开始或已结束，不能再修改。")
        spec = self.spec_of(contest)
        for key, value in changes.items():
            setattr(spec, key, value)
        self.validate(spec)
        self._rows.pop(contest_id, None)
        self.storage.update_contest(contest_id, {
            "title": spec.title.strip(), "description": spec.description.strip(), "starts_at": iso(spec.starts_at),
            "ends_at": iso(spec.ends_at), "question_count": spec.questions,
            "seconds_per_question": spec.seconds_per_question, "min_team_size": spec.min_team_size})
        return self.storage.contest(contest_id)

    def close(self, contest_id: int, actor: Actor) -> dict[str, Any]:
        contest = self.managed(contest_id, actor)
        if contest["closed_at"]:
            raise ContestError("竞赛已经结束。")
        if contest["mode"] == "live":
            self.live_end(contest_id)
            return self.storage.contest(contest_id)
        return self.finish_contest(contest_id)

    def finish_contest(self, contest_id: int) -> dict[str, Any]:
        """Close the contest now and finish every attempt in it."""
        now = iso(self.clock())
        self._rows.pop(contest_id, None)
        self.storage.update_contest(contest_id, {"closed_at": now})
        for attempt in self.storage.contest_attempts(contest_id):
            self.storage.finish_attempt(attempt["id"], now)
        return self.storage.contest(contest_id)
