"""Announcements on their way out: the Telegram side of bot.announcements' Broadcaster, as a service with start and
stop that the application owns.

Sends go through the application's own Bot, marked as bulk, so that one send budget per token (bot.ratelimit) gives
replies to people first and the broadcast what is left, and the total never goes over Telegram's limit. Telegram's
errors are mapped onto the Broadcaster's outcomes here, so the core never sees a Telegram type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.announcements import (BLOCKED, DELIVERED, FAILED, RETRY, RETRY_AFTER, UNKNOWN, Announcements,
                               Broadcaster, SendResult, Summary)
from bot.ratelimit import BULK
from bot.render import Keyboard
from bot.transport import DeliveryUnknown
from bot.ui import announce as screens
from bot.ui import scheduled as scheduled_screens

log = logging.getLogger(__name__)
AUTHOR_NOTE = "\n\n（这是您发布的公告，以上是接收人看到的内容。）"


class Broadcasting:
    """Runs each announcement's broadcast in the background, reports progress to its author, and resumes the
    broadcasts a crash or a stop interrupted."""

    def __init__(self, bot: Bot, announcements: Announcements, rate: float, markup):
        self.bot = bot
        self.announcements = announcements
        self.rate = rate
        self.markup = markup  # how a screen's keyboard becomes Telegram's (handlers.common.markup)
        self.running: dict[int, tuple[Broadcaster, asyncio.Task]] = {}

    async def start(self) -> None:
        for announcement_id in self.announcements.recover_after_crash():
            await self.launch(announcement_id)
        for announcement_id in self.announcements.scheduled.reports_due():  # finished just before a stop or crash
            await self.report(announcement_id)

    async def stop(self) -> None:
        """Let in-flight messages finish; what is left stays pending for the next start."""
        for broadcaster, _ in self.running.values():
            broadcaster.stop()
        tasks = [task for _, task in self.running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=15)

    async def launch(self, announcement_id: int) -> None:
        """Deliver in the background; the bot keeps answering meanwhile. The author gets a progress message."""
        if announcement_id in self.running:
            return
        announcement = self.announcements.storage.announcement(announcement_id)
        if announcement["progress_chat_id"] and not announcement["progress_message_id"]:
            with contextlib.suppress(Forbidden, BadRequest, NetworkError):
                text = scheduled_screens.starting(announcement) if announcement["scheduled_at"] else "📤 准备发送……"
                message = await self.bot.send_message(announcement["progress_chat_id"], text,
                                                      parse_mode=ParseMode.HTML)
                self.announcements.progress_message(announcement_id, message.message_id)
        broadcaster = Broadcaster(self.announcements, self._send, self.rate, progress=self._report)

        async def run() -> None:
            try:
                summary = await broadcaster.run(announcement_id)
                log.info("Announcement %s: %s", announcement_id, summary)
                await self.report(announcement_id)
            except Exception:
                log.exception("Announcement %s: broadcast stopped by an error; it resumes at the next start",
                              announcement_id)
            finally:
                self.running.pop(announcement_id, None)

        self.running[announcement_id] = (broadcaster, asyncio.create_task(run()))

    async def show(self, chat_id: int, announcement: dict[str, Any], keyboard: Keyboard | None = None,
                   note: str = "", bulk: bool = False) -> None:
        """One announcement as its recipients see it: text, or a photo or document with the text as caption."""
        text = screens.body(announcement) + note
        options: dict[str, Any] = {"parse_mode": ParseMode.HTML, "reply_markup": self.markup(keyboard)}
        if bulk:
            options["rate_limit_args"] = BULK
        if announcement["media_kind"] == "photo":
            await self.bot.send_photo(chat_id, announcement["media_file_id"], caption=text, **options)
        elif announcement["media_kind"] == "document":
            await self.bot.send_document(chat_id, announcement["media_file_id"], caption=text, **options)
        else:
            await self.bot.send_message(chat_id, text, **options)

    async def _send(self, user_id: int, announcement: dict[str, Any]) -> SendResult:
        own = user_id == announcement["author_id"]  # the author sees a marked copy, without 退订
        try:
            await self.show(user_id, announcement, None if own else screens.unsubscribe_keyboard(announcement),
                            AUTHOR_NOTE if own else "", bulk=True)
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            return SendResult(RETRY_AFTER, retry_after=float(retry), error="retry_after")
        except Forbidden as exc:
            return SendResult(BLOCKED, error=str(exc)[:200])
        except BadRequest as exc:
            return SendResult(FAILED, error=str(exc)[:200])
        except DeliveryUnknown as exc:  # it may have arrived: never sent again
            return SendResult(UNKNOWN, error=str(exc)[:200])
        except (TimedOut, NetworkError) as exc:  # it did not arrive
            return SendResult(RETRY, error=f"{type(exc).__name__}: {str(exc)[:180]}")
        return SendResult(DELIVERED)

    async def _report(self, announcement_id: int, summary: Summary) -> None:
        announcement = self.announcements.storage.announcement(announcement_id)
        if not announcement["progress_chat_id"] or not announcement["progress_message_id"]:
            return
        finished = summary.pending == 0
        cancelled = announcement["status"] == "cancelled"
        keyboard = None if finished or cancelled else screens.progress_keyboard(announcement_id)
        with contextlib.suppress(BadRequest, Forbidden, NetworkError):
            await self.bot.edit_message_text(screens.progress(summary, finished or cancelled, cancelled),
                                             announcement["progress_chat_id"], announcement["progress_message_id"],
                                             reply_markup=self.markup(keyboard))

    async def report(self, announcement_id: int) -> None:
        """Tell the author how their scheduled announcement went, once: the report is recorded before it is sent,
        and recorded again as not sent only when it certainly did not arrive."""
        claimed = self.announcements.scheduled.claim_report(announcement_id)
        if claimed is None:
            return
        announcement, summary = claimed
        chat_id = announcement["progress_chat_id"] or announcement["author_id"]
        text, keyboard = scheduled_screens.report(announcement, summary, self.announcements.timezone)
        try:
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=self.markup(keyboard))
        except DeliveryUnknown:
            log.warning("Announcement %s: the report to its author may not have arrived; not sent again",
                        announcement_id)
        except (Forbidden, BadRequest) as exc:
            log.warning("Announcement %s: the report to its author was refused: %s", announcement_id, exc)
        except NetworkError as exc:  # it did not arrive (TimedOut is a NetworkError): the next start tries again
            log.warning("Announcement %s: the report to its author failed (%s); retried at the next start",
                        announcement_id, exc)
            self.announcements.scheduled.release_report(announcement_id)
