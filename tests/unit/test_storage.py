import sqlite3

import pytest

from bot.storage import APPLICATION_ID, Storage, StorageError, migrations


def test_new_database_is_wal_and_fully_migrated(tmp_path):
    storage = Storage.open(tmp_path / "sub" / "bot.db")
    assert storage.db.journal_mode == "wal"
    assert storage.applied_migrations() == [m.name for m in migrations._migrations]
    assert storage.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    storage.close()


def test_old_database_is_upgraded_without_losing_rows(tmp_path):
    import sqlite_utils

    path = tmp_path / "bot.db"
    old = sqlite_utils.Database(path)  # a database as the first release left it
    migrations.apply(old, stop_before="m002_question_log")
    old["users"].insert({"id": 7, "first_name": "老用户", "region": "海口市", "created_at": "t", "updated_at": "t"})
    old.close()
    storage = Storage.open(path)
    assert storage.get_user(7)["first_name"] == "老用户" and storage.get_user(7)["region"] == "海口市"
    assert {"questions", "contests", "answers", "practice_sessions"} <= set(storage.db.table_names())
    assert storage.applied_migrations() == [m.name for m in migrations._migrations]
    storage.close()


def test_corrupt_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(StorageError) as error:
        Storage.open(path)
    assert str(path) in str(error.value)
    assert path.read_bytes() == before


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not a qualitybot database"):
        Storage.open(path)
    assert path.read_bytes() == before and not (tmp_path / "other.db-wal").exists()


def test_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "bot.db"
    storage = Storage.open(path)
    storage.db["_sqlite_migrations"].insert({"migration_set": "qualitybot", "name": "m999_future",
                                             "applied_at": "2030-01-01"})
    storage.close()
    with pytest.raises(StorageError, match="newer version"):
        Storage.open(path)


def test_team_import_is_one_transaction(tmp_path):
    storage = Storage.open(tmp_path / "bot.db")
    codes = iter(["AAAAAA", "AAAAAA"])  # the second insert violates the unique code index

    with pytest.raises(sqlite3.IntegrityError):
        storage.upsert_teams([{"name": "一标", "region": "海口市"}, {"name": "二标", "region": "海口市"}],
                             lambda: next(codes))
    assert storage.list_teams() == []
    storage.close()


def test_feedback_once_and_only_by_the_asker():
    storage = Storage.memory()
    qid = storage.log_question({"user_id": 5, "chat_id": 5, "question": "q", "verdict": "none", "answered": 0})
    assert storage.set_feedback(qid, 6, -1) == "invalid"
    assert storage.set_feedback(qid + 100, 5, -1) == "invalid"
    assert storage.set_feedback(qid, 5, -1) == "saved"
    assert storage.set_feedback(qid, 5, 1) == "already"
    assert storage.question(qid)["feedback"] == -1
