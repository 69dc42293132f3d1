"""Users, project teams, roles with their invites and audit log, and the question log."""

from __future__ import annotations

from typing import Any, Iterable

from bot.clock import utcnow
from bot.storage.sql import Sql


class PeopleQueries(Sql):

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
        rows = self._all(
            """SELECT u.*, t.name AS team_name, t.code AS team_code, t.company AS team_company
               FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = ?""",
            [user_id],
        )
        return rows[0] if rows else None

    def update_user(self, user_id: int, **fields: Any) -> None:
        allowed = {"region", "role", "team_id", "registered_at", "active", "first_name", "username"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown user fields: {unknown}")
        self.db["users"].update(user_id, {**fields, "updated_at": utcnow()})

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
        return self._one("SELECT * FROM teams WHERE code = ?", [code])

    def team_by_id(self, team_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM teams WHERE id = ?", [team_id])

    def team_by_name(self, region: str, name: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM teams WHERE region = ? AND name = ?", [region, name])

    def list_teams(self, region: str | None = None) -> list[dict[str, Any]]:
        if region:
            return list(self.db["teams"].rows_where("region = ?", [region], order_by="name"))
        return list(self.db["teams"].rows_where(order_by="region, name"))

    # --- roles, invites, audit -----------------------------------------------------------------------

    def roles_of(self, user_id: int) -> dict[str, str]:
        rows = self._all("SELECT role, scope FROM roles WHERE user_id = ?", [user_id])
        return {row["role"]: row["scope"] for row in rows}

    def role_holders(self) -> list[dict[str, Any]]:
        return self._all(
            """SELECT r.*, u.first_name, u.region FROM roles r LEFT JOIN users u ON u.id = r.user_id
               ORDER BY r.role, r.scope, r.user_id""")

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
        return self._one("SELECT * FROM invites WHERE code = ?", [code])

    def use_invite(self, code: str, user_id: int, now: str) -> bool:
        """Mark the invite used by this user, only if it is still unused, unrevoked and unexpired."""
        cursor = self.db.execute(
            """UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL AND revoked_at IS NULL
               AND expires_at > ?""", [user_id, now, code, now])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def log_audit(self, actor_id: int | None, action: str, detail: str) -> None:
        self._insert("audit", {"at": utcnow(), "actor_id": actor_id, "action": action, "detail": detail})

    def audit_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.db["audit"].rows_where(order_by="id DESC", limit=limit))

    def set_notifications(self, user_id: int, **flags: int) -> None:
        allowed = {"notify_announcements", "notify_tips"}
        if set(flags) - allowed:
            raise ValueError(f"unknown notification flags {set(flags) - allowed}")
        self.db["users"].update(user_id, {**flags, "updated_at": utcnow()})

    # --- question log ----------------------------------------------------------------------------

    def log_question(self, entry: dict[str, Any]) -> int:
        return self._insert("questions", {**entry, "asked_at": utcnow()})

    def question(self, question_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM questions WHERE id = ?", [question_id])

    def set_feedback(self, question_id: int, user_id: int, value: int) -> str:
        """Record 👍 (1) or 👎 (-1) once, only by the user who asked: 'saved', 'already' or 'invalid'."""
        with self.db.atomic():
            rows = self._all("SELECT user_id, feedback FROM questions WHERE id = ?", [question_id])
            if not rows or rows[0]["user_id"] != user_id:
                return "invalid"
            if rows[0]["feedback"] is not None:
                return "already"
            self.db.execute("UPDATE questions SET feedback = ?, feedback_at = ? WHERE id = ?",
                            [value, utcnow(), question_id])
        return "saved"

    def set_feedback_reason(self, question_id: int, user_id: int, reason: str, topic: str | None) -> str:
        """Why the asker gave 👎 (and on which card), once: 'saved', 'already' or 'invalid' (no 👎 by this user)."""
        cursor = self.db.execute(
            """UPDATE questions SET feedback_reason = ?, feedback_topic = ?
               WHERE id = ? AND user_id = ? AND feedback = -1 AND feedback_reason IS NULL""",
            [reason, topic, question_id, user_id])
        self.db.conn.commit()
        if cursor.rowcount == 1:
            return "saved"
        row = self.db.execute("SELECT user_id, feedback FROM questions WHERE id = ?", [question_id]).fetchone()
        return "already" if row and row[0] == user_id and row[1] == -1 else "invalid"

    def unanswered_questions(self, since: str | None) -> list[dict[str, Any]]:
        """Questions the bot could not answer confidently, or answered and got 👎."""
        where = "answered = 0 OR feedback = -1"
        params: list[Any] = []
        if since:
            where = f"({where}) AND asked_at >= ?"
            params.append(since)
        return list(self.db["questions"].rows_where(where, params, order_by="asked_at"))

    # --- web links: a Telegram account used from a phone browser ------------------------------------------------

    def insert_web_link(self, token: str, user_id: int, now: str, expires_at: str) -> None:
        self.db.execute("INSERT INTO web_links (token, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                        [token, user_id, now, expires_at])
        self.db.conn.commit()

    def redeem_web_link(self, token: str, now: str) -> int | None:
        """The link's user, once: only an unused link that has not expired is taken."""
        cursor = self.db.execute("UPDATE web_links SET used_at = ? WHERE token = ? AND used_at IS NULL "
                                 "AND expires_at > ?", [now, token, now])
        self.db.conn.commit()
        if cursor.rowcount != 1:
            return None
        return self.db.execute("SELECT user_id FROM web_links WHERE token = ?", [token]).fetchone()[0]
