"""Resolving questions flagged as wrong (答题纠错); raising and counting flags is with the contests' queries."""

from __future__ import annotations

import sqlite_utils


class FlagQueries:
    db: sqlite_utils.Database

    def resolve_flags(self, contest_id: int, question_id: str) -> int:
        """Take a question's flags off the contest's list (the audit log keeps who resolved how many)."""
        cursor = self.db.execute("DELETE FROM question_flags WHERE contest_id = ? AND question_id = ?",
                                 [contest_id, question_id])
        self.db.conn.commit()
        return cursor.rowcount
