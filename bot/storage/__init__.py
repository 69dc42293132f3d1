"""The only package that speaks SQL.

One `Storage` owns one SQLite connection (WAL mode) and is used from one thread: the event loop's in the bot,
the main thread in the command line. Every change of more than one row runs inside `db.atomic()`. Queries are grouped
by feature (people, contests, practice, announcements, reports); the schema's migrations are in `schema`, backup and
restore of the file in `files`.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from bot.clock import utcnow
from bot.files import private_file
from bot.storage.announcements import AnnouncementQueries
from bot.storage.contests import ContestQueries
from bot.storage.files import DatabaseBusy, StorageError, _inspect_existing, backup_database, restore_database
from bot.storage.flags import FlagQueries
from bot.storage.live import LiveQueries
from bot.storage.people import PeopleQueries
from bot.storage.practice import PracticeQueries
from bot.storage.reports import ReportQueries
from bot.storage.schema import APPLICATION_ID, migrations

__all__ = ["APPLICATION_ID", "DatabaseBusy", "Storage", "StorageError", "backup_database", "restore_database",
           "utcnow"]


class Storage(PeopleQueries, ContestQueries, LiveQueries, FlagQueries, PracticeQueries, AnnouncementQueries,
              ReportQueries):
    """All reads and writes of the bot's state, grouped by feature in this package's modules."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    @classmethod
    def open(cls, path: Path | str) -> "Storage":
        """Open (or create) the database, verify it is ours, switch on WAL and apply pending migrations."""
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            _inspect_existing(path)
        private_file(path)
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        migrations.apply(db)
        return cls(db)

    @classmethod
    def memory(cls) -> "Storage":
        db = sqlite_utils.Database(memory=True)
        db.execute("PRAGMA foreign_keys = ON")
        migrations.apply(db)
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]
