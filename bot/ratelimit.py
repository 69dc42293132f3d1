"""One send budget per bot token, shared by replies and broadcasts, kept inside Telegram's flood limits.

Telegram allows a bot about 30 messages a second overall, about one a second per private chat (short bursts
allowed) and 20 a minute per group; over them it answers 429. python-telegram-bot's AIORateLimiter knows the first
and the last only, lets up to twice the rate through in a sliding second, and stops every request while it waits out
a 429. This limiter counts every call that sends or edits a message in a chat, grants replies before broadcasts
(which take what is left, and never more than their own rate), and waits out a 429 for that chat alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

BULK = "bulk"  # rate_limit_args of a broadcast's sends: lower priority than replies
TICK = 0.01    # how often a waiting broadcast send looks again while replies go first
ARRIVAL_SPREAD = 0.15  # seconds: how much later one send may arrive than another counted just after it


@dataclass
class SlidingWindow:
    """At most `limit` events in any `period` seconds."""
    limit: int
    period: float
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        return 0.0 if len(self.times) < self.limit else self.times[0] + self.period - now

    def record(self, now: float) -> None:
        self.times.append(now)


@dataclass
class TokenBucket:
    """Bursts up to `capacity`, then `rate` a second."""
    capacity: float
    rate: float
    tokens: float = -1.0
    updated: float = 0.0
    paused_until: float = 0.0  # a 429 for this chat: nothing until then

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        self._refill(now)
        pause = max(0.0, self.paused_until - now)
        return max(pause, 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate)

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def idle(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity and now >= self.paused_until


def counted(endpoint: str) -> bool:
    """The calls Telegram's flood limits count: sending and editing messages (not chat actions, not answers)."""
    name = endpoint.lower()
    return (name.startswith(("send", "edit", "copymessage", "forwardmessage")) and name != "sendchataction")


class SendBudget(BaseRateLimiter[str]):
    """Replies first, broadcasts (rate_limit_args=BULK) with what is left; see the module's docstring."""

    def __init__(self, per_second: float = 28, bulk_per_second: float = 20, private_burst: float = 4,
                 private_per_second: float = 0.9, group_per_minute: int = 19, max_retries: int = 3,
                 clock: Callable[[], float] = time.monotonic, enabled: bool = True,
                 exempt: Callable[[Any], bool] = lambda chat_id: False):
        self.enabled = enabled
        self.exempt = exempt  # chats that are not Telegram's (the web channel's): no flood limits to keep
        # A send counted here reaches Telegram a little later, some later than others: the longer window keeps
        # any second at Telegram's end under `per_second` even when sends bunch up by as much as ARRIVAL_SPREAD.
        self.overall = SlidingWindow(int(per_second), 1.0 + ARRIVAL_SPREAD)
        self.bulk = SlidingWindow(max(1, int(min(bulk_per_second, per_second))), 1.0)
        self.private_burst, self.private_per_second = private_burst, private_per_second
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self.clock = clock
        self.chats: dict[Any, TokenBucket] = {}
        self.groups: dict[Any, SlidingWindow] = {}
        self.replies_waiting = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    # --- the decision, a plain function of the clock -----------------------------------------------------

    def _limits(self, chat_id: Any, bulk: bool) -> list[Any]:
        group = isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
        if group:
            chat = self.groups.setdefault(chat_id, SlidingWindow(self.group_per_minute, 60.0))
        else:
            chat = self.chats.setdefault(chat_id, TokenBucket(self.private_burst, self.private_per_second))
        return [self.overall, chat] + ([self.bulk] if bulk else [])

    def try_acquire(self, chat_id: Any, bulk: bool) -> float:
        """0 and the send is counted, or how long to wait before asking again."""
        now = self.clock()
        limits = self._limits(chat_id, bulk)
        wait = max(limit.wait(now) for limit in limits)
        if bulk and self.replies_waiting:
            wait = max(wait, TICK)
        if wait > 0:
            return wait
        for limit in limits:
            (limit.take if isinstance(limit, TokenBucket) else limit.record)(now)
        self._forget_idle_chats(now)
        return 0.0

    def _forget_idle_chats(self, now: float) -> None:
        if len(self.chats) > 4096:  # 10,000 users would otherwise each keep a bucket forever
            for chat_id in [c for c, bucket in self.chats.items() if bucket.idle(now)]:
                del self.chats[chat_id]

    def pause_chat(self, chat_id: Any, seconds: float) -> bool:
        """Hold back a private chat after a 429 for it; False for a group, whose sender waits itself."""
        bucket = self.chats.get(chat_id)
        if bucket is None:
            return False
        bucket.paused_until = max(bucket.paused_until, self.clock() + seconds)
        return True

    # --- python-telegram-bot's side ------------------------------------------------------------------------

    async def _acquire(self, chat_id: Any, bulk: bool) -> None:
        if not bulk:
            self.replies_waiting += 1
        try:
            while (wait := self.try_acquire(chat_id, bulk)) > 0:
                await asyncio.sleep(wait)
        finally:
            if not bulk:
                self.replies_waiting -= 1

    async def pace_repeat(self, endpoint: str, chat_id: Any) -> None:
        """The transport repeats a send after a 5xx: one more call in Telegram's count, so it waits its turn too."""
        if self.enabled and chat_id is not None and counted(endpoint):
            await self._acquire(_chat_key(chat_id), bulk=False)

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: str | None) -> Any:
        """Every call waits out a 429 and is tried again (a few times); calls that send or edit in a chat are also
        paced, and their 429 pauses that chat alone."""
        chat_id = data.get("chat_id")
        paced = self.enabled and chat_id is not None and counted(endpoint) and not self.exempt(chat_id)
        if paced:
            chat_id = _chat_key(chat_id)
        attempt = 0
        while True:
            if paced:
                await self._acquire(chat_id, rate_limit_args == BULK)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise
                seconds = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") \
                    else float(exc.retry_after)
                log.info("429 from Telegram for %s in chat %s; waiting %.1f s", endpoint, chat_id, seconds)
                if not (paced and self.pause_chat(chat_id, seconds + 0.1)):
                    await asyncio.sleep(seconds + 0.1)


def _chat_key(chat_id: Any) -> Any:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return chat_id  # @channelusername: a group as far as limits go
