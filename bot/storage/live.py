"""Live contests: the host's transitions, the question opened for everyone, and the answers of the hall."""

from __future__ import annotations

from typing import Any

from bot.storage.sql import Sql


class LiveQueries(Sql):

    def live_transition(self, contest_id: int, states: tuple[str, ...], position: int, fields: dict[str, Any]) -> bool:
        """Change a live contest's state only if it is in one of `states` at `position`: of two presses of one
        button (or two hosts at once) exactly one changes it."""
        assignments = ", ".join(f"{key} = ?" for key in fields)
        marks = ",".join("?" * len(states))
        cursor = self.db.execute(
            f"UPDATE contests SET {assignments} WHERE id = ? AND mode = 'live' AND live_state IN ({marks}) "
            "AND live_position = ?", [*fields.values(), contest_id, *states, position])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def set_live_deadline(self, contest_id: int, position: int, clock_start: str, deadline: str) -> bool:
        """The question reached every phone: its clock runs from now for everyone still to answer it."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE contests SET live_deadline = ? WHERE id = ? AND live_state = 'question' AND live_position = ? "
                "AND live_deadline IS NULL", [deadline, contest_id, position])
            if cursor.rowcount != 1:
                return False
            self.db.execute("UPDATE attempts SET asked_at = ? WHERE contest_id = ? AND position = ? "
                            "AND finished_at IS NULL", [clock_start, contest_id, position])
        return True

    def catch_up(self, contest_id: int, upto: int, plan: list[str], limit_ms: int, now: str,
                 attempt_id: int | None = None) -> int:
        """Every unfinished attempt (or the one given) that is behind question `upto` gets the questions it missed
        recorded as unanswered (0 points, the whole time), so that positions and answers stay one to one.
        Returns how many answers were added."""
        where = "contest_id = ? AND position < ? AND finished_at IS NULL"
        params: list[Any] = [contest_id, upto]
        if attempt_id is not None:
            where += " AND id = ?"
            params.append(attempt_id)
        with self.db.atomic():
            behind = self._all(f"SELECT id, user_id, position FROM attempts WHERE {where}", params)
            rows = [(a["id"], contest_id, a["user_id"], position, plan[position], "", 0, 0.0, limit_ms, 1, now)
                    for a in behind for position in range(a["position"], upto)]
            self.db.conn.executemany(
                """INSERT INTO answers (attempt_id, contest_id, user_id, position, question_id, chosen, correct,
                       points, time_ms, timed_out, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
            self.db.conn.executemany(
                "UPDATE attempts SET time_ms = time_ms + ?, position = ?, asked_at = NULL WHERE id = ?",
                [((upto - a["position"]) * limit_ms, upto, a["id"]) for a in behind])
        return len(rows)

    def open_for_all(self, contest_id: int, position: int, asked_at: str, attempt_id: int | None = None) -> None:
        """Start the question at `position` for every attempt there (or the one given)."""
        sql = "UPDATE attempts SET asked_at = ? WHERE contest_id = ? AND position = ? AND finished_at IS NULL"
        params: list[Any] = [asked_at, contest_id, position]
        if attempt_id is not None:
            sql += " AND id = ?"
            params.append(attempt_id)
        self.db.execute(sql, params)
        self.db.conn.commit()

    def attempts_at(self, contest_id: int, position: int) -> list[dict[str, Any]]:
        """The unfinished attempts waiting for the question at `position`: whom to send it to."""
        return self._all("SELECT id, user_id FROM attempts WHERE contest_id = ? AND position = ? "
                         "AND finished_at IS NULL ORDER BY id", [contest_id, position])

    def live_counts(self, contest_id: int, position: int) -> tuple[int, int]:
        """(joined, still to answer the question at `position`)."""
        row = self._one("SELECT COUNT(*) AS joined, COALESCE(SUM(position <= ? AND finished_at IS NULL), 0) AS waiting "
                        "FROM attempts WHERE contest_id = ?", [position, contest_id])
        return row["joined"], row["waiting"]

    def choices_at(self, contest_id: int, position: int) -> list[dict[str, Any]]:
        """How the hall answered the question at `position`: answers per combination of options."""
        return self._all("SELECT chosen, timed_out, COUNT(*) AS answers FROM answers WHERE contest_id = ? "
                         "AND position = ? GROUP BY chosen, timed_out", [contest_id, position])

    def live_contests(self, states: tuple[str, ...]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(states))
        return self._all(f"SELECT * FROM contests WHERE mode = 'live' AND live_state IN ({marks}) "
                         "AND closed_at IS NULL", list(states))
