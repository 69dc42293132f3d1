"""Property-based hostile input against the running bot: no exception may escape a handler.

The bot runs in its own thread and event loop so that Hypothesis can drive it synchronously. The sandbox rejects
HTML that Telegram could not parse, so an unescaped user text would also surface here as an error.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import Application

from tests.helpers import RunningBot, make_config

USERS = list(range(4242, 4282))  # examples take turns, as 40 people would: no one chat floods Telegram's limit
TURN = itertools.cycle(USERS)
WEIRD_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["'; DROP TABLE users; --", "<script>alert(1)</script>", "<b>未闭合", "&amp;&lt;", "\x00\x1b[31m",
                     "漏" * 4000, "😀" * 500, "\u202e\u200b\ufeff", "/start team_' OR 1=1 --", "/start inv_<b>",
                     "/start c_99999999999999999999", "/ask", "/rank abc", "@qualitybot_sandbox_bot"]),
    st.builds(lambda word, tail: f"/{word} {tail}", st.sampled_from(["start", "ask", "join", "rank", "me", "topics"]),
              st.text(max_size=80)),
)
CALLBACK_DATA = st.one_of(
    st.text(min_size=1, max_size=20),
    st.builds(lambda prefix, parts: prefix + ":" + ":".join(parts),
              st.sampled_from(["ca", "ct", "cx", "cf", "cs", "co", "cr", "cp", "pa", "pt", "px", "pp", "pD", "t", "s",
                               "fb", "nf", "c", "reg", "me", "menu", "admin", "om", "ox", "oK", "rc", "rV", "nx", "un",
                               "nv", "nt", "rs", "rz", "rb", "rX"]),
              st.lists(st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=6)), max_size=4)),
).filter(lambda data: 0 < len(data.encode()) <= 64)


class BotThread:
    def __init__(self, tmp_path, knowledge):
        self.errors: list[BaseException] = []
        self.loop = asyncio.new_event_loop()

        def record(application: Application) -> None:
            async def on_error(update, context):
                self.errors.append(context.error)
            application.add_error_handler(on_error)

        self.running = RunningBot(make_config(tmp_path), knowledge, customise=record)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.running.start(), self.loop).result(60)
        self.http = httpx.Client(base_url=self.running.runtime.url, timeout=30)

    def stop(self) -> None:
        self.http.close()
        asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def settle(self, user: int) -> None:
        """A person's updates are handled in order: once a /help sent now is answered, everything before it was."""
        after = max((m["message_id"] for m in self.messages(user)), default=0)
        self.http.post("/sandbox/send", json={"user_id": user, "text": "/help"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any("使用说明" in (m.get("text") or "") for m in self.messages(user, after)):
                return
        raise AssertionError("the bot stopped answering")

    def messages(self, user: int, after: int = 0) -> list[dict]:
        return self.http.get("/sandbox/messages", params={"chat_id": user, "after": after, "wait": 1}).json()["messages"]


@pytest.fixture(scope="module")
def live_bot(tmp_path_factory, knowledge_service):
    bot = BotThread(tmp_path_factory.mktemp("hostile"), knowledge_service)
    for user in USERS:
        bot.http.post("/sandbox/users", json={"id": user, "first_name": "<i>测试</i>&"})
    yield bot
    bot.stop()


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=WEIRD_TEXT)
def test_arbitrary_messages_never_raise(live_bot, text):
    user = next(TURN)
    response = live_bot.http.post("/sandbox/send", json={"user_id": user, "text": text})
    assert response.status_code == 200
    live_bot.settle(user)
    assert live_bot.errors == [], live_bot.errors


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=CALLBACK_DATA)
def test_forged_callback_data_never_raises(live_bot, data):
    user = next(TURN)
    injected = live_bot.http.post("/sandbox/inject", json={"chat_id": user, "text": "x",
                                                           "buttons": [[{"text": "按钮", "callback_data": data}]]})
    message_id = injected.json()["message_id"]
    pressed = live_bot.http.post("/sandbox/press", json={"user_id": user, "message_id": message_id, "row": 0,
                                                         "column": 0})
    assert pressed.status_code == 200
    live_bot.settle(user)
    assert live_bot.errors == [], live_bot.errors


def test_nothing_was_stored_for_forged_presses(live_bot):
    storage = live_bot.running.runtime.storage

    async def counts():
        return [storage.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("answers", "attempts", "contests", "invites", "roles", "announcements", "teams")]

    assert asyncio.run_coroutine_threadsafe(counts(), live_bot.loop).result(10) == [0] * 7
