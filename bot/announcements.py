"""Announcements from bureaus to the people of their 市县, delivered exactly once within Telegram's limits.

The announcement and a delivery row per recipient are stored before anything is sent. Each delivery is marked
`sending` before its message leaves and `sent`/`blocked`/`failed` after; after a crash the deliveries still marked
`sending` are counted as ambiguous (they may or may not have arrived) and are never sent again; so is a send
whose answer was lost on the way back (a reset connection, a read timeout).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, time as time_of_day
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter

from bot.clock import iso, utc_now
from bot.accounts import REGION_NAMES
from bot.knowledge import KnowledgeBase, Topic
from bot.policy import (BUREAU, PermissionDenied, announcement_regions, may_cancel_announcement,
                        may_read_announcement)
from bot.roles import Roles
from bot.storage import Storage

if TYPE_CHECKING:
    from bot.scheduled import ScheduledAnnouncements

log = logging.getLogger(__name__)

MAX_TEXT = 4000          # leaves room for the 退订 line within Telegram's 4096
MAX_CAPTION = 1000       # Telegram allows 1024 characters of caption
MAX_PHOTO_BYTES = 10 * 1024 * 1024      # Telegram: photos up to 10 MB
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024   # Telegram: bots send files up to 50 MB
MAX_ATTEMPTS = 3
ROLE_FILTERS = {"worker": "一线工人/班组长", "manager": "管理人员", "other": "其他"}


class AnnouncementError(ValueError):
    """Shown to the user (Chinese)."""


def check_text(text: str, with_media: bool) -> None:
    """An announcement's words: some, unless a picture or file carries it, and within Telegram's limit."""
    if not text.strip() and not with_media:
        raise AnnouncementError("公告内容不能为空。")
    limit = MAX_CAPTION if with_media else MAX_TEXT
    if len(text) > limit:
        raise AnnouncementError(f"公告文字不能超过 {limit} 字{'（带图片或文件时）' if with_media else ''}。")


@dataclass(frozen=True)
class Media:
    kind: str          # photo | document
    file_id: str
    name: str | None
    size: int | None


@dataclass(frozen=True)
class Draft:
    text: str
    media: Media | None
    regions: list[str]
    role: str | None = None
    team_id: int | None = None


# What the sender reports for one message (the handler layer maps Telegram's errors onto these).
DELIVERED, BLOCKED, FAILED, RETRY, RETRY_AFTER = "delivered", "blocked", "failed", "retry", "retry_after"
UNKNOWN = "unknown"  # the send reached Telegram but its answer was lost: it may have arrived


@dataclass(frozen=True)
class SendResult:
    outcome: str
    retry_after: float = 0.0
    error: str | None = None


@dataclass
class Summary:
    total: int
    sent: int
    blocked: int
    failed: int
    ambiguous: int
    pending: int
    cancelled: int

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed + self.ambiguous + self.cancelled


@dataclass
class Announcements:
    storage: Storage
    roles: Roles
    clock: Callable[[], datetime] = utc_now
    timezone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    kb_provider: Callable[[], KnowledgeBase] | None = None

    TIP_TIME = time_of_day(9, 0)  # 每日质量小贴士 go out at 09:00 in the configured time zone

    def validate(self, author_id: int, draft: Draft) -> list[str]:
        """The regions the author may address for this draft; raises on anything that must not be sent."""
        actor = self.roles.actor(author_id)
        regions = announcement_regions(actor, draft.regions, REGION_NAMES)
        if regions is None:
            scope = actor.scope(BUREAU)
            raise PermissionDenied("只有住建局用户可以发布公告。" if scope is None else f"您只能面向{scope}发布公告。")
        check_text(draft.text, draft.media is not None)
        if draft.media:
            limit_bytes = MAX_PHOTO_BYTES if draft.media.kind == "photo" else MAX_DOCUMENT_BYTES
            if draft.media.size and draft.media.size > limit_bytes:
                raise AnnouncementError(f"{'图片' if draft.media.kind == 'photo' else '文件'}超过 Telegram 允许的 "
                                        f"{limit_bytes // (1024 * 1024)} MB。")
        if draft.role and draft.role not in ROLE_FILTERS:
            raise AnnouncementError("没有这个身份类别。")
        return regions

    def recipients(self, author_id: int, draft: Draft) -> list[int]:
        regions = self.validate(author_id, draft)
        return self.storage.audience(regions, draft.role, draft.team_id, "notify_announcements")

    def create(self, author_id: int, draft: Draft, scheduled_at: datetime | None = None,
               progress_chat_id: int | None = None) -> dict[str, Any]:
        regions = self.validate(author_id, draft)
        recipients = self.storage.audience(regions, draft.role, draft.team_id, "notify_announcements")
        if not recipients:
            raise AnnouncementError("所选范围内没有可以接收公告的用户。")
        if scheduled_at is not None and scheduled_at <= self.clock():
            raise AnnouncementError("定时发送的时间已经过去，请选择以后的时间。")
        announcement_id = self.storage.insert_announcement({
            "kind": "announcement", "author_id": author_id, "regions": json.dumps(regions, ensure_ascii=False),
            "role_filter": draft.role, "team_id": draft.team_id, "text": draft.text,
            "media_kind": draft.media.kind if draft.media else None,
            "media_file_id": draft.media.file_id if draft.media else None,
            "media_name": draft.media.name if draft.media else None,
            "scheduled_at": iso(scheduled_at) if scheduled_at else None,
            "status": "scheduled" if scheduled_at else "sending", "progress_chat_id": progress_chat_id,
        }, recipients)
        self.roles.audit(author_id, "announcement.create", id=announcement_id, regions=regions,
                         recipients=len(recipients), scheduled=iso(scheduled_at) if scheduled_at else None)
        return self.storage.announcement(announcement_id)

    def create_tip(self, text: str, regions: list[str]) -> dict[str, Any] | None:
        """每日质量小贴士 to everyone who keeps tips on; the same exactly-once delivery as announcements."""
        recipients = self.storage.audience(regions, None, None, "notify_tips")
        if not recipients:
            return None
        announcement_id = self.storage.insert_announcement({
            "kind": "tip", "author_id": None, "regions": json.dumps(regions, ensure_ascii=False), "text": text,
            "status": "sending"}, recipients)
        return self.storage.announcement(announcement_id)

    def daily_tip(self, text_of: Callable[[Topic], str]) -> dict[str, Any] | None:
        """Today's 小贴士 (a random topic's card, written by `text_of`), unless one went out today already."""
        today = self.clock().astimezone(self.timezone).replace(hour=0, minute=0, second=0, microsecond=0)
        if self.kb_provider is None or self.storage.tip_created_since(iso(today)):
            return None
        topic = random.choice(list(self.kb_provider().topics.values()))
        return self.create_tip(text_of(topic), list(REGION_NAMES))

    def start_scheduled(self, announcement_id: int) -> bool:
        """Now sending, unless it was cancelled or started meanwhile (one conditional update: a person retiming or
        cancelling it at this very moment either wins or is refused, never half of each)."""
        return self.storage.change_scheduled(announcement_id, {"status": "sending"})

    @property
    def scheduled(self) -> "ScheduledAnnouncements":
        """Announcements waiting for their time: listed, retimed, reworded, cancelled; their authors' reports."""
        from bot.scheduled import ScheduledAnnouncements

        return ScheduledAnnouncements(self)

    def start_due(self) -> list[int]:
        """Scheduled announcements whose time has come, now marked as sending."""
        due = self.storage.due_announcements(iso(self.clock()))
        return [a["id"] for a in due if self.start_scheduled(a["id"])]

    def progress_message(self, announcement_id: int, message_id: int) -> None:
        """Where the author watches the broadcast's progress."""
        self.storage.update_announcement(announcement_id, {"progress_message_id": message_id})

    def cancel(self, announcement_id: int, actor_id: int) -> Summary:
        announcement = self.storage.announcement(announcement_id)
        if announcement is None:
            raise AnnouncementError("没有这条公告。")
        if not may_cancel_announcement(self.roles.actor(actor_id), announcement):
            raise PermissionDenied("只有发布者或管理员可以取消这条公告。")
        if announcement["status"] in ("done", "cancelled"):
            raise AnnouncementError("公告已经发送完毕或已取消。")
        self.storage.update_announcement(announcement_id, {"status": "cancelled", "finished_at": iso(self.clock())})
        self.storage.settle_deliveries(announcement_id, "pending", "cancelled")
        self.roles.audit(actor_id, "announcement.cancel", id=announcement_id)
        return self.summary(announcement_id)

    def is_cancelled(self, announcement_id: int) -> bool:
        return self.storage.announcement(announcement_id)["status"] == "cancelled"

    def finish(self, announcement_id: int) -> Summary:
        """No more pending deliveries: those that ran out of attempts are failures."""
        self.storage.settle_deliveries(announcement_id, "pending", "failed")
        if not self.is_cancelled(announcement_id):
            self.storage.update_announcement(announcement_id, {"status": "done", "finished_at": iso(self.clock())})
        return self.summary(announcement_id)

    def recover_after_crash(self) -> list[int]:
        """Broadcasts cut off by a crash: in-flight deliveries become ambiguous; the rest go on."""
        resumed = []
        for announcement in self.storage.announcements_with_status("sending"):
            ambiguous = self.storage.settle_deliveries(announcement["id"], "sending", "ambiguous")
            if ambiguous:
                log.warning("Announcement %s: %d deliveries were in flight at the crash and are ambiguous",
                            announcement["id"], ambiguous)
            resumed.append(announcement["id"])
        return resumed

    def summary(self, announcement_id: int) -> Summary:
        counts = self.storage.delivery_counts(announcement_id)
        return Summary(total=sum(counts.values()), sent=counts.get("sent", 0), blocked=counts.get("blocked", 0),
                       failed=counts.get("failed", 0), ambiguous=counts.get("ambiguous", 0),
                       pending=counts.get("pending", 0) + counts.get("sending", 0),
                       cancelled=counts.get("cancelled", 0))

    def for_user(self, user_id: int) -> list[dict[str, Any]]:
        """The latest announcements this person may read: of their 市县, and only those narrowed to their 身份 or
        team when an announcement was narrowed."""
        actor = self.roles.actor(user_id)
        if not actor.region:
            return []
        return [a for a in self.storage.recent_announcements(actor.region, 30)
                if may_read_announcement(actor, a)][:10]

    def readable(self, announcement_id: int, user_id: int) -> dict[str, Any]:
        """One announcement, opened by someone it was addressed to (or its author)."""
        announcement = self.storage.announcement(announcement_id)
        if announcement is None or announcement["kind"] != "announcement" or \
                not may_read_announcement(self.roles.actor(user_id), announcement):
            raise PermissionDenied("这条公告不是发给您的。")
        return announcement

    def subscribe(self, user_id: int, kind: str, on: bool) -> None:
        """kind: "ann" (announcements) or "tip" (小贴士)."""
        self.set_subscription(user_id, **({"announcements": on} if kind == "ann" else {"tips": on}))

    def toggle_subscription(self, user_id: int, kind: str) -> None:
        user = self.storage.get_user(user_id)
        flag = user["notify_announcements"] if kind == "ann" else user["notify_tips"]
        self.subscribe(user_id, kind, not flag)

    def set_subscription(self, user_id: int, announcements: bool | None = None, tips: bool | None = None) -> None:
        flags = {}
        if announcements is not None:
            flags["notify_announcements"] = int(announcements)
        if tips is not None:
            flags["notify_tips"] = int(tips)
        self.storage.set_notifications(user_id, **flags)


