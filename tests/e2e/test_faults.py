"""Seeded random faults on every Bot API method the bot uses, during questions, a contest and an announcement.

The sandbox fails calls at random (seeded): RetryAfter, 500, timeouts, connections reset before or after the call
took effect, and Forbidden. Afterwards the database and the sandbox's record must agree: every answer given is
recorded once and as given, every announcement arrives at most once and exactly once where the bot says so, no
attempt is left stuck, and the bot still answers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import timedelta

import pytest

from bot.announcements import Draft
from bot.contests import ContestSpec
from bot.quiz import LETTERS
from bot.sandbox.state import Fault
from tests.helpers import ADMIN_ID, RunningBot, make_config

SEED = 20261125
PARTICIPANTS = range(7001, 7013)
ASKERS = range(7101, 7107)
BYSTANDERS = range(7201, 7213)
OFFICER = 7300
QUESTIONS = 5
SECONDS = 10
KINDS = ["retry_after", "server_error", "timeout", "connection_reset", "reset_after", "forbidden"]
ANNOUNCEMENT = "防台风加固通知"
RARE_METHODS = ["editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument"]
SERVING_METHODS = ["sendMessage", "answerCallbackQuery", *RARE_METHODS]
ASKED = ["卫生间漏水漏到楼下咋办", "墙面空鼓怎么处理", "外墙渗水什么原因", "混凝土裂缝怎么办"]


@pytest.fixture
async def bot(tmp_path, knowledge_service):
    running = await RunningBot(make_config(tmp_path, api_timeout=2.0, broadcast_rate=50), knowledge_service).start()
    yield running
    await running.stop()


def register(bot, user_id: int) -> None:
    bot.runtime.sandbox.add_user(user_id, f"工人{user_id}")
    accounts = bot.runtime.services.accounts
    accounts.touch(user_id, f"工人{user_id}", None)
    accounts.set_region(user_id, "三亚市")
    accounts.set_role(user_id, "worker")


def question_messages(bot, user_id: int, position: int) -> list[dict]:
    """The messages that ask question `position` (a question may arrive twice when a send's answer was lost)."""
    chat = bot.runtime.sandbox.chats.get(user_id)
    header = f"第 {position + 1}/{QUESTIONS} 题"
    return [m for m in (chat.messages.values() if chat else []) if header in (m.get("text") or "")
            and "限时" in m["text"] and m.get("reply_markup")]


def labels(message: dict) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


class Participant:
    """Plays like a person: answers the question in front of them, and asks to continue when nothing comes."""

    def __init__(self, bot, contest_id: int, user_id: int):
        self.bot, self.contest_id, self.user_id = bot, contest_id, user_id
        self.rng = random.Random(f"{SEED}:{user_id}")
        self.pressed: dict[int, list[int]] = {}   # position -> displayed options pressed
        self.toasts: dict[int, str] = {}          # position -> what the bot said to the answer press

    def attempt(self) -> dict:
        return self.bot.storage.attempt_of(self.contest_id, self.user_id)

    async def continue_attempt(self) -> None:
        """/contest, the contest, 开始答题 or 继续答题, as a person would; any step may be lost to a fault."""
        client = self.bot.client
        after = await client.last_id(self.user_id)
        await client.send(self.user_id, "/contest")
        for label in ("质量月抽查", "答题"):
            try:
                message = await client.wait_for(
                    self.user_id, lambda m: any(label in b for row in m["buttons"] for b in row), after, timeout=5)
            except AssertionError:
                return
            button = next(x for r in message["buttons"] for x in r if label in x)
            await client.press(self.user_id, button, message_id=message["message_id"], wait=4)

    async def play(self, deadline: float) -> None:
        contests = self.bot.runtime.services.contests
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            attempt = self.attempt()
            if attempt is None:
                await self.continue_attempt()
                continue
            if attempt["finished_at"]:
                return
            shown = contests.shown(attempt)
            messages = question_messages(self.bot, self.user_id, shown.position)
            if shown.position in self.pressed or not messages or not attempt["asked_at"]:
                if time.monotonic() - idle_since > SECONDS + 6:
                    await self.continue_attempt()  # the question never came (Forbidden, or lost): ask again
                    idle_since = time.monotonic()
                await asyncio.sleep(0.3)
                continue
            idle_since = time.monotonic()
            message = messages[-1]
            right = self.rng.random() < 0.5
            wrong = [i for i in range(len(shown.options)) if i not in shown.right_display]
            chosen = list(shown.right_display) if right or not wrong else wrong[:1]
            self.pressed[shown.position] = chosen
            buttons = labels(message)
            option = [next(b for b in buttons if b.lstrip("☐☑ ").startswith(LETTERS[i])) for i in chosen]
            if shown.question.type == "multiple":
                for label in option:
                    await self.bot.client.press(self.user_id, label, message_id=message["message_id"], wait=4)
                option = ["提交"]
            response = await self.bot.client.press(self.user_id, option[0], message_id=message["message_id"],
                                                   wait=4)
            answer = response.json().get("answer") if response.status_code == 200 else None
            if answer:
                self.toasts[shown.position] = answer["text"]


async def organise(bot, deadline: float) -> None:
    """The organiser keeps looking: contest management (edits), the Excel export (a document), the picture."""
    client = bot.client

    async def press(label: str, after: int) -> int:
        message = await client.wait_for(ADMIN_ID, lambda m: any(label in b for row in m["buttons"] for b in row),
                                        after, timeout=4)
        button = next(b for row in message["buttons"] for b in row if label in b)
        await client.press(ADMIN_ID, button, message_id=message["message_id"], wait=4)
        return message["message_id"]

    async def every_kind_met() -> bool:
        injected = (await client.http.get("/sandbox/chaos")).json()["injected"]
        return all(set(injected.get(method, {})) == set(KINDS) for method in SERVING_METHODS)

    # Each lost step restarts the round, so rounds go on until every method has met every kind (or the deadline).
    while time.monotonic() < deadline and not await every_kind_met():
        after = await client.last_id(ADMIN_ID)
        await client.send(ADMIN_ID, "/contests")
        try:
            shown = await press("质量月抽查", after)
            await press("导出 Excel", shown - 1)
            await press("排行榜", shown - 1)
            await press("排行榜图片", shown)
        except AssertionError:  # a step was lost to a fault: start over, as a person would
            pass


async def ask_questions(bot, user_id: int, deadline: float) -> int:
    asked = 0
    while time.monotonic() < deadline:
        await bot.client.send(user_id, ASKED[asked % len(ASKED)])
        asked += 1
        await asyncio.sleep(1.5)
    return asked


async def test_random_faults_during_mixed_work_keep_records_and_deliveries_exact(bot):
    client = bot.client
    services = bot.runtime.services
    for user_id in [*PARTICIPANTS, *ASKERS, *BYSTANDERS]:
        register(bot, user_id)
    register(bot, OFFICER)
    register(bot, ADMIN_ID)
    bot.storage.grant_role(OFFICER, "bureau", "三亚市", ADMIN_ID)
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="质量月抽查", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=QUESTIONS,
        seconds_per_question=SECONDS, min_team_size=1), None, organiser_id=ADMIN_ID)
    players = [Participant(bot, contest["id"], user_id) for user_id in PARTICIPANTS]
    for player in players:  # everyone has question 1 in front of them before the faults begin
        await player.continue_attempt()

    response = await client.http.post("/sandbox/chaos", json={
        "seed": SEED, "rate": 0.15, "errors": KINDS, "delay": 3, "retry_after": 1,
        "rates": {method: 0.7 for method in RARE_METHODS},
        "exclude": ["getUpdates", "getMe", "setMyCommands", "deleteWebhook", "getFile"]})
    assert response.status_code == 200, response.text

    announcement = services.announcements.create(OFFICER, Draft(f"<b>{ANNOUNCEMENT}</b>：今晚前完成塔吊加固", None,
                                                                ["三亚市"]))
    await bot.runtime.application.bot_data.broadcasting.launch(announcement["id"])
    chaos_until = time.monotonic() + 45
    await asyncio.gather(*(player.play(chaos_until) for player in players), organise(bot, chaos_until + 60),
                         *(ask_questions(bot, user_id, chaos_until) for user_id in ASKERS))

    report = (await client.http.delete("/sandbox/chaos")).json()
    finish_by = time.monotonic() + 90
    await asyncio.gather(*(player.play(finish_by) for player in players))
    while bot.runtime.application.bot_data.broadcasting.running and time.monotonic() < finish_by:
        await asyncio.sleep(0.5)

    # the faults really happened: every kind on every method the bot uses while serving
    injected = report["injected"]
    for method in SERVING_METHODS:
        assert set(injected.get(method, {})) == set(KINDS), (method, report["calls"].get(method), injected.get(method))

    # no attempt is stuck, and every answer is recorded exactly once and as given
    storage = bot.storage
    answers = storage.contest_answers(contest["id"])
    assert Counter((a["attempt_id"], a["position"]) for a in answers).most_common(1)[0][1] == 1
    for player in players:
        attempt = player.attempt()
        assert attempt["finished_at"], f"participant {player.user_id} is stuck at question {attempt['position'] + 1}"
        recorded = {a["position"]: a for a in storage.answers_of_attempt(attempt["id"])}
        assert sorted(recorded) == list(range(QUESTIONS))
        for position, toast in player.toasts.items():
            if toast in ("回答正确", "回答错误"):
                row = recorded[position]
                assert not row["timed_out"] and (toast == "回答正确") == bool(row["correct"]), (player.user_id, row)
        for position, row in recorded.items():
            if not row["timed_out"]:
                assert position in player.pressed, "an answer nobody gave was recorded"
        assert attempt["score"] == sum(a["points"] for a in recorded.values())

    # the announcement: nobody twice; everyone the bot counts as reached has it once; no one left in flight
    summary = services.announcements.summary(announcement["id"])
    assert summary.pending == 0 and summary.total == len(PARTICIPANTS) + len(ASKERS) + len(BYSTANDERS) + 2  # and the officer, the admin
    deliveries = {d["user_id"]: d["status"] for d in storage.deliveries(announcement["id"])}
    for user_id, status in deliveries.items():
        copies = sum(1 for m in bot.runtime.sandbox.chats[user_id].messages.values()
                     if ANNOUNCEMENT in (m.get("text") or ""))
        assert copies <= 1, f"user {user_id} got the announcement {copies} times"
        if status == "sent":
            assert copies == 1, user_id
        elif status != "ambiguous":
            assert copies == 0, (user_id, status)

    # and the bot still answers, even through faults on getUpdates itself
    for kind in ("server_error", "connection_reset", "retry_after", "timeout"):
        await client.fault(method="getUpdates", error=kind, times=1, delay=3)
    for user_id in ASKERS:
        after = await client.last_id(user_id)
        await client.send(user_id, "卫生间漏水漏到楼下咋办")
        reply = await client.wait_for(user_id, lambda m: m["message_id"] > after and "防水" in (m.get("text") or ""),
                                      after=after, timeout=30)
        assert reply
    assert storage.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_the_bot_starts_through_faults_on_its_start_up_calls(tmp_path, knowledge_service):
    """getMe, deleteWebhook and setMyCommands each fail with a 500 and a reset connection: the bot still comes up."""
    running = RunningBot(make_config(tmp_path, api_timeout=2.0), knowledge_service)

    def faults_before_start(application) -> None:
        sandbox = running.runtime.sandbox
        for method in ("getMe", "deleteWebhook", "setMyCommands"):
            sandbox.faults += [Fault(method, "server_error"), Fault(method, "connection_reset")]

    running.customise = faults_before_start
    await running.start()
    try:
        assert running.runtime.sandbox.faults == [], "every start-up fault was met"
        await running.client.user(7400, "新工人")
        await running.client.send(7400, "/start")
        await running.client.wait_text(7400, "质量通")
        assert [c["command"] for c in running.runtime.sandbox.commands][:1] == ["start"]
    finally:
        await running.stop()
