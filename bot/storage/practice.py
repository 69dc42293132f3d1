"""Practice sessions, the 错题本 and 每日一题 subscriptions."""

from __future__ import annotations

from typing import Any

from bot.clock import utcnow
from bot.storage.sql import Sql


class PracticeQueries(Sql):

    # --- practice ------------------------------------------------------------------------------------

    def insert_practice(self, row: dict[str, Any]) -> int:
        return self._insert("practice_sessions", {**row, "created_at": utcnow()})

    def practice(self, session_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM practice_sessions WHERE id = ?", [session_id])

    def record_practice_answer(self, session: dict[str, Any], answer: dict[str, Any], finished: bool) -> bool:
        """Once per question of a session; the wrong-question book is updated in the same transaction."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE practice_sessions SET position = position + 1, finished_at = ? "
                "WHERE id = ? AND position = ? AND finished_at IS NULL",
                [answer["answered_at"] if finished else None, session["id"], answer["position"]])
            if cursor.rowcount != 1:
                return False
            self._insert("practice_answers", {**answer, "session_id": session["id"], "user_id": session["user_id"]})
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

    def finish_practice(self, session_id: int, at: str) -> bool:
        """结束 pressed: the session ends where it is (False when it was over already)."""
        cursor = self.db.execute("UPDATE practice_sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                                 [at, session_id])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def practice_session_answers(self, session_id: int) -> list[dict[str, Any]]:
        """The answers of one session in order: position, question_id, chosen (letters), correct."""
        return self._all("SELECT position, question_id, chosen, correct FROM practice_answers "
                                  "WHERE session_id = ? ORDER BY position", [session_id])

    def wrongbook(self, user_id: int) -> list[str]:
        return [row["question_id"] for row in self._all(
            "SELECT question_id FROM wrongbook WHERE user_id = ? ORDER BY added_at, rowid", [user_id])]

    def practice_stats(self, user_id: int) -> list[dict[str, Any]]:
        return self._all(
            "SELECT question_id, correct FROM practice_answers WHERE user_id = ?", [user_id])

    def practice_totals(self, user_id: int) -> tuple[int, int]:
        """(answered, right) over every practice answer of this person, 每日一题 and 错题本 included."""
        answered, right = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(correct), 0) FROM practice_answers WHERE user_id = ?", [user_id]).fetchone()
        return answered, right

    def practice_days(self, user_id: int, utc_offset_minutes: int) -> list[str]:
        """The local dates (YYYY-MM-DD, newest first) on which this person answered a practice question."""
        return [row[0] for row in self.db.execute(
            "SELECT DISTINCT date(answered_at, ?) AS day FROM practice_answers WHERE user_id = ? ORDER BY day DESC",
            [f"{utc_offset_minutes:+d} minutes", user_id])]

    def daily_subscription(self, user_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM daily_subscriptions WHERE user_id = ?", [user_id])

    def set_daily_subscription(self, user_id: int, at_time: str | None, skip_day: str | None = None) -> None:
        """Switch 每日一题 on at `at_time` (off when None); `skip_day` (YYYY-MM-DD) counts as sent already, so that a
        time already past today does not bring a question at once."""
        if at_time is None:
            self.db.execute("UPDATE daily_subscriptions SET enabled = 0 WHERE user_id = ?", [user_id])
        else:
            self.db.execute(
                """INSERT INTO daily_subscriptions (user_id, at_time, enabled, last_sent_on) VALUES (?, ?, 1, ?)
                   ON CONFLICT (user_id) DO UPDATE SET at_time = excluded.at_time, enabled = 1,
                       last_sent_on = NULLIF(MAX(COALESCE(last_sent_on, ''), COALESCE(excluded.last_sent_on, '')), '')""",
                [user_id, at_time, skip_day])
        self.db.conn.commit()

    def due_daily(self, at_time: str, today: str) -> list[int]:
        """Subscribers whose time has come today and who have not been sent today's question."""
        return [row["user_id"] for row in self._all(
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
