"""Rendering shared by every reply: HTML escaping, splitting to Telegram's limits, buttons and keyboards.

Pure Python: handlers turn `Button` rows into Telegram keyboards.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.callbacks import Callback

MESSAGE_LIMIT = 4096


# Direction controls (U+202A-U+202E, U+2066-U+2069, marks): inside a name, U+202E turns the text that follows it
# around, on the board as in chat.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


def plain_name(text: str | None) -> str:
    """A name people typed, as it may be shown next to other people's: without direction controls, trimmed."""
    return (text or "").translate(BIDI_CONTROLS).strip()


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


MAX_NUMBER_DIGITS = 18  # every id fits SQLite's 64-bit integers


def as_int(text: str | None) -> int | None:
    """A plain non-negative whole number typed by a user or carried by a button, or None.

    str.isdigit() also accepts "²" or Arabic-Indic digits, and a 30-digit number overflows SQLite.
    """
    if not text or not text.isascii() or not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


@dataclass(frozen=True)
class Button:
    label: str
    data: Callback | None = None  # a declared kind of button (bot.callbacks)
    url: str | None = None

    @property
    def callback_data(self) -> str | None:
        return self.data.pack() if self.data is not None else None


Keyboard = list[list[Button]]


def grid(buttons: list[Button], width: int) -> Keyboard:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]
