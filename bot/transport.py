"""How the bot talks HTTP to the Bot API: which failed calls are repeated, and which are never repeated.

A failed call is in one of three states, and only the first two are safe to repeat:
- not sent (no connection could be made): nothing happened on Telegram's side; repeated, whatever the method.
- refused with a 5xx status: Telegram answered that it failed; repeated, whatever the method.
- sent, but the answer was lost (reset connection, read timeout): it may have taken effect. Repeated only for
  methods whose second call changes nothing (edits, answers to button presses, reads, settings). For sends it is
  raised as `DeliveryUnknown`, so that the caller decides: an announcement is never sent twice, a contest
  question (whose duplicate is harmless) is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

if TYPE_CHECKING:
    from bot.health import PollingHealth

log = logging.getLogger(__name__)

RETRIES = 2
BACKOFF_SECONDS = 0.25
# Methods whose repetition has no further effect. getUpdates is left to python-telegram-bot's polling loop.
IDEMPOTENT_PREFIXES = ("edit", "answer", "get", "set", "delete", "sendchataction")
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# What a repeated edit or answer is told when the first one, whose answer was lost, did take effect.
ALREADY_DONE = ("message is not modified", "query is too old")
DONE = b'{"ok": true, "result": true}'


class DeliveryUnknown(TimedOut):
    """The call reached the Bot API but its answer was lost: it may or may not have taken effect."""


def _method(url: str) -> str:
    return url.rsplit("/", 1)[-1].lower()


def _is_idempotent(method: str) -> bool:
    return method.startswith(IDEMPOTENT_PREFIXES)


def _answer(payload: bytes) -> dict:
    try:
        answer = json.loads(payload)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _asks_to_wait(payload: bytes) -> bool:
    return "retry_after" in (_answer(payload).get("parameters") or {})


def _already_done(payload: bytes) -> bool:
    description = str(_answer(payload).get("description", ""))
    return any(text in description for text in ALREADY_DONE)


class RetryingRequest(HTTPXRequest):
    """python-telegram-bot's HTTPX transport with the repeat rules above (RetryAfter stays with the rate limiter).

    `pace(method, chat_id)`, when given, is awaited before each repeat, so that repeated sends stay inside the
    flood limits like first tries (the rate limiter wraps the whole call, repeats included)."""

    def __init__(self, pace: Callable[[str, Any], Awaitable[None]] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.pace = pace

    async def do_request(self, url: str, method: str, request_data=None, **kwargs) -> tuple[int, bytes]:
        api_method = _method(url)
        if api_method == "getupdates":  # the polling loop has its own recovery
            return await super().do_request(url, method, request_data, **kwargs)
        maybe_done = False  # an earlier try of this call may have taken effect
        for attempt in range(RETRIES + 1):
            try:
                status, payload = await super().do_request(url, method, request_data, **kwargs)
            except (TimedOut, NetworkError) as exc:
                not_sent = isinstance(exc.__cause__, NOT_SENT)
                if not not_sent and not _is_idempotent(api_method):
                    raise DeliveryUnknown(f"{api_method}: no answer ({exc}); it may have taken effect") from exc
                if attempt == RETRIES:
                    raise
                maybe_done = maybe_done or not not_sent
                log.warning("Bot API %s failed (%s); trying again", api_method, exc)
            else:
                if maybe_done and status == 400 and _already_done(payload):
                    return 200, DONE
                if status < 500 or attempt == RETRIES or _asks_to_wait(payload):
                    return status, payload
                log.warning("Bot API %s answered %s; trying again", api_method, status)
            await asyncio.sleep(BACKOFF_SECONDS * 2 ** attempt)
            if self.pace is not None:
                await self.pace(api_method, (request_data.parameters if request_data else {}).get("chat_id"))


class PollingRequest(HTTPXRequest):
    """The connection that carries getUpdates, telling the health check how each call was answered."""

    def __init__(self, health: "PollingHealth", **kwargs):
        super().__init__(**kwargs)
        self.health = health

    async def do_request(self, url: str, method: str, request_data=None, **kwargs) -> tuple[int, bytes]:
        status, payload = await super().do_request(url, method, request_data, **kwargs)
        self.health.answered(status)
        return status, payload
