"""Plain statements for the paths every update takes.

sqlite-utils' table helpers (`db["t"].insert`, `.rows_where`) look the schema up in sqlite_master on each call, and
its `query()` wraps every read in a savepoint: on a one-row read or write that is most of the cost. The query
classes of this package use these instead; the table helpers stay for migrations and rare writes.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlite_utils


class Sql:
    db: sqlite_utils.Database

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip((column[0] for column in cursor.description), row)) if row is not None else None

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row and return its id; committed at once unless the caller's transaction is open.
        Table and column names come from this package's code, never from input."""
        in_caller_transaction = self.db.conn.in_transaction
        cursor = self.db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                 list(row.values()))
        if not in_caller_transaction:
            self.db.conn.commit()
        return cursor.lastrowid
