"""Announcements and their exactly-once deliveries."""

from __future__ import annotations

from typing import Any

from bot.clock import utcnow
from bot.storage.sql import Sql


class AnnouncementQueries(Sql):

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
        return self._all(
            """SELECT a.* FROM announcements a, json_each(a.regions) r
               WHERE a.kind = 'announcement' AND r.value = ? AND a.status IN ('sending', 'done')
               ORDER BY a.id DESC LIMIT ?""", [region, limit])

    def tip_created_since(self, moment: str) -> bool:
        return bool(self._all(
            "SELECT 1 FROM announcements WHERE kind = 'tip' AND created_at >= ? LIMIT 1", [moment]))

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

    # --- scheduled announcements ---------------------------------------------------------------------

    def scheduled_announcements(self, author_id: int | None) -> list[dict[str, Any]]:
        """Announcements waiting for their time, soonest first, with their number of recipients and the author's
        name; one author's, or everyone's when `author_id` is None."""
        sql = ("SELECT a.*, u.first_name AS author_name, "
               "(SELECT COUNT(*) FROM deliveries d WHERE d.announcement_id = a.id) AS recipients "
               "FROM announcements a LEFT JOIN users u ON u.id = a.author_id "
               "WHERE a.kind = 'announcement' AND a.status = 'scheduled'")
        params: list[Any] = []
        if author_id is not None:
            sql += " AND a.author_id = ?"
            params.append(author_id)
        return self._all(sql + " ORDER BY a.scheduled_at, a.id", params)

    def change_scheduled(self, announcement_id: int, fields: dict[str, Any]) -> bool:
        """Change an announcement only while it still waits for its time: false when the scheduler (or someone else)
        started or cancelled it first."""
        columns = ", ".join(f"{name} = ?" for name in fields)
        cursor = self.db.execute(f"UPDATE announcements SET {columns} WHERE id = ? AND status = 'scheduled'",
                                 [*fields.values(), announcement_id])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def cancel_scheduled(self, announcement_id: int) -> bool:
        """Call off an announcement that has not started: nothing goes out and there is nothing to report."""
        now = utcnow()
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE announcements SET status = 'cancelled', finished_at = ?, reported_at = ? "
                "WHERE id = ? AND status = 'scheduled'", [now, now, announcement_id])
            if cursor.rowcount != 1:
                return False
            self.db.execute("UPDATE deliveries SET status = 'cancelled', updated_at = ? "
                            "WHERE announcement_id = ? AND status = 'pending'", [now, announcement_id])
        return True

    def unreported_announcements(self) -> list[dict[str, Any]]:
        """Scheduled announcements that went out (to the end, or until cancelled) whose author was not told yet."""
        return self._all(
            "SELECT * FROM announcements WHERE kind = 'announcement' AND scheduled_at IS NOT NULL "
            "AND status IN ('done', 'cancelled') AND reported_at IS NULL ORDER BY id")

    def claim_report(self, announcement_id: int) -> bool:
        """Take the one report of this announcement: true for the first caller only, across restarts."""
        cursor = self.db.execute("UPDATE announcements SET reported_at = ? WHERE id = ? AND reported_at IS NULL",
                                 [utcnow(), announcement_id])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def release_report(self, announcement_id: int) -> None:
        """The report certainly did not arrive: let the next start try again."""
        self.db.execute("UPDATE announcements SET reported_at = NULL WHERE id = ?", [announcement_id])
        self.db.conn.commit()
