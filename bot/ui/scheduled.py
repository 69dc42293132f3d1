"""待发送公告: a bureau's scheduled announcements, one of them with 修改时间 / 修改内容 / 取消发送, the confirmation before
calling one off, and the report its author gets when it has gone out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.announcements import Summary
from bot.callbacks import Callback
from bot.render import Button, Keyboard, escape
from bot.ui.announce import BACK, audience_text, progress
from bot.ui.menu import HOME, home_row
from bot.when import local_text

PendingStep = Literal["open", "time", "text", "cancel", "confirm"]
TIME = "%m-%d %H:%M"
PREVIEW_CHARS = 40


@dataclass(frozen=True)
class PendingList(Callback, prefix="nl", feature="announce"):
    pass


@dataclass(frozen=True)
class PendingAction(Callback, prefix="nq", feature="announce"):
    """One scheduled announcement: open it, ask for a new time or new words, ask before cancelling, cancel."""
    announcement: int
    step: PendingStep


LIST = Button("« 待发送公告", PendingList())


def _preview(announcement: dict[str, Any], chars: int = PREVIEW_CHARS) -> str:
    text = " ".join((announcement["text"] or "").split())
    media = {"photo": "[图片]", "document": "[文件]"}.get(announcement["media_kind"] or "", "")
    shown = text[:chars] + ("…" if len(text) > chars else "")
    return (media + " " + shown).strip() or "（无文字）"


def _full_text(announcement: dict[str, Any], chars: int = 1500) -> str:
    """The words as written (line breaks kept), cut to leave room for the rest of the screen."""
    text = (announcement["text"] or "").strip() or "（无文字）"
    return text[:chars] + ("…" if len(text) > chars else "")


def _audience(announcement: dict[str, Any]) -> str:
    return audience_text(json.loads(announcement["regions"]), announcement["role_filter"])


def when(announcement: dict[str, Any], tz: ZoneInfo, pattern: str = TIME) -> str:
    return local_text(announcement["scheduled_at"], tz, pattern)


def listing(items: list[dict[str, Any]], tz: ZoneInfo, viewer_id: int) -> tuple[str, Keyboard]:
    """Each waiting announcement with its time (北京时间), audience and the start of its words; soonest first."""
    if not items:
        return ("<b>待发送公告</b>\n\n没有待发送的定时公告。在“发布公告”的最后一步选“定时发送”即可安排。",
                [[BACK, HOME]])
    lines = ["<b>待发送公告</b>（北京时间）"]
    keyboard: Keyboard = []
    for number, item in enumerate(items, 1):
        author = "" if item["author_id"] == viewer_id else f" · 发布者：{escape(item.get('author_name') or '')}"
        lines.append(f"\n{number}. <b>{when(item, tz)}</b> · {escape(_audience(item))} · {item['recipients']:,} 人"
                     f"{author}\n「{escape(_preview(item))}」")
        keyboard.append([Button(f"{number}. {when(item, tz)} {_preview(item, 14)}", PendingAction(item["id"], "open"))])
    lines.append("\n点一条可以修改时间、修改内容或取消发送。")
    keyboard.append([BACK, HOME])
    return "\n".join(lines), keyboard


def detail(announcement: dict[str, Any], tz: ZoneInfo, note: str = "") -> tuple[str, Keyboard]:
    """One waiting announcement in full, and what can be done with it."""
    media = {"photo": "（附图片）", "document": "（附文件）"}.get(announcement["media_kind"] or "", "")
    text = (f"{escape(note) + chr(10) + chr(10) if note else ''}<b>待发送公告</b>{media}\n"
            f"发送时间：{when(announcement, tz, '%Y-%m-%d %H:%M')}（北京时间）\n"
            f"发送范围：{escape(_audience(announcement))} · {announcement['recipients']:,} 人\n\n"
            f"{escape(_full_text(announcement))}")
    aid = announcement["id"]
    return text, [[Button("修改时间", PendingAction(aid, "time")), Button("修改内容", PendingAction(aid, "text"))],
                  [Button("取消发送", PendingAction(aid, "cancel"))], [LIST, HOME]]


def ask_time(announcement: dict[str, Any], tz: ZoneInfo, example: str) -> tuple[str, Keyboard]:
    return (f"现在定在 {when(announcement, tz, '%Y-%m-%d %H:%M')} 发送。\n"
            f"请发送新的发送时间，如“明天上午9点”或“{example}”（北京时间）。",
            [[Button("« 返回", PendingAction(announcement["id"], "open"))]])


def ask_text(announcement: dict[str, Any]) -> tuple[str, Keyboard]:
    carrier = {"photo": "图片的说明文字", "document": "文件的说明文字"}.get(announcement["media_kind"] or "", "公告文字")
    return (f"请发送新的{carrier}（发送范围和时间不变）。",
            [[Button("« 返回", PendingAction(announcement["id"], "open"))]])


def confirm_cancel(announcement: dict[str, Any], tz: ZoneInfo) -> tuple[str, Keyboard]:
    aid = announcement["id"]
    return (f"确定取消这条定时公告吗？\n{when(announcement, tz)} · {escape(_audience(announcement))}\n"
            f"「{escape(_preview(announcement))}」\n\n取消后不会发送给任何人，无法恢复。",
            [[Button("确定取消发送", PendingAction(aid, "confirm")), Button("不取消，返回", PendingAction(aid, "open"))]])


def cancelled() -> tuple[str, Keyboard]:
    return "已取消，这条公告不会发送。", [[LIST, HOME]]


def refused(message: str) -> tuple[str, Keyboard]:
    """The announcement no longer waits (the scheduler started it, or it was cancelled meanwhile)."""
    return escape(message), [[LIST, HOME]]


def scheduled(moment: datetime, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """Right after scheduling one: where to find it again."""
    return (f"已安排在 {local_text(moment, tz)} 发送（北京时间）。\n发送前可以在“待发送公告”里修改时间、内容或取消。",
            [[Button("待发送公告", PendingList())], home_row()])


def starting(announcement: dict[str, Any]) -> str:
    """The progress message of a scheduled announcement, when its time has come."""
    return f"⏰ 定时公告开始发送：「{escape(_preview(announcement))}」"


def report(announcement: dict[str, Any], summary: Summary, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """Told to the author when a scheduled announcement has gone out (or was stopped half way)."""
    cancelled = announcement["status"] == "cancelled"
    heading = "⛔ 定时公告中途取消" if cancelled else "📬 定时公告已发送完毕"
    counts = progress(summary, finished=True, cancelled=cancelled).split("\n", 1)[1]
    text = (f"<b>{heading}</b>\n计划时间：{when(announcement, tz, '%Y-%m-%d %H:%M')}（北京时间）\n"
            f"发送范围：{escape(_audience(announcement))}\n「{escape(_preview(announcement))}」\n\n"
            f"共 {summary.total:,} 人\n{counts}")
    return text, [[BACK, HOME]]
