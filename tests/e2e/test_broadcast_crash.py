"""Kill the bot with SIGKILL in the middle of a broadcast, restart it, and compare Telegram's record with ours."""

from __future__ import annotations

import signal
import sqlite3
import time
from datetime import datetime, timezone

from bot.announcements import Announcements, Draft
from bot.roles import Roles
from bot.sandbox.state import SandboxState
from bot.storage import Storage
from tests.helpers import free_port, start_bot_process

USERS = range(40_000, 41_500)
OFFICER = 39_999
TEXT = "台风预警：今晚加固塔吊和脚手架"


def prepare(tmp_path) -> int:
    db_path = tmp_path / "bot.db"
    storage = Storage.open(db_path)
    sandbox = SandboxState(tmp_path / "bot.db.sandbox.jsonl")
    with storage.db.atomic():
        for user_id in [OFFICER, *USERS]:
            sandbox.add_user(user_id, f"工人{user_id}", started=True)
            storage.db.execute("INSERT INTO users (id, first_name, region, role, active, created_at, updated_at) "
                               "VALUES (?, ?, '三亚市', 'worker', 1, 't', 't')", [user_id, f"工人{user_id}"])
    sandbox.close()
    storage.grant_role(OFFICER, "bureau", "三亚市", None)
    roles = Roles(storage, frozenset(), lambda: datetime.now(timezone.utc))
    announcement = Announcements(storage, roles).create(OFFICER, Draft(TEXT, None, ["三亚市"]))
    storage.close()
    return announcement["id"]


def counts(db_path) -> dict[str, int]:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())
    finally:
        conn.close()


def test_kill_in_the_middle_of_a_broadcast(tmp_path, monkeypatch):
    announcement_id = prepare(tmp_path)
    monkeypatch.setenv("QB_BROADCAST_RATE", "150")
    port = free_port()
    process = start_bot_process(tmp_path, port)  # the broadcast was stored as 'sending': it starts on its own
    try:
        deadline = time.monotonic() + 60
        while counts(tmp_path / "bot.db").get("sent", 0) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        before = counts(tmp_path / "bot.db")
        assert 400 <= before.get("sent", 0) < len(USERS) + 1, before

        process = start_bot_process(tmp_path, port)
        deadline = time.monotonic() + 90
        while counts(tmp_path / "bot.db").get("pending", 0) + counts(tmp_path / "bot.db").get("sending", 0) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()

    after = counts(tmp_path / "bot.db")
    received = {}
    sandbox = SandboxState(tmp_path / "bot.db.sandbox.jsonl")
    for user_id in [OFFICER, *USERS]:
        received[user_id] = sum(1 for m in sandbox.chats[user_id].messages.values() if TEXT in (m.get("text") or ""))
    sandbox.close()
    conn = sqlite3.connect(tmp_path / "bot.db")
    statuses = dict(conn.execute("SELECT user_id, status FROM deliveries WHERE announcement_id = ?", [announcement_id]))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    assert max(received.values()) == 1, "nobody received the announcement twice"
    assert all(received[u] == 1 for u, s in statuses.items() if s == "sent"), "every confirmed delivery arrived"
    ambiguous = [u for u, s in statuses.items() if s == "ambiguous"]
    assert after.get("ambiguous", 0) == len(ambiguous) <= 20, after  # only what was in flight at the kill
    assert set(statuses.values()) <= {"sent", "ambiguous"}
    assert after.get("sent", 0) + len(ambiguous) == len(USERS) + 1
