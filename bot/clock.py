"""The one clock: the present moment in UTC, and how moments are stored (ISO 8601, UTC, milliseconds).

Services take a `clock` callable defaulting to `utc_now`, so tests drive time with a fake instead of sleeping.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """How a moment is stored: 2026-12-10T10:00:00.000+00:00."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utcnow() -> str:
    """The present moment as it is stored."""
    return iso(utc_now())
