"""Live contests (现场模式): the host paces the questions, and everyone answers the same question at the same time.

A live contest moves lobby → question → reveal (⇄ paused) → question … → ended, only when its host says so (in chat,
or on the board with the host link) or when a question's time is up. Each move is a conditional update on the state
and the question it expects, so a double press or two hosts pressing at once move it once. Everyone shares one plan
(the same questions, options in the same order, so the big screen can show them); a question's clock starts for
everyone when it has reached every phone, and closes at one deadline. Whoever missed a question (joined late, or did
not answer) gets it recorded as unanswered when the contest moves past it, so positions and answers stay one to one
and the standings, statistics, review and certificates work as for self-paced contests.

`LiveHosting` is the live half of `bot.contests.Contests` (as ContestSetup is the organiser's half); it uses the
attributes Contests declares and its `contest`, `shown`, `close` and `leaderboard`. What a move means for the
channels (send the question, tell everyone their result) goes to `live_listeners`, plain callables that the Telegram
handlers (and any other channel) register.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from bot.clock import iso, parse_iso
from bot.contest_setup import ContestError
from bot.leaderboard import format_points
from bot.policy import Actor, PermissionDenied, may_manage_contest
from bot.quiz import LETTERS

LOBBY, QUESTION, REVEAL, PAUSED, ENDED = "lobby", "question", "reveal", "paused", "ended"
STATE_NAMES = {LOBBY: "等待开始", QUESTION: "答题中", REVEAL: "公布答案", PAUSED: "暂停中", ENDED: "已结束"}
HOST_ACTIONS = ("start", "next", "pause", "resume", "end")
TOP = 5


@dataclass(frozen=True)
class LiveStep:
    """What a move changed, for the channels: the question now open and whom to send it to (state question), or
    whom to tell their result (state ended); `recipients` are (attempt id, user id)."""
    contest_id: int
    state: str
    position: int
    recipients: tuple[tuple[int, int], ...] = ()
    opened: bool = False  # the question was just opened: send it to the recipients, then start its clock
    resend: bool = False  # ... again, after a restart cut its sending off


class LiveHosting:

    live_listeners: list[Callable[[LiveStep], None]]
    _live_plans: dict[int, list[tuple[str, list[int]]]]

    # --- who may host ----------------------------------------------------------------------------------

    def hosted(self, contest_id: int, actor: Actor | None = None, host_token: str | None = None) -> dict[str, Any]:
        """The live contest, if `actor` manages it or `host_token` is its host link's."""
        contest = self.contest(contest_id)
        if contest is None or contest["mode"] != "live":
            raise ContestError("这不是现场模式的竞赛。")
        if actor is not None and may_manage_contest(actor, contest):
            return contest
        if host_token and contest["host_token"] and hmac.compare_digest(host_token.encode(),
                                                                         contest["host_token"].encode()):
            return contest
        raise PermissionDenied("只有该竞赛的组织者或管理员可以主持。")

    # --- the host's moves ------------------------------------------------------------------------------

    def host(self, contest_id: int, action: str, step: int, actor: Actor | None = None,
             host_token: str | None = None) -> str:
        """Carry out the host's `action` (HOST_ACTIONS) if the contest is still at `step` (its position + 1, as the
        host saw it); returns what to tell the host. A press that comes too late changes nothing."""
        contest = self.hosted(contest_id, actor, host_token)
        state, position = contest["live_state"], contest["live_position"]
        if state == ENDED or contest["closed_at"]:
            return "竞赛已经结束。"
        if action == "end":
            self.live_end(contest_id)
            return "竞赛已结束，成绩和证书会发给每位参赛者。"
        if step != position + 1:
            return "主持界面已经过时，请看最新状态。"
        if action in ("start", "next"):
            if state not in ((LOBBY,) if action == "start" else (REVEAL, PAUSED)):
                return "现在不能出下一题。" if state == QUESTION else "请先开始竞赛。"
            if position + 1 >= contest["question_count"]:
                return "题目已经出完，请点“结束并颁奖”。"
            if not self.is_open(contest):
                raise ContestError("竞赛不在设定的时间范围内，不能出题。")
            return self._open(contest, position + 1)
        if action == "pause" and state == REVEAL:
            return self._move(contest_id, (REVEAL,), position, {"live_state": PAUSED}, "已暂停。")
        if action == "resume" and state == PAUSED:
            return self._move(contest_id, (PAUSED,), position, {"live_state": REVEAL}, "已继续，可以出下一题。")
        return "现在不能这样操作。"

    def _move(self, contest_id: int, states: tuple[str, ...], position: int, fields: dict[str, Any],
              done: str) -> str:
        self._rows.pop(contest_id, None)
        if not self.storage.live_transition(contest_id, states, position, fields):
            return "主持界面已经过时，请看最新状态。"
        self._tell(LiveStep(contest_id, fields.get("live_state", QUESTION), fields.get("live_position", position)))
        return done

    def _open(self, contest: dict[str, Any], position: int) -> str:
        """Open the question at `position` for everyone: whoever missed the last one gets it recorded first."""
        now = iso(self.clock())
        self._rows.pop(contest["id"], None)
        if not self.storage.live_transition(contest["id"], (LOBBY, REVEAL, PAUSED), position - 1, {
                "live_state": QUESTION, "live_position": position, "live_opened_at": now, "live_deadline": None}):
            return "主持界面已经过时，请看最新状态。"
        self.storage.catch_up(contest["id"], position, self._plan(contest), self._limit_ms(contest), now)
        self.storage.open_for_all(contest["id"], position, now)
        self._tell(self._question_step(contest["id"], position))
        return f"第 {position + 1} 题已发出。"

    def _question_step(self, contest_id: int, position: int, resend: bool = False) -> LiveStep:
        recipients = tuple((a["id"], a["user_id"]) for a in self.storage.attempts_at(contest_id, position))
        return LiveStep(contest_id, QUESTION, position, recipients, opened=True, resend=resend)

    def live_resume(self) -> None:
        """After a restart: a question whose sending was cut off goes out again (a second copy is harmless, only
        the first answer counts), a question whose time ran out meanwhile is revealed, a running one keeps its
        deadline."""
        for contest in self.storage.live_contests((QUESTION,)):
            position = contest["live_position"]
            if not contest["live_deadline"]:
                self._tell(self._question_step(contest["id"], position, resend=True))
            elif self.seconds_until(contest["live_deadline"]) <= 0:
                self.live_reveal(contest["id"], position)
            else:
                self._tell(LiveStep(contest["id"], QUESTION, position))

    def seconds_until(self, moment: str) -> float:
        return (parse_iso(moment) - self.clock()).total_seconds()

    def is_live(self, contest_id: int) -> bool:
        contest = self.contest(contest_id)
        return contest is not None and contest["mode"] == "live"

    def live_delivered(self, contest_id: int, position: int) -> bool:
        """The question has reached every phone (as far as sending goes): its clock starts now, the same for all."""
        contest = self.contest(contest_id)
        now = self.clock()
        deadline = now + timedelta(seconds=contest["seconds_per_question"])
        self._rows.pop(contest_id, None)
        if not self.storage.set_live_deadline(contest_id, position, iso(now), iso(deadline)):
            return False
        self._tell(LiveStep(contest_id, QUESTION, position))
        return True

    def live_reveal(self, contest_id: int, position: int) -> bool:
        """Time is up (or everyone answered): show how the hall answered; who did not answer gets it recorded."""
        contest = self.contest(contest_id)
        self._rows.pop(contest_id, None)
        if not self.storage.live_transition(contest_id, (QUESTION,), position, {"live_state": REVEAL}):
            return False
        self.storage.catch_up(contest_id, position + 1, self._plan(contest), self._limit_ms(contest),
                              iso(self.clock()))
        self._tell(LiveStep(contest_id, REVEAL, position))
        return True

    def live_end(self, contest_id: int) -> None:
        """The end, from any state: the open question is recorded for those who did not answer, attempts finish,
        and everyone who joined is told their result (the certificates follow as for any contest that ended)."""
        contest = self.contest(contest_id)
        position = contest["live_position"]
        self._rows.pop(contest_id, None)
        if not self.storage.live_transition(contest_id, (LOBBY, QUESTION, REVEAL, PAUSED), position,
                                            {"live_state": ENDED}):
            return
        if position >= 0:
            self.storage.catch_up(contest_id, position + 1, self._plan(contest), self._limit_ms(contest),
                                  iso(self.clock()))
        recipients = tuple((a["id"], a["user_id"]) for a in self.storage.contest_attempts(contest_id))
        self.finish_contest(contest_id)
        self._tell(LiveStep(contest_id, ENDED, position, recipients))

    def _tell(self, step: LiveStep) -> None:
        for listener in self.live_listeners:
            listener(step)

    # --- participants ----------------------------------------------------------------------------------

    def live_entry(self, attempt: dict[str, Any]) -> Any:
        """Where a participant who joins (or comes back) stands: the open question as they see it (a ShownQuestion),
        or None while they wait for the host. Questions they missed are recorded as unanswered."""
        contest = self.contest(attempt["contest_id"])
        state, position = contest["live_state"], contest["live_position"]
        if state in (LOBBY, ENDED) or attempt["finished_at"]:
            return None
        upto = position if state == QUESTION else position + 1
        if attempt["position"] < upto:
            self.storage.catch_up(contest["id"], upto, self._plan(contest), self._limit_ms(contest),
                                  iso(self.clock()), attempt_id=attempt["id"])
        if state != QUESTION:
            return None
        clock_start = (parse_iso(contest["live_deadline"]) - timedelta(seconds=contest["seconds_per_question"])
                       if contest["live_deadline"] else parse_iso(contest["live_opened_at"]))
        self.storage.open_for_all(contest["id"], position, iso(clock_start), attempt_id=attempt["id"])
        fresh = self.storage.attempt(attempt["id"])
        return self.shown(fresh) if fresh["position"] == position and fresh["asked_at"] else None

    def live_everyone_answered(self, contest_id: int, position: int) -> bool:
        return self.storage.live_counts(contest_id, position)[1] == 0

    # --- what the big screen and the host see -------------------------------------------------------------

    def live_view(self, contest_id: int, board: Any = None) -> dict[str, Any]:
        """The live part of the board's snapshot (plain data; names are written as text by the page)."""
        contest = self.storage.contest(contest_id)  # fresh: the board may run beside a move
        position = contest["live_position"]
        state = ENDED if self.status(contest) == "已结束" else contest["live_state"]  # past its end time, too
        joined, waiting = self.storage.live_counts(contest_id, max(position, 0))
        view: dict[str, Any] = {
            "state": state, "state_name": STATE_NAMES[state], "position": position,
            "total": contest["question_count"], "joined": joined, "answered": 0, "seconds":
            contest["seconds_per_question"], "deadline": contest["live_deadline"] if state == QUESTION else None,
            "server_now": iso(self.clock()), "question": None, "distribution": None, "no_answer": 0,
            "top_people": [], "top_teams": [], "podium": None}
        if position >= 0:
            plan = self.live_plan(contest)
            question = self.bank_provider().questions.get(plan[position][0])
            order = plan[position][1]
            choices = self.storage.choices_at(contest_id, position)
            view["answered"] = sum(row["answers"] for row in choices if not row["timed_out"])
            if question is not None:
                shown_options = [question.options[i] for i in order]
                right = sorted(order.index(i) for i in question.answer)
                view["question"] = {"number": position + 1, "stem": question.stem, "type": question.type,
                                    "options": shown_options, "right": None if state == QUESTION else right}
                if state != QUESTION:
                    counts = [0] * len(order)
                    for row in choices:
                        for letter in row["chosen"]:
                            counts[order.index(LETTERS.index(letter))] += row["answers"]
                    view["distribution"] = counts
                    view["no_answer"] = sum(row["answers"] for row in choices if row["timed_out"])
        if board is None:
            board = self.leaderboard(contest_id, with_questions=False)
        people = [{"rank": p.rank, "name": p.name, "team": p.team, "score_text": format_points(p.score)}
                  for p in board.individuals]
        teams = [{"rank": t.rank, "name": t.name, "mean_text": format_points(t.mean_score),
                  "participants": t.participants} for t in board.teams if t.ranked]
        view["top_people"], view["top_teams"] = people[:TOP], teams[:TOP]
        if state == ENDED:
            view["podium"] = {"people": people[:3], "teams": teams[:3]}
        return view

    # --- the shared plan -----------------------------------------------------------------------------------

    def live_plan(self, contest: dict[str, Any]) -> list[tuple[str, list[int]]]:
        """Everyone's plan in a live contest: drawn from the contest alone, so the same for all (kept: the big screen
        asks for it every second)."""
        plan = self._live_plans.get(contest["id"])
        if plan is None:
            plan = self._live_plans[contest["id"]] = self.draw(contest, 0)
        return plan

    def _plan(self, contest: dict[str, Any]) -> list[str]:
        return [question_id for question_id, _ in self.live_plan(contest)]

    @staticmethod
    def _limit_ms(contest: dict[str, Any]) -> int:
        return contest["seconds_per_question"] * 1000
