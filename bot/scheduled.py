"""Scheduled announcements while they wait: the author's list, a new time, new words, calling one off; and the one
report each author gets when theirs has gone out.

Every change is one conditional update of an announcement that is still `scheduled`, so when the scheduler starts it
while its author sits on a confirm screen, the change is refused cleanly instead of half applied. Who may change one
is bot.policy's rule for cancelling an announcement: its author while still a bureau, or an administrator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.announcements import AnnouncementError, Announcements, Summary, check_text
from bot.clock import iso
from bot.policy import BUREAU, PermissionDenied, may_cancel_announcement

NOT_YOURS = "抱歉，只有这条公告的发布者或管理员可以修改或取消它。"
NO_SUCH = "没有这条定时公告。"
NOT_WAITING = {
    "sending": "这条公告已经开始发送，不能再修改或取消定时。如需中止，请在发送进度消息上按“取消发送”。",
    "done": "这条公告已经发送完毕，不能再修改。",
    "cancelled": "这条公告已经取消。",
}


class TryAgain(AnnouncementError):
    """The new time is past, or the new words are empty or too long: the person may simply send others."""


class ScheduledAnnouncements:
    """A view of `Announcements` for the ones still waiting for their time (built on demand, holds no state)."""

    def __init__(self, announcements: Announcements):
        self.announcements = announcements
        self.storage = announcements.storage
        self.roles = announcements.roles

    def pending(self, user_id: int) -> list[dict[str, Any]]:
        """待发送: a bureau's own scheduled announcements, soonest first; an administrator sees everyone's."""
        actor = self.roles.actor(user_id)
        if actor.is_admin:
            return self.storage.scheduled_announcements(None)
        if not actor.holds(BUREAU):
            return []
        return self.storage.scheduled_announcements(user_id)

    def get(self, announcement_id: int, user_id: int) -> dict[str, Any]:
        """One scheduled announcement that this person may change; raises when they may not, or it no longer waits."""
        announcement = self.storage.announcement(announcement_id)
        if announcement is None or announcement["kind"] != "announcement" or not announcement["scheduled_at"]:
            raise AnnouncementError(NO_SUCH)
        if not may_cancel_announcement(self.roles.actor(user_id), announcement):
            raise PermissionDenied(NOT_YOURS)
        if announcement["status"] != "scheduled":
            raise AnnouncementError(NOT_WAITING.get(announcement["status"], NOT_WAITING["sending"]))
        announcement["recipients"] = self.announcements.summary(announcement_id).total
        return announcement

    def retime(self, announcement_id: int, user_id: int, moment: datetime) -> dict[str, Any]:
        """Send it at `moment` instead (a future moment, as bot.when parses it)."""
        before = self.get(announcement_id, user_id)
        if moment <= self.announcements.clock():
            raise TryAgain("这个时间已经过去了，请发送以后的时间。")
        self._change(announcement_id, {"scheduled_at": iso(moment)})
        self.roles.audit(user_id, "announcement.retime", id=announcement_id, before=before["scheduled_at"],
                         after=iso(moment))
        return self.get(announcement_id, user_id)

    def reword(self, announcement_id: int, user_id: int, text: str) -> dict[str, Any]:
        """New words (the caption, when a picture or file carries it); the audience and time stay."""
        before = self.get(announcement_id, user_id)
        try:
            check_text(text, before["media_kind"] is not None)
        except AnnouncementError as error:
            raise TryAgain(str(error)) from None
        self._change(announcement_id, {"text": text})
        self.roles.audit(user_id, "announcement.reword", id=announcement_id, length=len(text))
        return self.get(announcement_id, user_id)

    def cancel(self, announcement_id: int, user_id: int) -> None:
        """Call it off before it starts: nobody receives it. Irreversible."""
        self.get(announcement_id, user_id)
        if not self.storage.cancel_scheduled(announcement_id):
            raise AnnouncementError(self._why_not_waiting(announcement_id))
        self.roles.audit(user_id, "announcement.cancel", id=announcement_id, scheduled=True)

    def _change(self, announcement_id: int, fields: dict[str, Any]) -> None:
        if not self.storage.change_scheduled(announcement_id, fields):
            raise AnnouncementError(self._why_not_waiting(announcement_id))

    def _why_not_waiting(self, announcement_id: int) -> str:
        announcement = self.storage.announcement(announcement_id)
        return NOT_WAITING.get(announcement["status"] if announcement else "", NOT_WAITING["sending"])

    # --- the author's report -----------------------------------------------------------------------------

    def reports_due(self) -> list[int]:
        """Scheduled announcements that went out (to the end, or until cancelled) whose author was not told yet."""
        return [announcement["id"] for announcement in self.storage.unreported_announcements()]

    def claim_report(self, announcement_id: int) -> tuple[dict[str, Any], Summary] | None:
        """The announcement and its final counts, to the first caller only (recorded before the report is sent, so a
        restart never sends a second); None when it is not finished, not scheduled, or already reported."""
        announcement = self.storage.announcement(announcement_id)
        if announcement is None or not announcement["scheduled_at"] or announcement["kind"] != "announcement" \
                or announcement["status"] not in ("done", "cancelled") or announcement["reported_at"]:
            return None
        if not self.storage.claim_report(announcement_id):
            return None
        return announcement, self.announcements.summary(announcement_id)

    def release_report(self, announcement_id: int) -> None:
        """The report certainly did not arrive (the connection failed before Telegram had it): try at the next start."""
        self.storage.release_report(announcement_id)
