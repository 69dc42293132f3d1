"""Private files and the database lock."""

from __future__ import annotations

import os
import stat

from bot.files import ProcessLock, private_dir, private_file, write_private
from bot.storage import Storage


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_files_and_folders_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        file = private_file(tmp_path / "a" / "b" / "secret.txt")
        folder = private_dir(tmp_path / "c")
        written = write_private(tmp_path / "a" / "export.xlsx", b"data")
    finally:
        os.umask(old)
    assert (mode(file), mode(tmp_path / "a"), mode(tmp_path / "a" / "b"), mode(folder)) == (0o600, 0o700, 0o700, 0o700)
    assert mode(written) == 0o600 and written.read_bytes() == b"data"
    loose = tmp_path / "old.db"
    loose.write_bytes(b"")
    os.chmod(loose, 0o644)
    assert mode(private_file(loose)) == 0o600, "a file left 0644 by an older version is narrowed"


def test_the_database_and_its_wal_are_private(tmp_path):
    storage = Storage.open(tmp_path / "data" / "bot.db")
    storage.upsert_user(1, "张工", None)  # WAL mode: the -wal and -shm files now exist
    names = {path.name: mode(path) for path in (tmp_path / "data").iterdir()}
    storage.close()
    assert names == {"bot.db": 0o600, "bot.db-wal": 0o600, "bot.db-shm": 0o600}
    assert mode(tmp_path / "data") == 0o700


def test_one_holder_of_the_lock_at_a_time(tmp_path):
    first, second = ProcessLock(tmp_path / "bot.db"), ProcessLock(tmp_path / "bot.db")
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    assert mode(tmp_path / "bot.db.lock") == 0o600
