"""公告 as people see it: the list and one announcement, subscriptions, composing, the preview and the progress."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.accounts import REGION_NAMES
from bot.announcements import ROLE_FILTERS, Summary
from bot.callbacks import Callback
from bot.knowledge import Topic, render_summary
from bot.render import Button, Keyboard, escape, grid
from bot.ui.menu import HOME, Menu, home_row, region_ticks
from bot.ui.practice import DailySettings
from bot.when import local_text

Kind = Literal["ann", "tip"]


@dataclass(frozen=True)
class ViewNotice(Callback, prefix="nv", feature="announce"):
    announcement: int


@dataclass(frozen=True)
class NoticeSettings(Callback, prefix="ns", feature="announce"):
    pass


@dataclass(frozen=True)
class ToggleSubscription(Callback, prefix="nt", feature="announce"):
    kind: Kind


@dataclass(frozen=True)
class Unsubscribe(Callback, prefix="un", feature="announce"):
    """Under every announcement: asks once before switching it off."""
    kind: Kind


@dataclass(frozen=True)
class UnsubscribeConfirmed(Callback, prefix="uY", feature="announce"):
    kind: Kind


@dataclass(frozen=True)
class Resubscribe(Callback, prefix="uN", feature="announce"):
    """撤销: switch it back on."""
    kind: Kind


@dataclass(frozen=True)
class Compose(Callback, prefix="nn", feature="announce"):
    pass


@dataclass(frozen=True)
class AudienceRegion(Callback, prefix="na", feature="announce"):
    pick: str  # a 市县 index, "all" or "done"


@dataclass(frozen=True)
class AudienceRole(Callback, prefix="nr", feature="announce"):
    role: Literal["all", "worker", "manager", "other"]


@dataclass(frozen=True)
class SendDecision(Callback, prefix="np", feature="announce"):
    choice: Literal["now", "later", "no"]


@dataclass(frozen=True)
class CancelBroadcast(Callback, prefix="nx", feature="announce"):
    announcement: int


BAR_WIDTH = 10  # blocks, so that bar and figures fit one line on a 390 px phone screen
BACK = Button("« 公告", Menu("notice"))
KIND_NAMES = {"ann": "公告", "tip": "质量小贴士"}


def label(announcement: dict[str, Any]) -> str:
    regions = json.loads(announcement["regions"])
    return "省住建厅" if len(regions) > 1 else f"{regions[0]}住建局"


def body(announcement: dict[str, Any]) -> str:
    if announcement["kind"] == "tip":
        return f"💡 <b>每日质量小贴士</b>\n\n{announcement['text']}"
    return f"📢 <b>{escape(label(announcement))}公告</b>\n\n{escape(announcement['text'])}"


def tip_text(topic: Topic) -> str:
    """每日质量小贴士: a topic's card, and how to ask for more."""
    return render_summary(topic) + "\n\n想了解更多，直接问我：“" + escape(topic.questions[0]) + "”"


def unsubscribe_keyboard(announcement: dict[str, Any]) -> Keyboard:
    kind: Kind = "tip" if announcement["kind"] == "tip" else "ann"
    return [[Button("退订" + KIND_NAMES[kind], Unsubscribe(kind))]]


def notices(region: str | None, items: list[dict[str, Any]], tz: ZoneInfo, is_bureau: bool) -> tuple[str, Keyboard]:
    lines = [f"<b>{escape(region or '')}公告</b>"]
    keyboard: Keyboard = []
    for item in items:
        preview = (item["text"] or ("[图片]" if item["media_kind"] == "photo" else "[文件]"))[:18]
        keyboard.append([Button(f"{local_text(item['created_at'], tz, '%m-%d')} {preview}", ViewNotice(item["id"]))])
    if not items:
        lines.append("最近没有公告。" if region else "请先在“我的”里选择市县。")
    keyboard.append([Button("订阅设置", NoticeSettings())])
    if is_bureau:
        from bot.ui.reports import ReportsMenu  # reports are reached from 公告 by bureaus
        from bot.ui.scheduled import PendingList

        keyboard.append([Button("发布公告", Compose()), Button("待发送公告", PendingList())])
        keyboard.append([Button("信息报送", ReportsMenu())])
    keyboard.append(home_row())
    return "\n".join(lines), keyboard


