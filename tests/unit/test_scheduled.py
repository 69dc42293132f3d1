"""Scheduled announcements while they wait: who may list, retime, reword and cancel them; the race with the scheduler;
the author's report once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.announcements import BLOCKED, AnnouncementError, Announcements, Broadcaster, Draft, SendResult
from bot.policy import Actor, may_cancel_announcement
from bot.roles import PermissionDenied, Roles
from bot.storage import Storage
from bot.ui import scheduled as screens
from tests.helpers import Clock
from tests.unit.test_broadcast import ScriptedSender

ADMIN, AUTHOR, OTHER_BUREAU, WORKER = 1, 50, 51, 100
START = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 北京时间


@pytest.fixture
def world():
    storage = Storage.memory()
    clock = Clock(START)
    roles = Roles(storage, frozenset({ADMIN}), clock)
    for user_id in range(100, 110):
        storage.upsert_user(user_id, f"u{user_id}", None)
        storage.update_user(user_id, region="三亚市", role="worker")
    for user_id, name in ((AUTHOR, "三亚住建局"), (OTHER_BUREAU, "三亚住建局二")):
        storage.upsert_user(user_id, name, None)
        storage.grant_role(user_id, "bureau", "三亚市", ADMIN)
    return storage, clock, Announcements(storage, roles, clock)


def schedule(announcements: Announcements, hours: float = 2, text: str = "明天停水检修，请各工地做好准备") -> int:
    moment = announcements.clock() + timedelta(hours=hours)
    return announcements.create(AUTHOR, Draft(text, None, ["三亚市"]), moment)["id"]


def test_only_the_author_while_a_bureau_or_an_administrator_may_change_it():
    announcement = {"author_id": AUTHOR}
    assert may_cancel_announcement(Actor(AUTHOR, roles={"bureau": "三亚市"}), announcement)
    assert may_cancel_announcement(Actor(ADMIN, is_admin=True), announcement)
    assert not may_cancel_announcement(Actor(OTHER_BUREAU, roles={"bureau": "三亚市"}), announcement)
    assert not may_cancel_announcement(Actor(AUTHOR), announcement), "an author whose role was revoked"
    assert not may_cancel_announcement(Actor(WORKER, region="三亚市"), announcement)


def test_each_sees_their_own_pending_and_an_administrator_sees_all(world):
    storage, clock, announcements = world
    later, sooner = schedule(announcements, hours=5), schedule(announcements, hours=1)
    other = announcements.create(OTHER_BUREAU, Draft("另一局的公告", None, ["三亚市"]), clock() + timedelta(hours=3))
    announcements.create(AUTHOR, Draft("立即发送的公告", None, ["三亚市"]))  # sending: not pending
    scheduled = announcements.scheduled
    assert [a["id"] for a in scheduled.pending(AUTHOR)] == [sooner, later], "soonest first, only their own"
    assert [a["id"] for a in scheduled.pending(ADMIN)] == [sooner, other["id"], later]
    assert scheduled.pending(WORKER) == []
    assert scheduled.pending(AUTHOR)[0]["recipients"] == 10
    scheduled.cancel(sooner, AUTHOR)
    assert [a["id"] for a in scheduled.pending(AUTHOR)] == [later]


def test_another_user_is_refused_and_nothing_changes(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    before = storage.announcement(announcement_id)
    scheduled = announcements.scheduled
    for user_id in (OTHER_BUREAU, WORKER):
        with pytest.raises(PermissionDenied, match="只有这条公告的发布者"):
            scheduled.retime(announcement_id, user_id, clock() + timedelta(hours=3))
        with pytest.raises(PermissionDenied):
            scheduled.reword(announcement_id, user_id, "被改过的内容")
        with pytest.raises(PermissionDenied):
            scheduled.cancel(announcement_id, user_id)
    assert storage.announcement(announcement_id) == before
    scheduled.retime(announcement_id, ADMIN, clock() + timedelta(hours=4))  # an administrator may
    assert storage.announcement(announcement_id)["scheduled_at"] == "2026-12-10T06:00:00.000+00:00"


def test_retime_and_reword_keep_it_waiting_and_are_checked(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    scheduled = announcements.scheduled
    changed = scheduled.retime(announcement_id, AUTHOR, clock() + timedelta(days=1))
    assert changed["status"] == "scheduled" and changed["scheduled_at"] == "2026-12-11T02:00:00.000+00:00"
    with pytest.raises(AnnouncementError, match="已经过去"):
        scheduled.retime(announcement_id, AUTHOR, clock() - timedelta(minutes=1))
    assert scheduled.reword(announcement_id, AUTHOR, "改期：后天停水")["text"] == "改期：后天停水"
    with pytest.raises(AnnouncementError, match="不能为空"):
        scheduled.reword(announcement_id, AUTHOR, "   ")
    with pytest.raises(AnnouncementError, match="4000"):
        scheduled.reword(announcement_id, AUTHOR, "字" * 4001)
    assert storage.announcement(announcement_id)["text"] == "改期：后天停水"
    clock.advance(3 * 3600)
    assert announcements.start_due() == [], "moved to tomorrow: not due at the old time"
    clock.advance(24 * 3600)
    assert announcements.start_due() == [announcement_id]


def test_the_scheduler_starting_it_first_refuses_a_late_change_cleanly(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    scheduled = announcements.scheduled
    scheduled.get(announcement_id, AUTHOR)  # the author opens the confirm screen…
    clock.advance(2 * 3600)
    assert announcements.start_due() == [announcement_id]  # …and the scheduler fires meanwhile
    for change in (lambda: scheduled.cancel(announcement_id, AUTHOR),
                   lambda: scheduled.retime(announcement_id, AUTHOR, clock() + timedelta(hours=1)),
                   lambda: scheduled.reword(announcement_id, AUTHOR, "太迟了")):
        with pytest.raises(AnnouncementError, match="已经开始发送"):
            change()
    announcement = storage.announcement(announcement_id)
    assert announcement["status"] == "sending" and announcement["text"].startswith("明天停水")
    assert announcements.summary(announcement_id).pending == 10, "nothing cancelled"
    # the race inside the storage itself: the conditional update loses to a start that came first
    assert not storage.change_scheduled(announcement_id, {"text": "x"})
    assert not storage.cancel_scheduled(announcement_id)


def test_cancel_before_it_starts_sends_nothing_and_reports_nothing(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    announcements.scheduled.cancel(announcement_id, AUTHOR)
    summary = announcements.summary(announcement_id)
    assert (summary.total, summary.cancelled, summary.pending) == (10, 10, 0)
    clock.advance(3 * 3600)
    assert announcements.start_due() == []
    assert announcements.scheduled.reports_due() == []
    with pytest.raises(AnnouncementError, match="已经取消"):
        announcements.scheduled.cancel(announcement_id, AUTHOR)


async def test_the_author_is_reported_to_once_when_it_has_gone_out(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    immediate = announcements.create(AUTHOR, Draft("立即发送", None, ["三亚市"]))["id"]
    scheduled = announcements.scheduled
    assert scheduled.claim_report(announcement_id) is None, "not gone out yet"
    clock.advance(2 * 3600)
    assert announcements.start_due() == [announcement_id]
    assert scheduled.reports_due() == [], "still sending"
    sender = ScriptedSender({101: [SendResult(BLOCKED, error="blocked")]})
    await Broadcaster(announcements, sender, rate_per_second=1000).run(announcement_id)
    await Broadcaster(announcements, ScriptedSender(), rate_per_second=1000).run(immediate)
    assert scheduled.reports_due() == [announcement_id], "only the scheduled one is reported"
    claimed = scheduled.claim_report(announcement_id)
    assert claimed is not None
    announcement, summary = claimed
    assert (summary.sent, summary.blocked, summary.failed) == (9, 1, 0)
    assert scheduled.claim_report(announcement_id) is None, "a second caller gets nothing"
    assert scheduled.reports_due() == [], "a restart finds nothing to report"
    scheduled.release_report(announcement_id)  # the send certainly failed: the next start tries again
    assert scheduled.reports_due() == [announcement_id]
    text, keyboard = screens.report(announcement, summary, announcements.timezone)
    assert "定时公告已发送完毕" in text and "送达：9" in text and "已屏蔽机器人：1" in text
    assert "2026-12-10 12:00" in text and keyboard


async def test_a_report_of_one_cancelled_half_way_reads_as_cancelled_with_counts(world):
    storage, clock, announcements = world
    announcement_id = schedule(announcements)
    clock.advance(2 * 3600)
    announcements.start_due()
    for user_id in (100, 101, 102):
        storage.mark_delivery(announcement_id, user_id, "sent")
    announcements.cancel(announcement_id, AUTHOR)
    await Broadcaster(announcements, ScriptedSender(), rate_per_second=1000).run(announcement_id)
    announcement, summary = announcements.scheduled.claim_report(announcement_id)
    assert (summary.sent, summary.cancelled) == (3, 7)
    text, _ = screens.report(announcement, summary, announcements.timezone)
    assert "已取消" in text and "送达：3" in text and "已取消未发送：7" in text


def test_screens_show_time_audience_and_preview(world):
    storage, clock, announcements = world
    schedule(announcements, text="<b>停水</b>通知" + "很长" * 50)
    items = announcements.scheduled.pending(AUTHOR)
    text, keyboard = screens.listing(items, announcements.timezone, AUTHOR)
    assert "12-10 12:00" in text and "三亚市" in text and "&lt;b&gt;停水&lt;/b&gt;" in text and "10 人" in text
    assert len(text) < 1000
    labels = [button.label for row in keyboard for button in row]
    assert any("12-10 12:00" in label for label in labels) and "« 公告" in labels
    empty, keyboard = screens.listing([], announcements.timezone, AUTHOR)
    assert "没有待发送" in empty and keyboard
    detail, keyboard = screens.detail(announcements.scheduled.get(items[0]["id"], AUTHOR), announcements.timezone)
    labels = [button.label for row in keyboard for button in row]
    assert {"修改时间", "修改内容", "取消发送"} <= set(labels)
