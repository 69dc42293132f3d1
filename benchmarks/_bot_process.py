"""The bot under test for benchmarks/update_cost.py: `qualitybot run` with its SQL statements counted.

    .venv/bin/python benchmarks/_bot_process.py COUNTERS

Configured like `qualitybot run`, from the environment (QB_BOT_API_URL, QB_DB, QB_PORT, ...), with one change:
the bot's own rate limiter is off (`Config.rate_limit=False`), so that the benchmark measures the bot, not
Telegram's 30 messages a second.

Every statement run on a connection that sqlite-utils opens (the bot's only way to its database) reaches a
`set_trace_callback`, which keeps the count in COUNTERS, a file the driver maps into its own memory, so it reads the
count at any moment without asking this process anything. Words of COUNTERS (8 bytes, little-endian):

    0  statements so far (written here)
    1  a label the driver writes while it wants the statements of an update kept (0: keep none)
    2  a serial number of that update (written by the driver)

Statements kept are written, once the bot has stopped, to COUNTERS + ".json" as [label, serial, sql] rows.
"""

from __future__ import annotations

import dataclasses
import json
import mmap
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORD = struct.Struct("<Q")
STATEMENTS, LABEL, SERIAL = 0, 8, 16
COUNTERS_SIZE = 4096
RATE_LIMIT_OFF = "benchmark: the bot's rate limiter is off (Config.rate_limit=False)"


def count_statements(counters: Path) -> list[tuple[int, int, str]]:
    """Count every statement of every sqlite-utils connection opened from now on; the kept ones are returned."""
    import sqlite_utils

    handle = counters.open("r+b")
    shared = mmap.mmap(handle.fileno(), COUNTERS_SIZE)
    kept: list[tuple[int, int, str]] = []
    total = 0

    def trace(sql: str) -> None:
        nonlocal total
        total += 1
        WORD.pack_into(shared, STATEMENTS, total)
        label = WORD.unpack_from(shared, LABEL)[0]
        if label:
            kept.append((label, WORD.unpack_from(shared, SERIAL)[0], sql))

    opened = sqlite_utils.Database.__init__

    def counted_init(self, *args, **kwargs) -> None:
        opened(self, *args, **kwargs)
        self.conn.set_trace_callback(trace)

    sqlite_utils.Database.__init__ = counted_init
    return kept


def main(argv: list[str]) -> int:
    counters = Path(argv[0])
    kept = count_statements(counters)

    import bot.cli

    load_config = bot.cli.load_config

    def without_rate_limit(*args, **kwargs):
        config = dataclasses.replace(load_config(*args, **kwargs), rate_limit=False)
        print(RATE_LIMIT_OFF, file=sys.stderr, flush=True)  # the driver checks that this configuration was used
        return config

    bot.cli.load_config = without_rate_limit
    try:
        return bot.cli.main(["run"])
    finally:
        Path(f"{counters}.json").write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
