"""Callback data as declared types, in the style of aiogram's callback-data factories.

Each kind of button is a frozen dataclass with a prefix and typed fields, declared once by the feature that owns it:

    @dataclass(frozen=True)
    class OpenTopic(Callback, prefix="t", feature="ask"):
        topic: str
        question: int = 0

`OpenTopic("leak.roof", 12).pack()` gives "t:leak.roof:12" (checked against Telegram's 64 bytes), and
`OpenTopic.unpack("t:leak.roof:12")` gives the object back, or None for anything that is not exactly such a button:
a wrong number of parts, a number that is not plain ASCII digits, a choice outside its Literal. Declaring a prefix a
second time raises `CallbackClash` at import, so two features can never claim one prefix again, and
`check_handlers` refuses an application whose button handlers are not declared kinds.
"""

from __future__ import annotations

import re
import typing
from dataclasses import fields
from typing import Any, ClassVar, Iterable, Literal, get_args, get_origin

CALLBACK_LIMIT = 64  # bytes; a Chinese character takes three
SEPARATOR = ":"
MAX_DIGITS = 18      # every number fits SQLite's 64-bit integers
PREFIX = re.compile(r"^[A-Za-z]{1,6}$")

REGISTRY: dict[str, type["Callback"]] = {}


class CallbackClash(RuntimeError):
    """Two features claim the same callback prefix, or a handler listens for undeclared callback data."""


class Callback:
    prefix: ClassVar[str]
    feature: ClassVar[str]

    def __init_subclass__(cls, prefix: str, feature: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not PREFIX.match(prefix):
            raise CallbackClash(f"callback prefix {prefix!r} of {cls.__name__}: 1-6 ASCII letters")
        claimed = REGISTRY.get(prefix)
        if claimed is not None and claimed.__qualname__ != cls.__qualname__:
            raise CallbackClash(f"callback prefix {prefix!r} is claimed by {claimed.feature}.{claimed.__name__} "
                                f"and by {feature}.{cls.__name__}")
        cls.prefix, cls.feature = prefix, feature
        REGISTRY[prefix] = cls

    # --- the wire format --------------------------------------------------------------------------------

    def pack(self) -> str:
        parts = [self.prefix]
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            if SEPARATOR in text or not text:
                raise ValueError(f"{type(self).__name__}.{field.name}: {text!r} cannot travel in callback data")
            parts.append(text)
        data = SEPARATOR.join(parts)
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Any:
        """The button this data stands for, or None when the data is not exactly one of this kind."""
        parts = (data or "").split(SEPARATOR)
        declared = fields(cls)  # type: ignore[arg-type]
        if parts[0] != cls.prefix or len(parts) != len(declared) + 1:
            return None
        hints = typing.get_type_hints(cls)
        values = {}
        for field, text in zip(declared, parts[1:]):
            value = _parse(hints[field.name], text)
            if value is None:
                return None
            values[field.name] = value
        return cls(**values)

    @classmethod
    def matches(cls, data: object) -> bool:
        """The pattern python-telegram-bot's CallbackQueryHandler calls: only well-formed data of this kind."""
        return isinstance(data, str) and cls.unpack(data) is not None


def _parse(kind: Any, text: str) -> Any:
    if kind is int:
        return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None
    if kind is bool:
        return {"1": True, "0": False}.get(text)
    if get_origin(kind) is Literal:
        return text if text in get_args(kind) else None
    if kind is str:
        return text or None
    raise TypeError(f"unsupported callback field type {kind!r}")


def declared_kinds(pattern: object) -> type[Callback] | None:
    """The kind a handler's pattern belongs to (it is that kind's `matches`), or None for anything hand-written."""
    owner = getattr(pattern, "__self__", None)
    return owner if isinstance(owner, type) and issubclass(owner, Callback) and pattern == owner.matches else None


def check_handlers(handlers: Iterable[object]) -> None:
    """Refuse start-up when a button handler listens for data that is not a declared kind, or when one kind is
    handled twice at the same level (python-telegram-bot would only ever run the first)."""
    from telegram.ext import CallbackQueryHandler, ConversationHandler

    def walk(level: Iterable[object], where: str) -> None:
        seen: dict[type[Callback], str] = {}
        for handler in level:
            if isinstance(handler, ConversationHandler):
                walk(handler.entry_points, f"{handler.name} entry")
                for state, state_handlers in handler.states.items():
                    walk(state_handlers, f"{handler.name} state {state}")
                walk(handler.fallbacks, f"{handler.name} fallbacks")
                continue
            if not isinstance(handler, CallbackQueryHandler) or handler.pattern is None:
                continue
            kind = declared_kinds(handler.pattern)
            if kind is None:
                raise CallbackClash(f"{where}: a button handler listens for undeclared callback data "
                                    f"{handler.pattern!r}; declare a Callback kind")
            if kind in seen:
                raise CallbackClash(f"{where}: callback kind {kind.feature}.{kind.__name__} ({kind.prefix!r}) is "
                                    f"handled twice; the second handler would never run")
            seen[kind] = where

    walk(handlers, "top level")
