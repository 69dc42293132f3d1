"""Whether updates can still reach the bot, for /healthz: a Docker HEALTHCHECK or a supervisor restarts it when not.

python-telegram-bot's polling gives up for good when Telegram rejects the token (the loop ends, the application
keeps running), and retries forever on 409 Conflict (a second copy polls with the same token, and each copy gets only
some updates). Neither shows from outside unless the answers to getUpdates are watched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

STALE_SECONDS = 90.0     # no answered getUpdates for this long (long polls last 10 s): updates no longer arrive
CONFLICT_SECONDS = 30.0  # a 409 this recent means another copy polls; one during a restart's overlap heals by then


@dataclass
class PollingHealth:
    clock: Callable[[], float] = time.monotonic
    last_answer: float = field(default=0.0)
    last_conflict: float | None = None
    token_rejected: bool = False

    def __post_init__(self) -> None:
        self.last_answer = self.clock()

    def answered(self, status: int) -> None:
        """Record the HTTP status of one getUpdates call."""
        now = self.clock()
        if status in (401, 404):  # Telegram answers a revoked or wrong token with either
            self.token_rejected = True
        elif status == 409:
            self.last_conflict = now
        elif status == 200:
            self.last_answer = now
            self.token_rejected = False

    def problem(self) -> str | None:
        """None while updates arrive; otherwise why they do not (English, for operators and logs)."""
        now = self.clock()
        if self.token_rejected:
            return "Telegram rejected the bot token; polling has stopped"
        if self.last_conflict is not None and now - self.last_conflict < CONFLICT_SECONDS:
            return "409 Conflict: another copy of the bot is polling with the same token"
        if now - self.last_answer > STALE_SECONDS:
            return f"no answer to getUpdates for {now - self.last_answer:.0f} s"
        return None
