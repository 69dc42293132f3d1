"""Online backup while the bot runs, and restore: every answer recorded up to the backup is there."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.cli import main
from bot.contests import ContestSpec
from bot.storage import Storage, StorageError, backup_database
from tests.helpers import RunningBot


async def test_backup_mid_contest_and_restore(bot, tmp_path, monkeypatch, capsys):
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=5), None, organiser_id=9000)
    for user_id in (1, 2, 3):
        services.accounts.touch(user_id, f"选手{user_id}", None)
        services.accounts.set_region(user_id, "三亚市")
        services.accounts.set_role(user_id, "worker")
    def answer(user_id):
        attempt = services.contests.start(contest["id"], services.accounts.get(user_id))
        shown, _ = services.contests.ask(attempt["id"], attempt["position"])
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


async def test_restore_is_refused_while_the_bot_runs_and_changes_nothing(bot, tmp_path, monkeypatch, capsys):
    database = bot.config.db_path
    monkeypatch.setenv("QB_DB", str(database))
    assert main(["backup", str(tmp_path / "backup.db")]) == 0
    bot.runtime.services.accounts.touch(7, "后来的人", None)  # recorded after the backup
    before = {path.name: (path.stat().st_ino, path.stat().st_size) for path in tmp_path.iterdir() if path.is_file()}
    capsys.readouterr()

    assert main(["restore", "--yes", str(tmp_path / "backup.db")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "恢复被拒绝" in error[0] and "restore refused" in error[0]
    after = {path.name: (path.stat().st_ino, path.stat().st_size) for path in tmp_path.iterdir() if path.is_file()}
    assert after == before, "every file is left as it was"
    bot.runtime.services.accounts.touch(8, "再后来的人", None)  # the bot goes on writing to the same file
    await bot.restart()
    assert bot.storage.get_user(7) is not None and bot.storage.get_user(8) is not None


def test_backup_leaves_no_litter_and_every_file_is_private(tmp_path, monkeypatch):
    data = tmp_path / "data"
    storage = Storage.open(data / "bot.db")  # a live database in WAL mode, as the running bot keeps it
    storage.upsert_user(1, "张工", None)
    monkeypatch.setenv("QB_DB", str(data / "bot.db"))
    assert main(["backup", str(tmp_path / "backups" / "b.db")]) == 0
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["b.db"]
    storage.close()
    modes = {path.relative_to(tmp_path).as_posix(): oct(path.stat().st_mode & 0o777)
             for path in tmp_path.rglob("*")}
    assert modes == {"data": "0o700", "data/bot.db": "0o600", "backups": "0o700", "backups/b.db": "0o600"}, modes
    assert main(["restore", "--yes", str(tmp_path / "backups" / "b.db")]) == 0
    assert oct((data / "bot.db").stat().st_mode & 0o777) == "0o600"
    assert Storage.open(data / "bot.db").get_user(1)["first_name"] == "张工"


async def test_a_second_bot_on_the_same_database_is_refused(bot, knowledge_service):
    second = RunningBot(replace(bot.config, port=0), knowledge_service)
    with pytest.raises(StorageError, match="another qualitybot process"):
        await second.start()
    await second.stop()
    assert bot.storage.get_user(1) is None  # the first one is untouched and still serving
    await bot.client.user(1, "张工")
    await bot.client.send(1, "/start")
    await bot.client.wait_text(1, "第 1 步")
