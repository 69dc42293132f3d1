"""The database's schema, as numbered migrations applied at every start (sqlite-utils' Migrations).

A migration is never edited once released: a change is a new migration.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

# Written into the database header so that a foreign SQLite file is recognised and left alone.
APPLICATION_ID = 0x51424F54  # "QBOT"

migrations = Migrations("qualitybot")


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


@migrations()
def m009_feedback_reason(db: sqlite_utils.Database) -> None:
    # why a 👎 was given (off: 答非所问, wrong: 内容有误, unclear: 看不懂) and on which card, for `kb gaps`
    db.executescript("""
        ALTER TABLE questions ADD COLUMN feedback_reason TEXT;
        ALTER TABLE questions ADD COLUMN feedback_topic TEXT;
    """)


@migrations()
def m010_announcement_reported(db: sqlite_utils.Database) -> None:
    # when the author of a scheduled announcement was told how it went (or that nothing is to be told), so that the
    # report goes out once even across a restart
    db.executescript("""
        ALTER TABLE announcements ADD COLUMN reported_at TEXT;
        UPDATE announcements SET reported_at = COALESCE(finished_at, created_at) WHERE status IN ('done', 'cancelled');
    """)


@migrations()
def m011_certificate_sent(db: sqlite_utils.Database) -> None:
    # when a participant's certificate went out after the contest ended, so that it goes out once even across a
    # restart; contests that ended before certificates existed get none
    db.executescript("""
        ALTER TABLE attempts ADD COLUMN certificate_sent_at TEXT;
        UPDATE attempts SET certificate_sent_at = 'before certificates' WHERE contest_id IN (
            SELECT id FROM contests
            WHERE closed_at IS NOT NULL OR ends_at <= strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
    """)


@migrations()
def m012_live_contests(db: sqlite_utils.Database) -> None:
    # live (host-paced) contests: the host opens each question for everyone at once; self-paced ones are unchanged
    db.executescript("""
        ALTER TABLE contests ADD COLUMN mode TEXT NOT NULL DEFAULT 'self';  -- self | live
        ALTER TABLE contests ADD COLUMN host_token TEXT;          -- the board's host view (live only)
        ALTER TABLE contests ADD COLUMN live_state TEXT;          -- lobby | question | reveal | paused | ended
        ALTER TABLE contests ADD COLUMN live_position INTEGER NOT NULL DEFAULT -1;  -- the question open or last shown
        ALTER TABLE contests ADD COLUMN live_opened_at TEXT;      -- when that question opened for answers
        ALTER TABLE contests ADD COLUMN live_deadline TEXT;       -- when it closes; NULL while it is being sent
        CREATE INDEX attempts_position ON attempts (contest_id, position);
    """)


@migrations()
def m013_web_links(db: sqlite_utils.Database) -> None:
    # one-time links a Telegram user opens in a phone browser, so that the web channel acts as the same account
    db.executescript("""
        CREATE TABLE web_links (
            token TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
    """)
