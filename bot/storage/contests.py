"""Contests, attempts, answers and flags: the hot path of a contest press is plain SQL."""

from __future__ import annotations

from typing import Any, Iterable

from bot.clock import utcnow
from bot.storage.sql import Sql


class ContestQueries(Sql):

    # --- contests -----------------------------------------------------------------------------------

    def insert_contest(self, row: dict[str, Any]) -> int:
        return self.db["contests"].insert({**row, "created_at": utcnow()}).last_pk

    def contest(self, contest_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM contests WHERE id = ?", [contest_id])

    def contest_by_board_token(self, token: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM contests WHERE board_token = ?", [token])

    def update_contest(self, contest_id: int, fields: dict[str, Any]) -> None:
        self.db["contests"].update(contest_id, fields)

    def contests(self, organiser_id: int | None = None) -> list[dict[str, Any]]:
        if organiser_id is None:
            return self._all("SELECT * FROM contests ORDER BY starts_at DESC")
        return self._all("SELECT * FROM contests WHERE organiser_id = ? ORDER BY starts_at DESC",
                                  [organiser_id])

    def open_contests(self, now: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM contests WHERE starts_at <= ? AND ends_at > ? AND closed_at IS NULL "
                                  "ORDER BY ends_at", [now, now])

    def insert_attempt(self, row: dict[str, Any]) -> dict[str, Any]:
        """Create the one attempt of a user at a contest, or return the existing one."""
        self.db.execute(
            """INSERT INTO attempts (contest_id, user_id, team_id, region, name, plan, started_at)
               VALUES (:contest_id, :user_id, :team_id, :region, :name, :plan, :started_at)
               ON CONFLICT (contest_id, user_id) DO NOTHING""", row)
        self.db.conn.commit()
        return self.attempt_of(row["contest_id"], row["user_id"])

    def attempt(self, attempt_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM attempts WHERE id = ?", [attempt_id])

    def attempt_of(self, contest_id: int, user_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM attempts WHERE contest_id = ? AND user_id = ?", [contest_id, user_id])

    def attempts_of_user(self, user_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM attempts WHERE user_id = ? ORDER BY started_at DESC", [user_id])

    def contest_history(self, user_id: int, limit: int) -> list[dict[str, Any]]:
        """This person's latest attempts with the contest's title, the number on its board and their place.

        Place and board follow bot.leaderboard.rank_individuals: on the board once a question is answered; ahead are
        those with a higher score (to 0.1), then less time, then finished (earlier); equal on all three share a place.
        `place` is None while the person has answered nothing."""
        on_board = "(o.position > 0 OR o.finished_at IS NOT NULL)"
        return self._all(
            f"""SELECT a.contest_id, c.title, a.score, a.correct, a.position, a.finished_at, c.question_count,
                   (SELECT COUNT(*) FROM attempts o WHERE o.contest_id = a.contest_id AND {on_board}) AS participants,
                   CASE WHEN a.position > 0 OR a.finished_at IS NOT NULL THEN 1 + (
                       SELECT COUNT(*) FROM attempts o WHERE o.contest_id = a.contest_id AND {on_board} AND (
                           ROUND(o.score, 1) > ROUND(a.score, 1)
                           OR (ROUND(o.score, 1) = ROUND(a.score, 1) AND (o.time_ms < a.time_ms
                               OR (o.time_ms = a.time_ms AND ((o.finished_at IS NOT NULL AND a.finished_at IS NULL)
                                                              OR o.finished_at < a.finished_at))))))
                   END AS place
               FROM attempts a JOIN contests c ON c.id = a.contest_id
               WHERE a.user_id = ? ORDER BY a.started_at DESC, a.id DESC LIMIT ?""", [user_id, limit])

    def unfinished_attempts(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM attempts WHERE finished_at IS NULL")

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

    def record_answer(self, attempt: dict[str, Any], answer: dict[str, Any], finished: bool,
                      ask_next: bool = True) -> bool:
        """Store the answer to the current question exactly once: only if the attempt is still at that position.

        Self-paced, the next question is asked in the same step (its clock starts at the answer, and again when it is
        delivered), so that a press costs one transaction of two statements; live, the host opens it (`ask_next`
        False)."""
        now = answer["answered_at"]
        with self.db.atomic():
            cursor = self.db.execute(
                """UPDATE attempts SET position = position + 1, asked_at = ?, score = score + ?,
                       correct = correct + ?, time_ms = time_ms + ?, finished_at = ?
                   WHERE id = ? AND position = ? AND finished_at IS NULL""",
                [None if finished or not ask_next else now, answer["points"], answer["correct"], answer["time_ms"],
                 now if finished else None, attempt["id"], answer["position"]])
            if cursor.rowcount != 1:
                return False
            self.db.execute(
                """INSERT INTO answers (attempt_id, contest_id, user_id, position, question_id, chosen, correct, points,
                       time_ms, timed_out, answered_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [attempt["id"], attempt["contest_id"], attempt["user_id"], answer["position"], answer["question_id"],
                 answer["chosen"], answer["correct"], answer["points"], answer["time_ms"], answer["timed_out"], now])
        return True

    def finish_attempt(self, attempt_id: int, finished_at: str) -> None:
        self.db.execute("UPDATE attempts SET finished_at = ?, asked_at = NULL WHERE id = ? AND finished_at IS NULL",
                        [finished_at, attempt_id])
        self.db.conn.commit()

    def contest_attempts(self, contest_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM attempts WHERE contest_id = ?", [contest_id])

    def contest_version(self, contest_id: int) -> tuple[Any, ...]:
        """Changes whenever someone answers or starts, or a live contest's host moves it on."""
        return (self.db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ?", [contest_id]).fetchone()[0],
                self.db.execute("SELECT COUNT(*) FROM attempts WHERE contest_id = ?", [contest_id]).fetchone()[0],
                *self.db.execute("SELECT live_state, live_position, live_deadline, closed_at FROM contests WHERE id = ?",
                                 [contest_id]).fetchone())

    def contest_answers(self, contest_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM answers WHERE contest_id = ? ORDER BY attempt_id, position",
                                  [contest_id])

    def answers_of_attempt(self, attempt_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM answers WHERE attempt_id = ? ORDER BY position", [attempt_id])

    def add_flag(self, contest_id: int, question_id: str, user_id: int) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO question_flags (contest_id, question_id, user_id, created_at) VALUES (?, ?, ?, ?)",
            [contest_id, question_id, user_id, utcnow()])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def flags(self, contest_id: int) -> list[dict[str, Any]]:
        return self._all(
            """SELECT question_id, COUNT(*) AS flags FROM question_flags WHERE contest_id = ?
               GROUP BY question_id ORDER BY flags DESC, question_id""", [contest_id])

    def teams_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {row["id"]: row for row in self._all(f"SELECT * FROM teams WHERE id IN ({marks})", ids)}

    # --- results: per-question statistics and certificates ----------------------------------------------------

    def question_answer_counts(self, contest_id: int) -> list[dict[str, Any]]:
        """How many answers of the contest chose each combination of options, per question (for the statistics)."""
        return self._all(
            """SELECT question_id, chosen, correct, timed_out, COUNT(*) AS answers FROM answers WHERE contest_id = ?
               GROUP BY question_id, chosen, correct, timed_out""", [contest_id])

    def certificates_due(self, now: str, ended_since: str, limit: int) -> list[dict[str, Any]]:
        """Attempts with at least one answer in contests that have ended (closed, or past their end after
        `ended_since`) whose certificate has not gone out yet."""
        return self._all(
            """SELECT a.id, a.contest_id, a.user_id FROM attempts a JOIN contests c ON c.id = a.contest_id
               WHERE a.certificate_sent_at IS NULL AND a.position > 0
                 AND ((c.closed_at IS NOT NULL AND c.closed_at >= ?) OR (c.ends_at <= ? AND c.ends_at >= ?))
               ORDER BY a.contest_id, a.id LIMIT ?""", [ended_since, now, ended_since, limit])

    def claim_certificate(self, attempt_id: int, now: str) -> bool:
        """Mark the attempt's certificate as sent, once: only the caller that gets True sends it."""
        cursor = self.db.execute("UPDATE attempts SET certificate_sent_at = ? WHERE id = ? AND "
                                 "certificate_sent_at IS NULL", [now, attempt_id])
        self.db.conn.commit()
        return cursor.rowcount == 1

    def release_certificate(self, attempt_id: int) -> None:
        """The certificate could not be delivered (network): let the next round try again."""
        self.db.execute("UPDATE attempts SET certificate_sent_at = NULL WHERE id = ?", [attempt_id])
        self.db.conn.commit()
