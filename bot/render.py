"""Rendering shared by every reply: HTML escaping, splitting to Telegram's limits, and callback data.

Pure Python: handlers turn `Button` rows into Telegram keyboards.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

MESSAGE_LIMIT = 4096
CALLBACK_LIMIT = 64  # bytes; a Chinese character takes three
CALLBACK_SEPARATOR = ":"


def escape(text: object) -> str:
    """Escape user or data text for Telegram's HTML parse mode."""
    return html.escape(str(text), quote=False)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` characters, preferring paragraph and line breaks.

    The text is expected to be already escaped; splitting never cuts inside an HTML entity or tag.
    """
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = limit
            # never cut an entity (&amp;) or a tag (<b>) in two
            for opener, closer in (("&", ";"), ("<", ">")):
                start = window.rfind(opener)
                if start != -1 and window.find(closer, start) == -1:
                    cut = min(cut, start)
        chunks.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def callback(*parts: object) -> str:
    """Callback data from parts, checked against Telegram's 64-byte limit."""
    data = CALLBACK_SEPARATOR.join(str(part) for part in parts)
    if len(data.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


MAX_NUMBER_DIGITS = 18  # every id fits SQLite's 64-bit integers


def as_int(text: str | None) -> int | None:
    """A plain non-negative whole number typed by a user or carried by a button, or None.

    str.isdigit() also accepts "²" or Arabic-Indic digits, and a 30-digit number overflows SQLite.
    """
    if not text or not text.isascii() or not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


def parse_callback(data: str | None) -> list[str]:
    """The parts of callback data; data with a malformed number is answered as a stale button by every handler."""
    parts = (data or "").split(CALLBACK_SEPARATOR)
    if any(part.isdigit() and as_int(part) is None for part in parts):
        return ["invalid"]
    return parts


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


Keyboard = list[list[Button]]


def grid(buttons: list[Button], width: int) -> Keyboard:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]
