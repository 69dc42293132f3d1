"""Telegram's limits as the sandbox enforces them: flood control, callback expiry, sizes, "started" users.

Plain classes with an injectable clock, so that the arithmetic can be tested without waiting.

Flood control counts the calls that create or change a message (send* except sendChatAction, copyMessage,
forwardMessage, edit*). A call over a limit is refused before it takes effect and does not use up budget:
- per private chat a token bucket (a burst of `private_burst`, refilled at `private_per_second`);
- per group or supergroup at most `group_per_minute` calls in any sliding 60 s window;
- per bot at most `bot_per_second` calls in any sliding 1 s window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable, Mapping

Clock = Callable[[], float]

# The settings the sandbox embedded in `qualitybot run` starts with until the bot keeps Telegram's limits.
RELAXED = {"enabled": False, "callback_timeout": 0, "require_start": False}

TRAFFIC_KEPT = 200_000  # counted calls remembered for GET /sandbox/traffic
PEAK_CHAT_WINDOW = 3.0  # seconds: the per-chat peak reported by GET /sandbox/limits


def is_counted(method: str) -> bool:
    """Whether a Bot API method creates or changes a message, and so counts against flood control."""
    name = method.lower()
    if name.startswith("send"):
        return name != "sendchataction"
    return name.startswith("edit") or name in {"copymessage", "copymessages", "forwardmessage", "forwardmessages"}


@dataclass(frozen=True)
class LimitSettings:
    """Telegram's values by default; 0 or None switches one limit off, `enabled=False` every rate limit."""
    enabled: bool = True
    private_burst: int | None = 5
    private_per_second: float | None = 1.0
    group_per_minute: int | None = 20
    bot_per_second: int | None = 30
    callback_timeout: float | None = 15.0
    require_start: bool = True
    answer_text_max: int | None = 200
    keyboard_max_buttons: int | None = 100
    keyboard_max_row: int | None = 8

    def updated(self, changes: Mapping[str, Any]) -> "LimitSettings":
        """A copy with `changes` applied; ValueError names the first field that is unknown or of the wrong type."""
        known = {f.name: f for f in fields(self)}
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r}; known: {', '.join(sorted(known))}")
            if name in ("enabled", "require_start"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{name} must be a number (0 or null: off)")
                if name in ("private_burst", "group_per_minute", "bot_per_second", "answer_text_max",
                            "keyboard_max_buttons", "keyboard_max_row"):
                    value = int(value)
            values[name] = value or (False if name in ("enabled", "require_start") else None)
        return replace(self, **values)


class TokenBucket:
    """`capacity` calls at once, then one every 1/`rate` seconds."""

    def __init__(self, capacity: int, rate: float, now: float):
        self.capacity, self.rate = capacity, rate
        self.tokens, self.updated = float(capacity), now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a call is allowed (0: now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class SlidingWindow:
    """At most `limit` calls in any `window` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self.times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()

    def wait(self, now: float) -> float:
        self._prune(now)
        if len(self.times) < self.limit:
            return 0.0
        return self.times[-self.limit] + self.window - now

    def take(self, now: float) -> None:
        self.times.append(now)


@dataclass(frozen=True)
class Refusal:
    kinds: tuple[str, ...]  # "private", "group" and/or "bot"
    retry_after: int        # whole seconds, at least 1


class Limits:
    """The settings in force, the budgets they imply, and what the sandbox observed (for the control API)."""

    def __init__(self, settings: LimitSettings | Mapping[str, Any] | None = None, clock: Clock = time.monotonic):
        if not isinstance(settings, LimitSettings):
            settings = LimitSettings().updated(settings or {})
        self.initial = self.settings = settings
        self.clock = clock
        self.clear_counters()

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Apply control-API changes: {"reset": true} first restores the starting settings. Budgets start afresh."""
        changes = dict(changes)
        base = self.initial if changes.pop("reset", False) else self.settings
        self.settings = base.updated(changes)
        self._budgets_afresh()

    def reset(self) -> None:
        self.settings = self.initial
        self.clear_counters()

    def clear_counters(self) -> None:
        self.refused = {"private": 0, "group": 0, "bot": 0}
        self.expired_callbacks = 0
        self.peak_per_second = 0
        self.peak_per_chat: dict[int, int] = {}
        self.traffic: deque[tuple[float, int, str]] = deque(maxlen=TRAFFIC_KEPT)
        self._recent_all: deque[float] = deque()
        self._recent_chat: dict[int, deque[float]] = {}
        self._budgets_afresh()

    def _budgets_afresh(self) -> None:
        self._buckets: dict[int, TokenBucket] = {}
        self._groups: dict[int, SlidingWindow] = {}
        self._bot = SlidingWindow(self.settings.bot_per_second, 1.0) if self.settings.bot_per_second else None

    # --- flood control ---------------------------------------------------------------------------------

    def _chat_limiter(self, chat_id: int, private: bool, now: float) -> TokenBucket | SlidingWindow | None:
        s = self.settings
        if private:
            if not (s.private_burst and s.private_per_second):
                return None
            if chat_id not in self._buckets:
                self._buckets[chat_id] = TokenBucket(s.private_burst, s.private_per_second, now)
            return self._buckets[chat_id]
        if not s.group_per_minute:
            return None
        return self._groups.setdefault(chat_id, SlidingWindow(s.group_per_minute, 60.0))

    def check(self, chat_id: int, private: bool) -> Refusal | None:
        """None when a counted call to this chat may go ahead now; else which limits refuse it and for how long."""
        if not self.settings.enabled:
            return None
        now = self.clock()
        waits: dict[str, float] = {}
        if self._bot is not None:
            waits["bot"] = self._bot.wait(now)
        chat = self._chat_limiter(chat_id, private, now)
        if chat is not None:
            waits["private" if private else "group"] = chat.wait(now)
        refused = tuple(kind for kind, wait in waits.items() if wait > 0)
        if not refused:
            return None
        for kind in refused:
            self.refused[kind] += 1
        return Refusal(refused, max(1, math.ceil(max(waits.values()) - 1e-9)))

    def record(self, chat_id: int, private: bool, method: str) -> None:
        """A counted call took effect: use up budget and remember it for the traffic report."""
        now = self.clock()
        if self.settings.enabled:
            if self._bot is not None:
                self._bot.take(now)
            chat = self._chat_limiter(chat_id, private, now)
            if chat is not None:
                chat.take(now)
        self.traffic.append((now, chat_id, method))
        self.peak_per_second = max(self.peak_per_second, _push(self._recent_all, now, 1.0))
        recent = self._recent_chat.setdefault(chat_id, deque())
        self.peak_per_chat[chat_id] = max(self.peak_per_chat.get(chat_id, 0), _push(recent, now, PEAK_CHAT_WINDOW))

    # --- callback queries ------------------------------------------------------------------------------

    def callback_expired(self, pressed_at: float) -> bool:
        timeout = self.settings.callback_timeout
        if timeout and self.clock() - pressed_at > timeout:
            self.expired_callbacks += 1
            return True
        return False

    def report(self) -> dict[str, Any]:
        return {"settings": asdict(self.settings), "refused": dict(self.refused),
                "expired_callbacks": self.expired_callbacks, "peak_per_second": self.peak_per_second,
                "peak_per_chat_3s": {str(chat): peak for chat, peak in self.peak_per_chat.items()},
                "counted_calls": len(self.traffic)}


def _push(window: deque[float], now: float, seconds: float) -> int:
    """Append `now` and return how many entries lie in the last `seconds` (the window slides with each call)."""
    window.append(now)
    while window[0] <= now - seconds:
        window.popleft()
    return len(window)