def settings(user: dict[str, Any], daily_on: bool) -> tuple[str, Keyboard]:
    def state(flag: object) -> str:
        return "✅ 开" if flag else "⬜ 关"

    keyboard = [[Button(f"公告 {state(user['notify_announcements'])}", ToggleSubscription("ann"))],
                [Button(f"质量小贴士 {state(user['notify_tips'])}", ToggleSubscription("tip"))],
                [Button(f"每日一题 {state(daily_on)}", DailySettings("notice"))], [BACK, HOME]]
    return "<b>订阅设置</b>\n点按钮即可开关。", keyboard


def unsubscribe_question(kind: Kind) -> tuple[str, Keyboard]:
    name = KIND_NAMES[kind]
    return (f"确定不再接收{name}吗？以后可以在“公告 → 订阅设置”里重新开启。",
            [[Button(f"确定退订{name}", UnsubscribeConfirmed(kind)), Button("不退订", Menu("home"))]])


def unsubscribed(kind: Kind) -> tuple[str, Keyboard]:
    return (f"已退订{KIND_NAMES[kind]}。点错了可以撤销。",
            [[Button("撤销，继续接收", Resubscribe(kind)), Button("订阅设置", NoticeSettings())], home_row()])


def compose_intro() -> tuple[str, Keyboard]:
    """The first step of 发布公告, with the way to the announcements already scheduled."""
    from bot.ui.scheduled import PendingList

    return ("发布公告（随时 /cancel 取消）。\n请发送公告内容：文字，或一张图片/一个文件（可以带说明文字）。",
            [[Button("待发送公告", PendingList())]])


def region_step(chosen: list[str]) -> tuple[str, Keyboard]:
    keyboard = region_ticks(AudienceRegion, chosen, len(REGION_NAMES), "全选")
    return f"发给哪些市县？已选 {len(chosen)} 个。", keyboard


def role_step() -> tuple[str, Keyboard]:
    buttons = [Button("全部人员", AudienceRole("all"))] + [Button(text, AudienceRole(key))
                                                        for key, text in ROLE_FILTERS.items()]
    return "只发给某类人员吗？", grid(buttons, 2)


def audience_text(regions: list[str], role: str | None) -> str:
    """三亚市、陵水县（管理人员）, or 全省: whom an announcement addresses (not escaped)."""
    where = "、".join(regions) if len(regions) < len(REGION_NAMES) else "全省"
    return f"{where}{'（' + ROLE_FILTERS[role] + '）' if role else ''}"


def preview(text: str, media_kind: str | None, regions: list[str], role: str | None,
            count: int) -> tuple[str, Keyboard]:
    audience = audience_text(regions, role)
    media = {"photo": "（附图片）", "document": "（附文件）"}.get(media_kind or "", "")
    screen = (f"<b>公告预览</b>{media}\n\n{escape(text) or '（无文字）'}\n\n"
              f"发送范围：{escape(audience)}\n接收人数：<b>{count:,}</b> 人（不含您自己）")
    return screen, [[Button("立即发送", SendDecision("now")), Button("定时发送", SendDecision("later"))],
                    [Button("取消", SendDecision("no"))]]


def progress(summary: Summary, finished: bool, cancelled: bool = False) -> str:
    """One line of bar and figures while sending; the counts when done, headed as what happened."""
    if not finished:
        filled = int(BAR_WIDTH * summary.done / summary.total) if summary.total else BAR_WIDTH
        bar = "▓" * filled + "░" * (BAR_WIDTH - filled)
        return f"📤 正在发送公告\n{bar} {summary.done:,}/{summary.total:,}"
    heading = (f"⛔ 公告已取消（共 {summary.total:,} 人）" if cancelled
               else f"✅ 公告发送完毕（共 {summary.total:,} 人）")
    lines = [heading, f"送达：{summary.sent:,}", f"已屏蔽机器人：{summary.blocked:,}", f"失败：{summary.failed:,}"]
    if summary.ambiguous:
        lines.append(f"不确定（发送时程序中断，未重发）：{summary.ambiguous:,}")
    if summary.cancelled:
        lines.append(f"已取消未发送：{summary.cancelled:,}")
    return "\n".join(lines)


def progress_keyboard(announcement_id: int) -> Keyboard:
    return [[Button("取消发送", CancelBroadcast(announcement_id))]]
