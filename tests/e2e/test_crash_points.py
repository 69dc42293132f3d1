"""SIGKILL at 20 seeded random moments while participants answer a contest and a broadcast is going out.

After every kill the database passes integrity_check, each attempt's position equals its number of stored answers,
and no announcement was received twice; after the last restart everything completes.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx

from bot.accounts import Accounts
from bot.announcements import Announcements, Draft
from bot.config import KNOWLEDGE_DIR
from bot.contests import Contests, ContestSpec
from bot.quiz import require_bank
from bot.knowledge import require_knowledge
from bot.roles import Roles
from bot.sandbox.state import SandboxState
from bot.storage import Storage
from tests.helpers import free_port, start_bot_process

KILLS = 20
PLAYERS = range(60_000, 60_012)
RECIPIENTS = range(61_000, 62_500)
OFFICER = 59_999
TEXT = "防汛通知：今晚检查基坑排水"
SEED = 20251124


def prepare(tmp_path) -> int:
    storage = Storage.open(tmp_path / "bot.db")
    sandbox = SandboxState(tmp_path / "bot.db.sandbox.jsonl")
    accounts = Accounts(storage)
    with storage.db.atomic():
        for user_id in [OFFICER, *PLAYERS, *RECIPIENTS]:
            sandbox.add_user(user_id, f"人{user_id}", started=True)
            storage.db.execute("INSERT INTO users (id, first_name, region, role, active, registered_at, created_at, "
                               "updated_at) VALUES (?, ?, '三亚市', 'worker', 1, 't', 't', 't')", [user_id, f"人{user_id}"])
    sandbox.close()
    kb, bank = require_knowledge(KNOWLEDGE_DIR), require_bank(KNOWLEDGE_DIR)
    now = datetime.now(timezone.utc)
    contests = Contests(storage, lambda: bank, lambda: kb, timezone.utc)
    contest = contests.create(ContestSpec(title="压力竞赛", starts_at=now - timedelta(minutes=1),
                                          ends_at=now + timedelta(hours=1), questions=20, seconds_per_question=120), None)
    for user_id in PLAYERS:
        contests.start(contest["id"], accounts.get(user_id))
    storage.grant_role(OFFICER, "bureau", "三亚市", None)
    roles = Roles(storage, frozenset(), lambda: datetime.now(timezone.utc))
    Announcements(storage, roles).create(OFFICER, Draft(TEXT, None, ["三亚市"]))
    storage.close()
    return contest["id"]


class Players(threading.Thread):
    """Presses buttons for the participants as fast as the bot lets them, tolerating a dead process."""

    def __init__(self, base: str, db_path, bank):
        super().__init__(daemon=True)
        self.base, self.db_path, self.bank = base, db_path, bank
        self.stop_flag = threading.Event()
        self.rng = random.Random(SEED)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as http:
            while not self.stop_flag.is_set():
                user_id = self.rng.choice(list(PLAYERS))
                try:
                    self.play(http, user_id)
                except (httpx.HTTPError, sqlite3.Error, KeyError, IndexError, ValueError):
                    time.sleep(0.05)

    def play(self, http: httpx.Client, user_id: int) -> None:
        conn = sqlite3.connect(self.db_path, timeout=5)
        try:
            row = conn.execute("SELECT id, plan, position, finished_at FROM attempts WHERE user_id = ?", [user_id]).fetchone()
        finally:
            conn.close()
        if row is None or row[3]:
            return
        plan = json.loads(row[1])
        question_id, order = plan[row[2]]
        question = self.bank.questions[question_id]
        right = sorted(order.index(i) for i in question.answer)
        messages = http.get("/sandbox/messages", params={"chat_id": user_id}).json()["messages"]
        current = [m for m in messages if f"第 {row[2] + 1}/20 题" in (m.get("text") or "") and m["buttons"]
                   and "限时" in m["text"]]
        if not current:
            http.post("/sandbox/send", json={"user_id": user_id, "text": "/contest"})  # ask for the card again
            cards = http.get("/sandbox/messages", params={"chat_id": user_id, "wait": 2}).json()["messages"]
            card = next((m for m in reversed(cards) if any("压力竞赛" in b for r in m["buttons"] for b in r)), None)
            if card:
                http.post("/sandbox/press", json={"user_id": user_id, "text": "压力竞赛", "message_id": card["message_id"]})
                http.post("/sandbox/press", json={"user_id": user_id, "text": "继续答题"})
            return
        message = current[-1]
        if question.type == "multiple":
            for index in right:
                http.post("/sandbox/press", json={"user_id": user_id, "message_id": message["message_id"],
                                                  "row": index, "column": 0})
            http.post("/sandbox/press", json={"user_id": user_id, "message_id": message["message_id"],
                                              "row": len(order), "column": 0})
        else:
            http.post("/sandbox/press", json={"user_id": user_id, "message_id": message["message_id"],
                                              "row": right[0] if len(message["buttons"]) > 1 else 0,
                                              "column": 0 if len(message["buttons"]) > 1 else right[0]})


def check_invariants(tmp_path, contest_id: int) -> tuple[int, int]:
    conn = sqlite3.connect(tmp_path / "bot.db", timeout=10)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for attempt_id, position in conn.execute("SELECT id, position FROM attempts WHERE contest_id = ?", [contest_id]):
            stored = conn.execute("SELECT COUNT(*), COUNT(DISTINCT position), MAX(position) FROM answers "
                                  "WHERE attempt_id = ?", [attempt_id]).fetchone()
            assert stored[0] == stored[1] == position, (attempt_id, position, stored)
            assert stored[2] is None or stored[2] == position - 1
        answers = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        sent = conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]
    finally:
        conn.close()
    sandbox = SandboxState(tmp_path / "bot.db.sandbox.jsonl")
    try:
        received = [sum(1 for m in sandbox.chats[u].messages.values() if TEXT in (m.get("text") or ""))
                    for u in [OFFICER, *PLAYERS, *RECIPIENTS]]
    finally:
        sandbox.close()
    assert max(received) <= 1, "an announcement arrived twice"
    return answers, sent


def test_twenty_kills_during_a_contest_and_a_broadcast(tmp_path, monkeypatch):
    contest_id = prepare(tmp_path)
    bank = require_bank(KNOWLEDGE_DIR)
    monkeypatch.setenv("QB_BROADCAST_RATE", "120")
    port = free_port()
    rng = random.Random(SEED)
    progress = []
    for _ in range(KILLS):
        process = start_bot_process(tmp_path, port)
        players = Players(f"http://127.0.0.1:{port}", tmp_path / "bot.db", bank)
        players.start()
        time.sleep(rng.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        players.stop_flag.set()
        players.join(10)
        progress.append(check_invariants(tmp_path, contest_id))

    process = start_bot_process(tmp_path, port)  # a last, orderly run lets the broadcast finish
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conn = sqlite3.connect(tmp_path / "bot.db", timeout=10)
            left = conn.execute("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')").fetchone()[0]
            conn.close()
            if not left:
                break
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    answers, sent = check_invariants(tmp_path, contest_id)
    assert answers > 0 and [a for a, _ in progress] == sorted(a for a, _ in progress), "answers only ever grow"
    conn = sqlite3.connect(tmp_path / "bot.db")
    statuses = dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())
    conn.close()
    assert set(statuses) <= {"sent", "ambiguous"} and sum(statuses.values()) == len(RECIPIENTS) + len(PLAYERS) + 1
    assert statuses.get("ambiguous", 0) <= KILLS * 8, statuses  # at most the in-flight sends of each kill
