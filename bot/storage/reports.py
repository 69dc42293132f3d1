"""信息报送: requests, submitted items, submissions and reminders."""

from __future__ import annotations

from typing import Any

from bot.clock import utcnow
from bot.storage.sql import Sql


class ReportQueries(Sql):

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
        return {row["region"]: row for row in self._all(
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
        return {row["code"] for row in self._all("SELECT code FROM teams")}
