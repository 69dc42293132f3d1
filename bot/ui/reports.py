"""信息报送 screens: the province's requests and the status table, a 市县 bureau's submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts import REGION_NAMES
from bot.callbacks import Callback
from bot.reports import RegionStatus
from bot.render import Button, Keyboard, escape
from bot.ui.menu import HOME, Menu, home_row, region_ticks
from bot.when import local_text

REPORTING_REGIONS = REGION_NAMES[:-1]  # 省直属 units do not report; every 市县 and 洋浦 does


@dataclass(frozen=True)
class ReportsMenu(Callback, prefix="rq", feature="reports"):
    pass


@dataclass(frozen=True)
class NewRequest(Callback, prefix="rn", feature="reports"):
    pass


@dataclass(frozen=True)
class RequestRegion(Callback, prefix="rg", feature="reports"):
    pick: str  # a 市县 index, "all" or "done"


@dataclass(frozen=True)
class RequestConfirm(Callback, prefix="ry", feature="reports"):
    create: bool


@dataclass(frozen=True)
class RequestStatus(Callback, prefix="rs", feature="reports"):
    request: int


@dataclass(frozen=True)
class DownloadReports(Callback, prefix="rz", feature="reports"):
    request: int


@dataclass(frozen=True)
class ChaseReports(Callback, prefix="rh", feature="reports"):
    """催报: remind the 市县 that have not submitted yet."""
    request: int


@dataclass(frozen=True)
class BeginSubmission(Callback, prefix="rb", feature="reports"):
    request: int


@dataclass(frozen=True)
class SubmitAsk(Callback, prefix="rx", feature="reports"):
    request: int


@dataclass(frozen=True)
class SubmitConfirmed(Callback, prefix="rX", feature="reports"):
    request: int


@dataclass(frozen=True)
class KeepEditing(Callback, prefix="rk", feature="reports"):
    request: int


@dataclass(frozen=True)
class DiscardDrafts(Callback, prefix="rd", feature="reports"):
    request: int


BACK = Button("« 信息报送", ReportsMenu())


def menu(scope: str, province: bool, requests: list[dict[str, Any]], submitted: set[int],
         tz: ZoneInfo) -> tuple[str, Keyboard]:
    if province:
        keyboard = [[Button(f"{r['title']}（截止 {local_text(r['deadline'], tz, '%m-%d %H:%M')}）",
                            RequestStatus(r["id"]))] for r in requests[:15]]
        keyboard.append([Button("➕ 新建报送要求", NewRequest())])
        text = "<b>信息报送</b>（省级）：点击查看各市县报送情况"
    else:
        keyboard = [[Button(("✅ " if r["id"] in submitted else "📝 ") + r["title"], BeginSubmission(r["id"]))]
                    for r in requests[:15]]
        text = f"<b>信息报送</b>（{escape(scope)}）" + ("" if requests else "\n暂无需要报送的事项。")
    return text, keyboard + [[Button("« 公告", Menu("notice")), HOME]]


def region_step(chosen: list[str]) -> tuple[str, Keyboard]:
    keyboard = region_ticks(RequestRegion, chosen, len(REPORTING_REGIONS), "全部市县")
    return f"第 4 步：哪些市县需要报送？已选 {len(chosen)} 个（不选即全部）。", keyboard


def request_preview(draft: dict[str, Any], regions: list[str], unreachable: list[str], tz: ZoneInfo) -> tuple[str, Keyboard]:
    deadline: datetime = draft["deadline"]
    text = (f"<b>请确认</b>\n标题：{escape(draft['title'])}\n要求：{escape(draft['instructions'])}\n"
            f"截止：{deadline.astimezone(tz):%Y-%m-%d %H:%M}\n报送单位：{len(regions)} 个市县")
    if unreachable:
        text += (f"\n⚠️ 这些市县还没有住建局用户，收不到通知：{escape('、'.join(unreachable))}。"
                 "可请管理员在“角色管理”里生成邀请。")
    return text, [[Button("确认发起", RequestConfirm(True)), Button("取消", RequestConfirm(False))]]


def status_table(request: dict[str, Any], rows: list[RegionStatus], unreachable: set[str],
                 tz: ZoneInfo) -> tuple[str, Keyboard]:
    done = sum(1 for r in rows if r.submitted_at)
    lines = [f"<b>{escape(request['title'])}</b>",
             f"截止：{local_text(request['deadline'], tz)}，已报送 {done}/{len(rows)}"]
    for row in rows:
        if row.submitted_at:
            lines.append(f"✅ {row.region} {local_text(row.submitted_at, tz, '%m-%d %H:%M')} "
                         f"{escape(row.submitted_by or '')}（{row.items} 项）")
        else:
            lines.append(f"❌ {row.region} 未报送" + ("（无住建局用户）" if row.region in unreachable else ""))
    keyboard = [[Button("下载全部材料（ZIP）", DownloadReports(request["id"]))]]
    if done < len(rows):
        keyboard.append([Button("催报未报送的市县", ChaseReports(request["id"]))])
    return "\n".join(lines), keyboard + [[BACK, HOME]]


def notice(request: dict[str, Any], heading: str, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """What a 市县 bureau receives: a new request, a reminder, a 催报."""
    text = (f"{heading}\n{escape(request['title'])}\n要求：{escape(request['instructions'])}\n"
            f"截止：{local_text(request['deadline'], tz)}")
    return text, [[Button("开始报送", BeginSubmission(request["id"]))]]


def submission_start(request: dict[str, Any], region: str, earlier: str | None, tz: ZoneInfo) -> tuple[str, Keyboard]:
    note = f"\n已于 {local_text(earlier, tz)} 报送过；重新提交会替换之前的材料。" if earlier else ""
    text = (f"<b>{escape(request['title'])}</b>（{escape(region)}）\n要求：{escape(request['instructions'])}\n"
            f"截止：{local_text(request['deadline'], tz)}{note}\n\n"
            "请发送文字、图片或文件，可以发多条；全部发完后点“提交”。")
    return text, collect_keyboard(request["id"])


def collect_keyboard(request_id: int) -> Keyboard:
    return [[Button("提交", SubmitAsk(request_id)), Button("清空重来", DiscardDrafts(request_id))]]


def submit_question(request_id: int) -> tuple[str, Keyboard]:
    return ("确认提交吗？提交后省住建厅即可查看；截止前可以重新提交（会替换本次材料）。",
            [[Button("确认提交", SubmitConfirmed(request_id)), Button("再改改", KeepEditing(request_id))]])


def submitted(count: int) -> tuple[str, Keyboard]:
    return f"✅ 已报送，共 {count} 项材料。", [[BACK, HOME]]


def created(request: dict[str, Any], notified: int) -> tuple[str, Keyboard]:
    return (f"已发起“{escape(request['title'])}”，已通知 {notified} 位市县住建局用户。",
            [[Button("查看报送情况", RequestStatus(request["id"]))], home_row()])
