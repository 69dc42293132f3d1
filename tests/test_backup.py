"""Online backup while the bot runs, and restore: every answer recorded up to the backup is there."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.cli import main
from bot.contests import ContestSpec
from bot.storage import Storage, StorageError, backup_database


async def test_backup_mid_contest_and_restore(bot, tmp_path, monkeypatch, capsys):
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=5), 9000)
    for user_id in (1, 2, 3):
        services.accounts.touch(user_id, f"选手{user_id}", None)
        services.accounts.set_region(user_id, "三亚市")
        services.accounts.set_role(user_id, "worker")
    def answer(user_id):
        attempt = services.contests.start(contest["id"], services.accounts.get(user_id))
        shown = services.contests.ask(attempt["id"], attempt["position"], None)
        services.contests.answer(attempt["id"], user_id, shown.position, shown.right_display)

    for user_id in (1, 2, 3):
        answer(user_id)
        answer(user_id)
    monkeypatch.setenv("QB_DB", str(bot.config.db_path))
    assert main(["backup", str(tmp_path / "backup.db")]) == 0  # while the bot is running
    answer(1)  # after the backup
    live = {(a["user_id"], a["position"]) for a in bot.storage.contest_answers(contest["id"])}
    assert len(live) == 7

    restored_path = tmp_path / "restored.db"
    monkeypatch.setenv("QB_DB", str(restored_path))
    assert main(["restore", str(tmp_path / "backup.db")]) == 2, "no confirmation without a terminal"
    assert main(["restore", "--yes", str(tmp_path / "backup.db")]) == 0
    restored = Storage.open(restored_path)
    answers = {(a["user_id"], a["position"]) for a in restored.contest_answers(contest["id"])}
    assert answers == live - {(1, 2)}
    assert restored.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restored.close()


def test_backup_refuses_a_foreign_file(tmp_path):
    (tmp_path / "other.db").write_bytes(b"not a database" * 10)
    with pytest.raises(StorageError):
        backup_database(tmp_path / "other.db", tmp_path / "copy.db")
