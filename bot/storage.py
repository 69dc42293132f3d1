"""The only module that speaks SQL.

One `Storage` owns one SQLite connection (WAL mode) and is used from one thread: the event loop's in the bot,
the main thread in the command line. Every change of more than one row runs inside `db.atomic()`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils
from sqlite_utils import Migrations

# Written into the database header so that a foreign SQLite file is recognised and left alone.
APPLICATION_ID = 0x51424F54  # "QBOT"

migrations = Migrations("qualitybot")


class StorageError(RuntimeError):
    """The database file cannot be used; the message names the file."""


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@migrations()
def m001_users_and_teams(db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db["teams"].create(
        {
            "id": int,
            "code": str,
            "name": str,
            "region": str,
            "company": str,
            "headcount": int,
            "created_by": int,
            "created_at": str,
        },
        pk="id",
        not_null={"code", "name", "region", "created_at"},
    )
    db["teams"].create_index(["code"], unique=True)
    db["teams"].create_index(["region", "name"], unique=True)
    db["users"].create(
        {
            "id": int,
            "first_name": str,
            "username": str,
            "region": str,
            "role": str,
            "team_id": int,
            "active": int,
            "registered_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("team_id", "teams", "id")],
        defaults={"active": 1},
        not_null={"created_at", "updated_at"},
    )
    db["users"].create_index(["region"])
    db["users"].create_index(["team_id"])


@migrations()
def m002_question_log(db: sqlite_utils.Database) -> None:
    db["questions"].create(
        {
            "id": int,
            "user_id": int,
            "chat_id": int,
            "asked_at": str,
            "question": str,
            "normalised": str,
            "verdict": str,
            "top_id": str,
            "score": float,
            "answered": int,
            "latency_ms": float,
            "feedback": int,
            "feedback_at": str,
        },
        pk="id",
        not_null={"asked_at", "question", "verdict", "answered"},
    )
    db["questions"].create_index(["asked_at"])


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


class Storage:
    """All reads and writes of the bot's state."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    @classmethod
    def open(cls, path: Path | str) -> "Storage":
        """Open (or create) the database, verify it is ours, switch on WAL and apply pending migrations."""
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            _inspect_existing(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
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

    # --- users -------------------------------------------------------------------------------------

    def upsert_user(self, user_id: int, first_name: str, username: str | None) -> None:
        now = utcnow()
        self.db.execute(
            """INSERT INTO users (id, first_name, username, active, created_at, updated_at)
               VALUES (?, ?, ?, 1, ?, ?)
               ON CONFLICT(id) DO UPDATE SET first_name = excluded.first_name,
                   username = excluded.username, active = 1, updated_at = excluded.updated_at""",
            [user_id, first_name, username, now, now],
        )
        self.db.conn.commit()

    def get_user(self, user_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query(
            """SELECT u.*, t.name AS team_name, t.code AS team_code, t.company AS team_company
               FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = ?""",
            [user_id],
        ))
        return rows[0] if rows else None

    def update_user(self, user_id: int, **fields: Any) -> None:
        allowed = {"region", "role", "team_id", "registered_at", "active", "first_name", "username"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown user fields: {unknown}")
        self.db["users"].update(user_id, {**fields, "updated_at": utcnow()})

    def count_users(self) -> int:
        return self.db["users"].count

    # --- teams -------------------------------------------------------------------------------------

    def insert_team(self, team: dict[str, Any]) -> int:
        row = {**team, "created_at": utcnow()}
        return self.db["teams"].insert(row).last_pk

    def upsert_teams(self, teams: Iterable[dict[str, Any]], code_factory) -> list[dict[str, Any]]:
        """Insert or update teams keyed by (region, name) in one transaction; new teams get a fresh code."""
        saved = []
        with self.db.atomic():
            for team in teams:
                existing = self.team_by_name(team["region"], team["name"])
                if existing:
                    self.db["teams"].update(existing["id"], {k: team.get(k) for k in ("company", "headcount")})
                    saved.append(self.team_by_id(existing["id"]))
                else:
                    team_id = self.db["teams"].insert({**team, "code": code_factory(), "created_at": utcnow()}).last_pk
                    saved.append(self.team_by_id(team_id))
        return saved

    def team_by_code(self, code: str) -> dict[str, Any] | None:
        rows = list(self.db["teams"].rows_where("code = ?", [code]))
        return rows[0] if rows else None

    def team_by_id(self, team_id: int) -> dict[str, Any] | None:
        rows = list(self.db["teams"].rows_where("id = ?", [team_id]))
        return rows[0] if rows else None

    def team_by_name(self, region: str, name: str) -> dict[str, Any] | None:
        rows = list(self.db["teams"].rows_where("region = ? AND name = ?", [region, name]))
        return rows[0] if rows else None

    def list_teams(self, region: str | None = None) -> list[dict[str, Any]]:
        if region:
            return list(self.db["teams"].rows_where("region = ?", [region], order_by="name"))
        return list(self.db["teams"].rows_where(order_by="region, name"))

    # --- question log ----------------------------------------------------------------------------

    def log_question(self, entry: dict[str, Any]) -> int:
        return self.db["questions"].insert({**entry, "asked_at": utcnow()}).last_pk

    def question(self, question_id: int) -> dict[str, Any] | None:
        rows = list(self.db["questions"].rows_where("id = ?", [question_id]))
        return rows[0] if rows else None

    def set_feedback(self, question_id: int, user_id: int, value: int) -> str:
        """Record 👍 (1) or 👎 (-1) once, only by the user who asked: 'saved', 'already' or 'invalid'."""
        with self.db.atomic():
            rows = list(self.db.query("SELECT user_id, feedback FROM questions WHERE id = ?", [question_id]))
            if not rows or rows[0]["user_id"] != user_id:
                return "invalid"
            if rows[0]["feedback"] is not None:
                return "already"
            self.db.execute("UPDATE questions SET feedback = ?, feedback_at = ? WHERE id = ?",
                            [value, utcnow(), question_id])
        return "saved"

    def unanswered_questions(self, since: str | None) -> list[dict[str, Any]]:
        """Questions the bot could not answer confidently, or answered and got 👎."""
        where = "(answered = 0 AND verdict IN ('none', 'suggest')) OR feedback = -1"
        params: list[Any] = []
        if since:
            where = f"({where}) AND asked_at >= ?"
            params.append(since)
        return list(self.db["questions"].rows_where(where, params, order_by="asked_at"))

    def team_codes(self) -> set[str]:
        return {row["code"] for row in self.db.query("SELECT code FROM teams")}
