"""The broadcaster's guarantees with a scripted sender: once each, RetryAfter obeyed, bounded retries, rate, cancel."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from bot.announcements import (BLOCKED, DELIVERED, FAILED, RETRY, RETRY_AFTER, AnnouncementError, Announcements,
                               Broadcaster, Draft, Media, SendResult)
from bot.roles import PermissionDenied, Roles
from bot.storage import Storage
from tests.helpers import eventually

ADMIN = 1


@pytest.fixture
def world():
    storage = Storage.memory()
    roles = Roles(storage, frozenset({ADMIN}), lambda: datetime.now(timezone.utc))
    for user_id in range(100, 400):
        storage.upsert_user(user_id, f"u{user_id}", None)
        storage.update_user(user_id, region="三亚市" if user_id < 300 else "海口市", role="worker")
    storage.upsert_user(50, "三亚住建局", None)
    storage.grant_role(50, "bureau", "三亚市", ADMIN)
    return storage, roles, Announcements(storage, roles)


class ScriptedSender:
    """Delivers, except for the outcomes scripted per user (consumed in order)."""

    def __init__(self, script: dict[int, list[SendResult]] | None = None, delay: float = 0.0):
        self.script = script or {}
        self.delivered: list[int] = []
        self.calls: list[float] = []
        self.delay = delay

    async def __call__(self, user_id: int, announcement: dict) -> SendResult:
        self.calls.append(time.monotonic())
        await asyncio.sleep(self.delay)
        planned = self.script.get(user_id)
        if planned:
            return planned.pop(0)
        self.delivered.append(user_id)
        return SendResult(DELIVERED)


def draft(regions=("三亚市",), **kw) -> Draft:
    return Draft(kw.pop("text", "质量月活动开始了"), kw.pop("media", None), list(regions), **kw)


async def test_every_recipient_once_with_faults(world):
    storage, roles, announcements = world
    announcement = announcements.create(50, draft())
    script = {101: [SendResult(RETRY_AFTER, retry_after=0.3)], 102: [SendResult(BLOCKED, error="blocked")],
              103: [SendResult(RETRY)] * 2, 104: [SendResult(RETRY)] * 3, 105: [SendResult(FAILED, error="bad")]}
    sender = ScriptedSender(script)
    summary = await Broadcaster(announcements, sender, rate_per_second=1000).run(announcement["id"])
    assert sorted(sender.delivered) == sorted(set(range(100, 300)) - {102, 104, 105})
    assert len(sender.delivered) == len(set(sender.delivered)), "nobody receives it twice"
    assert (summary.total, summary.sent, summary.blocked, summary.failed) == (200, 197, 1, 2)
    assert storage.get_user(102)["active"] == 0
    assert storage.announcement(announcement["id"])["status"] == "done"


async def test_retry_after_pauses_the_broadcast_only(world):
    storage, roles, announcements = world
    announcement = announcements.create(50, draft())
    sender = ScriptedSender({100: [SendResult(RETRY_AFTER, retry_after=0.5)]})
    started = time.monotonic()
    await Broadcaster(announcements, sender, rate_per_second=1000, concurrency=1).run(announcement["id"])
    assert time.monotonic() - started >= 0.5
    assert len(sender.delivered) == 200


async def test_rate_is_never_above_the_limit(world):
    storage, roles, announcements = world
    announcement = announcements.create(50, draft())
    sender = ScriptedSender()
    await Broadcaster(announcements, sender, rate_per_second=100, concurrency=8).run(announcement["id"])
    calls = sorted(sender.calls)
    windows = [sum(1 for t in calls if start <= t < start + 1.0) for start in calls]
    assert max(windows) <= 100 + 1  # aiolimiter's leaky bucket: at most the rate in any one-second window
    assert calls[-1] - calls[0] >= 1.0


async def test_cancel_stops_and_counts(world):
    storage, roles, announcements = world
    announcement = announcements.create(50, draft())
    sender = ScriptedSender(delay=0.005)
    broadcaster = Broadcaster(announcements, sender, rate_per_second=200, concurrency=2)
    task = asyncio.create_task(broadcaster.run(announcement["id"]))
    await eventually(lambda: announcements.summary(announcement["id"]).sent >= 5, what="a few sent")
    with pytest.raises(PermissionDenied):
        announcements.cancel(announcement["id"], 999)
    summary = announcements.cancel(announcement["id"], 50)
    await task
    final = announcements.summary(announcement["id"])
    assert 0 < final.sent < 200 and final.cancelled == summary.cancelled and final.pending == 0
    assert len(sender.delivered) == final.sent


async def test_crash_leaves_in_flight_ambiguous_and_never_resends(world):
    storage, roles, announcements = world
    announcement = announcements.create(50, draft())
    aid = announcement["id"]
    for user_id in range(100, 150):
        storage.mark_delivery(aid, user_id, "sent")
    for user_id in (150, 151):
        storage.mark_delivery(aid, user_id, "sending")  # in flight when the process died
    assert announcements.recover_after_crash() == [aid]
    sender = ScriptedSender()
    summary = await Broadcaster(announcements, sender, rate_per_second=1000).run(aid)
    assert sorted(sender.delivered) == list(range(152, 300))
    assert (summary.sent, summary.ambiguous) == (198, 2)


def test_bureaus_stay_in_their_region_and_bad_drafts_are_refused(world):
    storage, roles, announcements = world
    with pytest.raises(PermissionDenied):
        announcements.create(50, draft(regions=["海口市"]))
    with pytest.raises(PermissionDenied):
        announcements.create(300, draft())  # an ordinary user
    with pytest.raises(AnnouncementError, match="不能为空"):
        announcements.create(50, draft(text="  "))
    with pytest.raises(AnnouncementError, match="10 MB"):
        announcements.create(50, draft(media=Media("photo", "f", None, 11 * 1024 * 1024)))
    with pytest.raises(AnnouncementError, match="已经过去"):
        announcements.create(50, draft(), scheduled_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    storage.db.execute("UPDATE users SET notify_announcements = 0 WHERE region = '三亚市'")
    with pytest.raises(AnnouncementError, match="没有可以接收"):
        announcements.create(50, draft())
    assert storage.db.execute("SELECT COUNT(*) FROM announcements").fetchone()[0] == 0, "nothing half-created"
    assert len(announcements.recipients(ADMIN, draft(regions=["海口市"]))) == 100