Sender = Callable[[int, dict[str, Any]], Awaitable[SendResult]]


def paced_limiter(rate: float) -> AsyncLimiter:
    """At most `rate` messages in any one-second window, yet able to catch up after the event loop was busy.

    A leaky bucket of capacity c draining at p per second lets through up to p + c in a sliding second, so it drains
    at rate - c (less 1% for jitter between leaving here and arriving at Telegram); c is about 5% of the rate.
    """
    capacity = max(1, round(rate / 20))
    pace = (rate - capacity) * 0.99 if rate > capacity else rate / 2
    return AsyncLimiter(capacity, capacity / pace)


class Broadcaster:
    """Sends one announcement's pending deliveries at a bounded rate, obeying RetryAfter without blocking anything
    else, retrying transient failures a bounded number of times, and reporting progress."""

    def __init__(self, announcements: Announcements, send: Sender, rate_per_second: float, concurrency: int = 8,
                 progress: Callable[[int, Summary], Awaitable[None]] | None = None, progress_every: float = 2.0):
        self.announcements = announcements
        self.send = send
        self.limiter = paced_limiter(rate_per_second)
        self.concurrency = concurrency
        self.progress = progress
        self.progress_every = progress_every
        self._resume_at = 0.0  # monotonic time until which Telegram asked us to wait
        self._stopping = False

    async def _pause_if_asked(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def stop(self) -> None:
        """Finish the messages in hand and stop; the rest stay pending for the next start."""
        self._stopping = True

    async def _deliver(self, announcement: dict[str, Any], user_id: int) -> None:
        storage = self.announcements.storage
        announcement_id = announcement["id"]
        while True:
            await self._pause_if_asked()
            async with self.limiter:
                if not storage.mark_delivery(announcement_id, user_id, "sending", only_if="pending"):
                    return  # cancelled meanwhile
                result = await self.send(user_id, announcement)
            if result.outcome == RETRY_AFTER:
                # not the recipient's fault and not counted as an attempt: wait as told, then try again
                self._resume_at = max(self._resume_at, time.monotonic() + result.retry_after)
                storage.mark_delivery(announcement_id, user_id, "pending", result.error, only_if="sending")
                continue
            if result.outcome == DELIVERED:
                storage.mark_delivery(announcement_id, user_id, "sent", only_if="sending")
            elif result.outcome == BLOCKED:
                storage.mark_delivery(announcement_id, user_id, "blocked", result.error, only_if="sending")
                storage.update_user(user_id, active=0)
            elif result.outcome == UNKNOWN:
                storage.mark_delivery(announcement_id, user_id, "ambiguous", result.error, only_if="sending")
            elif result.outcome == FAILED:
                storage.mark_delivery(announcement_id, user_id, "failed", result.error, count_attempt=True,
                                      only_if="sending")
            else:  # transient: back to pending with one attempt more, retried in a later round
                storage.mark_delivery(announcement_id, user_id, "pending", result.error, count_attempt=True,
                                      only_if="sending")
            return

    async def run(self, announcement_id: int) -> Summary:
        announcements = self.announcements
        announcement = announcements.storage.announcement(announcement_id)
        last_report = 0.0
        backoff = 0.5
        while not self._stopping and not announcements.is_cancelled(announcement_id):
            batch = announcements.storage.pending_deliveries(announcement_id, MAX_ATTEMPTS, 500)
            if not batch:
                break
            queue: asyncio.Queue[int] = asyncio.Queue()
            for user_id in batch:
                queue.put_nowait(user_id)

            async def worker() -> None:
                nonlocal last_report
                while not queue.empty():
                    if self._stopping or announcements.is_cancelled(announcement_id):
                        return
                    await self._deliver(announcement, queue.get_nowait())
                    if self.progress and time.monotonic() - last_report >= self.progress_every:
                        last_report = time.monotonic()
                        await self.progress(announcement_id, announcements.summary(announcement_id))

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            leftover = announcements.storage.pending_deliveries(announcement_id, MAX_ATTEMPTS, 1)
            if leftover and leftover[0] in batch:  # the same people failed again: back off before the next round
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 8)
        if self._stopping:
            return announcements.summary(announcement_id)
        summary = announcements.finish(announcement_id)
        if self.progress:
            await self.progress(announcement_id, summary)
        return summary
