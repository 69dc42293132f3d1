"""The database file: refusing files that are not ours, online backup, and restore (never under a running bot)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bot.files import ProcessLock, private_file
from bot.storage.schema import APPLICATION_ID, migrations


class StorageError(RuntimeError):
    """The database file cannot be used; the message names the file."""


def _known_migration_names() -> set[str]:
    return {m.name for m in migrations._migrations}


def _inspect_existing(path: Path) -> None:
    """Refuse a file that is not a qualitybot database, before anything writes to it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database ({exc})") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app_id != APPLICATION_ID and tables:
            raise StorageError(f"{path}: this SQLite file is not a qualitybot database; it was left untouched")
        if "_sqlite_migrations" in tables:
            applied = {row[0] for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name])}
            unknown = applied - _known_migration_names()
            if unknown:
                raise StorageError(
                    f"{path}: written by a newer version of qualitybot (migrations {', '.join(sorted(unknown))}); "
                    "upgrade the program, the file was left untouched")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StorageError(f"{path}: the database is damaged ({check}); restore a backup")
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path}: not a readable SQLite database ({exc}); it was left untouched") from None
    finally:
        conn.close()


def backup_database(source: Path, target: Path) -> int:
    """A consistent copy of a live database through SQLite's online backup API; returns the pages copied.

    The copy is a single self-contained file (rollback journal, not WAL), so nothing is left beside it.
    """
    _inspect_existing(source)
    temporary = private_file(target.with_name(target.name + ".partial"))
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live, \
            closing(sqlite3.connect(temporary)) as copy:
        live.backup(copy, pages=1024)  # in steps, so the running bot is never blocked for long
        copy.execute("PRAGMA journal_mode = DELETE")  # the live file is WAL; its copy must not need -wal/-shm
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
        if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise StorageError(f"{target}: the backup failed its integrity check")
    temporary.replace(target)
    return pages


class DatabaseBusy(StorageError):
    """A running bot holds the database."""


def restore_database(backup: Path, target: Path) -> None:
    """Replace the database with a backup; the old file is kept as <name>.before-restore.

    Refused, with every file left as it was, while a bot process holds the database: the bot would go on writing
    to the file moved away, and whatever it recorded after the restore would be lost at its next start.
    """
    _inspect_existing(backup)
    lock = ProcessLock(target)
    if not lock.acquire():
        raise DatabaseBusy(f"{target}: a running bot is using this database; stop it first")
    try:
        if target.exists():
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            target.replace(target.with_name(target.name + ".before-restore"))
        private_file(target)
        with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
    finally:
        lock.release()
