"""The only module that speaks SQL.

One `Storage` owns one SQLite connection (WAL mode) and is used from one thread: the event loop's in the bot,
the main thread in the command line. Every change of more than one row runs inside `db.atomic()`.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils
from sqlite_utils import Migrations

from bot.files import ProcessLock, private_file

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


@migrations()
def m003_contests(db: sqlite_utils.Database) -> None:
    db.executescript("""
        CREATE TABLE contests (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            organiser_id INTEGER,
            regions TEXT,                -- JSON list of 市县, NULL for the whole province
            categories TEXT,             -- JSON list of knowledge categories, NULL for all
            topics TEXT,                 -- JSON list of topic ids, NULL for all
            difficulty_mix TEXT,         -- JSON {"1": share, "2": share, "3": share}, NULL for any
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            question_count INTEGER NOT NULL,
            seconds_per_question INTEGER NOT NULL DEFAULT 30,
            min_team_size INTEGER NOT NULL DEFAULT 3,
            speed_bonus INTEGER NOT NULL DEFAULT 0,
            board_token TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            closed_at TEXT
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            contest_id INTEGER NOT NULL REFERENCES contests(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            team_id INTEGER REFERENCES teams(id),   -- the team at the start, so later moves do not rewrite results
            region TEXT,
            name TEXT NOT NULL,
            plan TEXT NOT NULL,                     -- JSON [[question id, [option order]], ...] drawn for this person
            position INTEGER NOT NULL DEFAULT 0,    -- index of the question being asked
            asked_at TEXT,                          -- when the current question was sent (server time)
            message_id INTEGER,                     -- the message showing the current question
            score REAL NOT NULL DEFAULT 0,
            correct INTEGER NOT NULL DEFAULT 0,
            time_ms INTEGER NOT NULL DEFAULT 0,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (contest_id, user_id)
        );
        CREATE INDEX attempts_open ON attempts (finished_at, contest_id);
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            contest_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            position INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            chosen TEXT NOT NULL,                   -- original option letters, '' when timed out
            correct INTEGER NOT NULL,
            points REAL NOT NULL,
            time_ms INTEGER NOT NULL,
            timed_out INTEGER NOT NULL DEFAULT 0,
            answered_at TEXT NOT NULL,
            UNIQUE (attempt_id, position)
        );
        CREATE INDEX answers_contest ON answers (contest_id);
        CREATE TABLE question_flags (
            contest_id INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (contest_id, question_id, user_id)
        );
    """)


@migrations()
def m004_practice(db: sqlite_utils.Database) -> None:
    db.executescript("""
        CREATE TABLE practice_sessions (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            kind TEXT NOT NULL,                     -- practice | wrongbook | daily
            category TEXT,
            plan TEXT NOT NULL,                     -- JSON list of question ids
            position INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE practice_answers (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES practice_sessions(id),
            user_id INTEGER NOT NULL,
            position INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            chosen TEXT NOT NULL,
            correct INTEGER NOT NULL,
            answered_at TEXT NOT NULL,
            UNIQUE (session_id, position)
        );
        CREATE INDEX practice_answers_user ON practice_answers (user_id);
        CREATE TABLE wrongbook (
            user_id INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            right_in_a_row INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL,
            PRIMARY KEY (user_id, question_id)
        );
        CREATE TABLE daily_subscriptions (
            user_id INTEGER PRIMARY KEY,
            at_time TEXT NOT NULL,                  -- HH:MM Beijing time
            enabled INTEGER NOT NULL DEFAULT 1,
            streak INTEGER NOT NULL DEFAULT 0,
            last_answered_on TEXT,
            last_sent_on TEXT
        );
    """)


@migrations()
def m005_roles_and_audit(db: sqlite_utils.Database) -> None:
    db.executescript("""
        CREATE TABLE roles (
            user_id INTEGER NOT NULL,
            role TEXT NOT NULL,                     -- bureau | organiser
            scope TEXT NOT NULL,                    -- a 市县, or 全省
            granted_by INTEGER,
            granted_at TEXT NOT NULL,
            PRIMARY KEY (user_id, role)
        );
        CREATE TABLE invites (
            code TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            scope TEXT NOT NULL,
            created_by INTEGER,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_by INTEGER,
            used_at TEXT,
            revoked_at TEXT
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor_id INTEGER,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        ALTER TABLE users ADD COLUMN notify_announcements INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE users ADD COLUMN notify_tips INTEGER NOT NULL DEFAULT 1;
    """)


@migrations()
def m006_announcements(db: sqlite_utils.Database) -> None:
    db.executescript("""
        CREATE TABLE announcements (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL DEFAULT 'announcement',   -- announcement | tip
            author_id INTEGER,
            regions TEXT NOT NULL,                       -- JSON list of 市县
            role_filter TEXT,
            team_id INTEGER,
            text TEXT NOT NULL DEFAULT '',
            media_kind TEXT,                             -- photo | document
            media_file_id TEXT,
            media_name TEXT,
            created_at TEXT NOT NULL,
            scheduled_at TEXT,
            status TEXT NOT NULL,                        -- scheduled | sending | done | cancelled
            progress_chat_id INTEGER,
            progress_message_id INTEGER,
            finished_at TEXT
        );
        CREATE TABLE deliveries (
            announcement_id INTEGER NOT NULL REFERENCES announcements(id),
            user_id INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',      -- pending | sending | sent | blocked | failed | ambiguous | cancelled
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            updated_at TEXT,
            PRIMARY KEY (announcement_id, user_id)
        );
        CREATE INDEX deliveries_status ON deliveries (announcement_id, status);
    """)


@migrations()
def m007_reports(db: sqlite_utils.Database) -> None:
    db.executescript("""
        CREATE TABLE report_requests (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            instructions TEXT NOT NULL DEFAULT '',
            deadline TEXT NOT NULL,
            regions TEXT NOT NULL,                  -- JSON list of 市县 that must submit
            created_by INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE TABLE report_items (
            id INTEGER PRIMARY KEY,
            request_id INTEGER NOT NULL REFERENCES report_requests(id),
            region TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            state TEXT NOT NULL,                    -- draft | submitted
            kind TEXT NOT NULL,                     -- text | photo | document
            text TEXT,
            file_name TEXT,
            content BLOB,
            size INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE INDEX report_items_request ON report_items (request_id, region, state);
        CREATE TABLE report_submissions (
            request_id INTEGER NOT NULL,
            region TEXT NOT NULL,
            submitted_by INTEGER NOT NULL,
            submitted_at TEXT NOT NULL,
            PRIMARY KEY (request_id, region)
        );
        CREATE TABLE report_reminders (
            request_id INTEGER NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,                     -- 3d | 1d
            sent_at TEXT NOT NULL,
            PRIMARY KEY (request_id, region, kind)
        );
    """)


@migrations()
def m008_one_retime_per_question(db: sqlite_utils.Database) -> None:
    # the question that a restart of the bot gave a new clock; another restart may not give it a second one
    db.execute("ALTER TABLE attempts ADD COLUMN retimed_position INTEGER")


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
        where = "answered = 0 OR feedback = -1"
        params: list[Any] = []
        if since:
            where = f"({where}) AND asked_at >= ?"
            params.append(since)
        return list(self.db["questions"].rows_where(where, params, order_by="asked_at"))

    # --- contests -----------------------------------------------------------------------------------

    def insert_contest(self, row: dict[str, Any]) -> int:
        return self.db["contests"].insert({**row, "created_at": utcnow()}).last_pk

    def contest(self, contest_id: int) -> dict[str, Any] | None:
        rows = list(self.db["contests"].rows_where("id = ?", [contest_id]))
        return rows[0] if rows else None

    def contest_by_board_token(self, token: str) -> dict[str, Any] | None:
        rows = list(self.db["contests"].rows_where("board_token = ?", [token]))
        return rows[0] if rows else None

    def update_contest(self, contest_id: int, fields: dict[str, Any]) -> None:
        self.db["contests"].update(contest_id, fields)

    def contests(self, organiser_id: int | None = None) -> list[dict[str, Any]]:
        if organiser_id is None:
            return list(self.db["contests"].rows_where(order_by="starts_at DESC"))
        return list(self.db["contests"].rows_where("organiser_id = ?", [organiser_id], order_by="starts_at DESC"))

    def open_contests(self, now: str) -> list[dict[str, Any]]:
        return list(self.db["contests"].rows_where(
            "starts_at <= ? AND ends_at > ? AND closed_at IS NULL", [now, now], order_by="ends_at"))

    def insert_attempt(self, row: dict[str, Any]) -> dict[str, Any]:
        """Create the one attempt of a user at a contest, or return the existing one."""
        self.db.execute(
            """INSERT INTO attempts (contest_id, user_id, team_id, region, name, plan, started_at)
               VALUES (:contest_id, :user_id, :team_id, :region, :name, :plan, :started_at)
               ON CONFLICT (contest_id, user_id) DO NOTHING""", row)
        self.db.conn.commit()
        return self.attempt_of(row["contest_id"], row["user_id"])

    def attempt(self, attempt_id: int) -> dict[str, Any] | None:
        rows = list(self.db["attempts"].rows_where("id = ?", [attempt_id]))
        return rows[0] if rows else None

    def attempt_of(self, contest_id: int, user_id: int) -> dict[str, Any] | None:
        rows = list(self.db["attempts"].rows_where("contest_id = ? AND user_id = ?", [contest_id, user_id]))
        return rows[0] if rows else None

    def attempts_of_user(self, user_id: int) -> list[dict[str, Any]]:
        return list(self.db["attempts"].rows_where("user_id = ?", [user_id], order_by="started_at DESC"))

    def unfinished_attempts(self) -> list[dict[str, Any]]:
        return list(self.db["attempts"].rows_where("finished_at IS NULL"))

    def mark_asked(self, attempt_id: int, position: int, asked_at: str) -> bool:
        """Start the clock of the question at `position`, unless it has started already: showing a question again
        never moves its deadline."""
        cursor = self.db.execute(
            "UPDATE attempts SET asked_at = ? WHERE id = ? AND position = ? AND finished_at IS NULL AND asked_at IS NULL",
            [asked_at, attempt_id, position])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def restart_clock(self, attempt_id: int, position: int, asked_at: str, now: str, message_id: int) -> bool:
        """Move the question's start to `now`, only if it is still unanswered and was last asked at `asked_at`."""
        cursor = self.db.execute(
            "UPDATE attempts SET asked_at = ?, message_id = ? WHERE id = ? AND position = ? AND asked_at = ?"
            " AND finished_at IS NULL", [now, message_id, attempt_id, position, asked_at])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def retime(self, attempt_id: int, position: int, now: str) -> bool:
        """After a restart: a new clock for the interrupted question, at most once per question."""
        cursor = self.db.execute(
            "UPDATE attempts SET asked_at = ?, retimed_position = ? WHERE id = ? AND position = ? "
            "AND finished_at IS NULL AND (retimed_position IS NULL OR retimed_position != ?)",
            [now, position, attempt_id, position, position])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def record_answer(self, attempt: dict[str, Any], answer: dict[str, Any], finished: bool) -> bool:
        """Store the answer to the current question exactly once: only if the attempt is still at that position."""
        now = answer["answered_at"]
        with self.db.atomic():
            cursor = self.db.execute(
                """UPDATE attempts SET position = position + 1, asked_at = NULL, score = score + ?,
                       correct = correct + ?, time_ms = time_ms + ?, finished_at = ?
                   WHERE id = ? AND position = ? AND finished_at IS NULL""",
                [answer["points"], answer["correct"], answer["time_ms"], now if finished else None,
                 attempt["id"], answer["position"]])
            if cursor.rowcount != 1:
                return False
            self.db["answers"].insert({**answer, "attempt_id": attempt["id"], "contest_id": attempt["contest_id"],
                                       "user_id": attempt["user_id"]})
        return True

    def finish_attempt(self, attempt_id: int, finished_at: str) -> None:
        self.db.execute("UPDATE attempts SET finished_at = ?, asked_at = NULL WHERE id = ? AND finished_at IS NULL",
                        [finished_at, attempt_id])
        self.db.conn.commit()

    def contest_attempts(self, contest_id: int) -> list[dict[str, Any]]:
        return list(self.db["attempts"].rows_where("contest_id = ?", [contest_id]))

    def contest_version(self, contest_id: int) -> tuple[int, int]:
        """Changes whenever someone answers or starts: (answers, attempts)."""
        return (self.db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ?", [contest_id]).fetchone()[0],
                self.db.execute("SELECT COUNT(*) FROM attempts WHERE contest_id = ?", [contest_id]).fetchone()[0])

    def contest_answers(self, contest_id: int) -> list[dict[str, Any]]:
        return list(self.db["answers"].rows_where("contest_id = ?", [contest_id], order_by="attempt_id, position"))

    def answers_of_attempt(self, attempt_id: int) -> list[dict[str, Any]]:
        return list(self.db["answers"].rows_where("attempt_id = ?", [attempt_id], order_by="position"))

    def add_flag(self, contest_id: int, question_id: str, user_id: int) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO question_flags (contest_id, question_id, user_id, created_at) VALUES (?, ?, ?, ?)",
            [contest_id, question_id, user_id, utcnow()])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def flags(self, contest_id: int) -> list[dict[str, Any]]:
        return list(self.db.query(
            """SELECT question_id, COUNT(*) AS flags FROM question_flags WHERE contest_id = ?
               GROUP BY question_id ORDER BY flags DESC, question_id""", [contest_id]))

    def teams_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {row["id"]: row for row in self.db.query(f"SELECT * FROM teams WHERE id IN ({marks})", ids)}

    # --- practice ------------------------------------------------------------------------------------

    def insert_practice(self, row: dict[str, Any]) -> int:
        return self.db["practice_sessions"].insert({**row, "created_at": utcnow()}).last_pk

    def practice(self, session_id: int) -> dict[str, Any] | None:
        rows = list(self.db["practice_sessions"].rows_where("id = ?", [session_id]))
        return rows[0] if rows else None

    def record_practice_answer(self, session: dict[str, Any], answer: dict[str, Any], finished: bool) -> bool:
        """Once per question of a session; the wrong-question book is updated in the same transaction."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE practice_sessions SET position = position + 1, finished_at = ? "
                "WHERE id = ? AND position = ? AND finished_at IS NULL",
                [answer["answered_at"] if finished else None, session["id"], answer["position"]])
            if cursor.rowcount != 1:
                return False
            self.db["practice_answers"].insert({**answer, "session_id": session["id"], "user_id": session["user_id"]})
            user_id, question_id = session["user_id"], answer["question_id"]
            if not answer["correct"]:
                self.db.execute(
                    """INSERT INTO wrongbook (user_id, question_id, right_in_a_row, added_at) VALUES (?, ?, 0, ?)
                       ON CONFLICT (user_id, question_id) DO UPDATE SET right_in_a_row = 0""",
                    [user_id, question_id, answer["answered_at"]])
            else:
                self.db.execute("UPDATE wrongbook SET right_in_a_row = right_in_a_row + 1 "
                                "WHERE user_id = ? AND question_id = ?", [user_id, question_id])
                self.db.execute("DELETE FROM wrongbook WHERE user_id = ? AND question_id = ? AND right_in_a_row >= 2",
                                [user_id, question_id])
        return True

    def practice_session_correct(self, session_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM practice_answers WHERE session_id = ? AND correct = 1",
                               [session_id]).fetchone()[0]

    def wrongbook(self, user_id: int) -> list[str]:
        return [row["question_id"] for row in self.db.query(
            "SELECT question_id FROM wrongbook WHERE user_id = ? ORDER BY added_at", [user_id])]

    def practice_stats(self, user_id: int) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT question_id, correct FROM practice_answers WHERE user_id = ?", [user_id]))

    def daily_subscription(self, user_id: int) -> dict[str, Any] | None:
        rows = list(self.db["daily_subscriptions"].rows_where("user_id = ?", [user_id]))
        return rows[0] if rows else None

    def set_daily_subscription(self, user_id: int, at_time: str | None) -> None:
        if at_time is None:
            self.db.execute("UPDATE daily_subscriptions SET enabled = 0 WHERE user_id = ?", [user_id])
        else:
            self.db.execute(
                """INSERT INTO daily_subscriptions (user_id, at_time, enabled) VALUES (?, ?, 1)
                   ON CONFLICT (user_id) DO UPDATE SET at_time = excluded.at_time, enabled = 1""", [user_id, at_time])
        self.db.conn.commit()

    def due_daily(self, at_time: str, today: str) -> list[int]:
        """Subscribers whose time has come today and who have not been sent today's question."""
        return [row["user_id"] for row in self.db.query(
            """SELECT d.user_id FROM daily_subscriptions d JOIN users u ON u.id = d.user_id
               WHERE d.enabled = 1 AND u.active = 1 AND d.at_time <= ? AND (d.last_sent_on IS NULL OR d.last_sent_on < ?)""",
            [at_time, today])]

    def mark_daily_sent(self, user_id: int, today: str) -> bool:
        cursor = self.db.execute(
            "UPDATE daily_subscriptions SET last_sent_on = ? WHERE user_id = ? AND (last_sent_on IS NULL OR last_sent_on < ?)",
            [today, user_id, today])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def mark_daily_answered(self, user_id: int, today: str, yesterday: str) -> int:
        """Count the streak once per day: consecutive days add one, a gap starts again at one."""
        with self.db.atomic():
            self.db.execute(
                """UPDATE daily_subscriptions SET
                       streak = CASE WHEN last_answered_on = ? THEN streak WHEN last_answered_on = ? THEN streak + 1 ELSE 1 END,
                       last_answered_on = ?
                   WHERE user_id = ?""", [today, yesterday, today, user_id])
        row = self.daily_subscription(user_id)
        return row["streak"] if row else 0

    # --- roles, invites, audit -----------------------------------------------------------------------

    def roles_of(self, user_id: int) -> dict[str, str]:
        return {row["role"]: row["scope"] for row in self.db["roles"].rows_where("user_id = ?", [user_id])}

    def role_holders(self) -> list[dict[str, Any]]:
        return list(self.db.query(
            """SELECT r.*, u.first_name, u.region FROM roles r LEFT JOIN users u ON u.id = r.user_id
               ORDER BY r.role, r.scope, r.user_id"""))

    def grant_role(self, user_id: int, role: str, scope: str, granted_by: int | None) -> None:
        self.db.execute(
            """INSERT INTO roles (user_id, role, scope, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id, role) DO UPDATE SET scope = excluded.scope, granted_by = excluded.granted_by,
                   granted_at = excluded.granted_at""", [user_id, role, scope, granted_by, utcnow()])
        self.db.conn.commit()

    def revoke_role(self, user_id: int, role: str) -> bool:
        cursor = self.db.execute("DELETE FROM roles WHERE user_id = ? AND role = ?", [user_id, role])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def insert_invite(self, row: dict[str, Any]) -> None:
        self.db["invites"].insert({**row, "created_at": utcnow()})

    def invite(self, code: str) -> dict[str, Any] | None:
        rows = list(self.db["invites"].rows_where("code = ?", [code]))
        return rows[0] if rows else None

    def use_invite(self, code: str, user_id: int, now: str) -> bool:
        """Mark the invite used by this user, only if it is still unused, unrevoked and unexpired."""
        cursor = self.db.execute(
            """UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL AND revoked_at IS NULL
               AND expires_at > ?""", [user_id, now, code, now])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def log_audit(self, actor_id: int | None, action: str, detail: str) -> None:
        self.db["audit"].insert({"at": utcnow(), "actor_id": actor_id, "action": action, "detail": detail})

    def audit_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.db["audit"].rows_where(order_by="id DESC", limit=limit))

    def set_notifications(self, user_id: int, **flags: int) -> None:
        allowed = {"notify_announcements", "notify_tips"}
        if set(flags) - allowed:
            raise ValueError(f"unknown notification flags {set(flags) - allowed}")
        self.db["users"].update(user_id, {**flags, "updated_at": utcnow()})

    # --- announcements -------------------------------------------------------------------------------

    def audience(self, regions: list[str], role: str | None, team_id: int | None, flag: str) -> list[int]:
        """Active users of these 市县 (narrowed by role or team) who have not switched this kind off."""
        if flag not in ("notify_announcements", "notify_tips") or not regions:
            return []
        sql = f"SELECT id FROM users WHERE active = 1 AND {flag} = 1 AND region IN ({','.join('?' * len(regions))})"
        params: list[Any] = list(regions)
        if role:
            sql += " AND role = ?"
            params.append(role)
        if team_id:
            sql += " AND team_id = ?"
            params.append(team_id)
        return [row[0] for row in self.db.execute(sql + " ORDER BY id", params)]

    def insert_announcement(self, row: dict[str, Any], recipients: list[int]) -> int:
        """The announcement and one pending delivery per recipient, stored together before anything is sent."""
        with self.db.atomic():
            announcement_id = self.db["announcements"].insert({**row, "created_at": utcnow()}).last_pk
            self.db["deliveries"].insert_all(
                ({"announcement_id": announcement_id, "user_id": user_id} for user_id in recipients), batch_size=1000)
        return announcement_id

    def announcement(self, announcement_id: int) -> dict[str, Any] | None:
        rows = list(self.db["announcements"].rows_where("id = ?", [announcement_id]))
        return rows[0] if rows else None

    def update_announcement(self, announcement_id: int, fields: dict[str, Any]) -> None:
        self.db["announcements"].update(announcement_id, fields)

    def announcements_with_status(self, status: str) -> list[dict[str, Any]]:
        return list(self.db["announcements"].rows_where("status = ?", [status], order_by="id"))

    def due_announcements(self, now: str) -> list[dict[str, Any]]:
        return list(self.db["announcements"].rows_where("status = 'scheduled' AND scheduled_at <= ?", [now],
                                                        order_by="scheduled_at"))

    def recent_announcements(self, region: str, limit: int = 10) -> list[dict[str, Any]]:
        return list(self.db.query(
            """SELECT a.* FROM announcements a, json_each(a.regions) r
               WHERE a.kind = 'announcement' AND r.value = ? AND a.status IN ('sending', 'done')
               ORDER BY a.id DESC LIMIT ?""", [region, limit]))

    def tip_created_since(self, moment: str) -> bool:
        return bool(list(self.db.query(
            "SELECT 1 FROM announcements WHERE kind = 'tip' AND created_at >= ? LIMIT 1", [moment])))

    def pending_deliveries(self, announcement_id: int, max_attempts: int, limit: int) -> list[int]:
        return [row[0] for row in self.db.execute(
            "SELECT user_id FROM deliveries WHERE announcement_id = ? AND status = 'pending' AND attempts < ? "
            "ORDER BY user_id LIMIT ?", [announcement_id, max_attempts, limit])]

    def mark_delivery(self, announcement_id: int, user_id: int, status: str, error: str | None = None,
                      count_attempt: bool = False, only_if: str | None = None) -> bool:
        sql = ("UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?, attempts = attempts + ? "
               "WHERE announcement_id = ? AND user_id = ?")
        params: list[Any] = [status, error, utcnow(), int(count_attempt), announcement_id, user_id]
        if only_if:
            sql += " AND status = ?"
            params.append(only_if)
        cursor = self.db.execute(sql, params)
        self.db.conn.commit()
        return cursor.rowcount == 1

    def settle_deliveries(self, announcement_id: int, from_status: str, to_status: str) -> int:
        cursor = self.db.execute("UPDATE deliveries SET status = ?, updated_at = ? WHERE announcement_id = ? AND status = ?",
                                 [to_status, utcnow(), announcement_id, from_status])
        self.db.conn.commit()
        return cursor.rowcount

    def delivery_counts(self, announcement_id: int) -> dict[str, int]:
        return {row[0]: row[1] for row in self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE announcement_id = ? GROUP BY status", [announcement_id])}

    def deliveries(self, announcement_id: int) -> list[dict[str, Any]]:
        return list(self.db["deliveries"].rows_where("announcement_id = ?", [announcement_id], order_by="user_id"))

    # --- report collection (信息报送) -------------------------------------------------------------------

    def insert_report_request(self, row: dict[str, Any]) -> int:
        return self.db["report_requests"].insert({**row, "created_at": utcnow()}).last_pk

    def report_request(self, request_id: int) -> dict[str, Any] | None:
        rows = list(self.db["report_requests"].rows_where("id = ?", [request_id]))
        return rows[0] if rows else None

    def report_requests(self) -> list[dict[str, Any]]:
        return list(self.db["report_requests"].rows_where(order_by="deadline DESC"))

    def add_report_item(self, row: dict[str, Any]) -> int:
        return self.db["report_items"].insert({**row, "state": "draft", "created_at": utcnow()}).last_pk

    def report_items(self, request_id: int, region: str, state: str) -> list[dict[str, Any]]:
        return list(self.db["report_items"].rows_where("request_id = ? AND region = ? AND state = ?",
                                                       [request_id, region, state], order_by="id"))

    def clear_report_drafts(self, request_id: int, region: str) -> None:
        self.db.execute("DELETE FROM report_items WHERE request_id = ? AND region = ? AND state = 'draft'",
                        [request_id, region])
        self.db.conn.commit()

    def submit_report(self, request_id: int, region: str, user_id: int, now: str) -> int:
        """The drafts replace the earlier submission of this 市县, all at once."""
        with self.db.atomic():
            self.db.execute("DELETE FROM report_items WHERE request_id = ? AND region = ? AND state = 'submitted'",
                            [request_id, region])
            cursor = self.db.execute("UPDATE report_items SET state = 'submitted' WHERE request_id = ? AND region = ? "
                                     "AND state = 'draft'", [request_id, region])
            self.db.execute(
                """INSERT INTO report_submissions (request_id, region, submitted_by, submitted_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (request_id, region) DO UPDATE SET submitted_by = excluded.submitted_by,
                       submitted_at = excluded.submitted_at""", [request_id, region, user_id, now])
        return cursor.rowcount

    def report_submissions(self, request_id: int) -> dict[str, dict[str, Any]]:
        return {row["region"]: row for row in self.db.query(
            """SELECT s.*, u.first_name FROM report_submissions s LEFT JOIN users u ON u.id = s.submitted_by
               WHERE s.request_id = ?""", [request_id])}

    def bureau_users(self, region: str) -> list[int]:
        return [row[0] for row in self.db.execute(
            "SELECT r.user_id FROM roles r JOIN users u ON u.id = r.user_id WHERE r.role = 'bureau' AND r.scope = ? "
            "AND u.active = 1", [region])]

    def mark_reminder(self, request_id: int, region: str, kind: str) -> bool:
        cursor = self.db.execute("INSERT OR IGNORE INTO report_reminders (request_id, region, kind, sent_at) "
                                 "VALUES (?, ?, ?, ?)", [request_id, region, kind, utcnow()])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def team_codes(self) -> set[str]:
        return {row["code"] for row in self.db.query("SELECT code FROM teams")}
