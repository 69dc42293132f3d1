"""Administrators' team screens: the list with codes and join links, and the step-by-step creation of a team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.callbacks import Callback
from bot.render import Button, Keyboard, escape
from bot.ui.menu import home_row, region_picker


@dataclass(frozen=True)
class TeamList(Callback, prefix="tl", feature="teams"):
    pass


@dataclass(frozen=True)
class NewTeam(Callback, prefix="tn", feature="teams"):
    pass


@dataclass(frozen=True)
class TeamRegion(Callback, prefix="tr", feature="teams"):
    index: int


@dataclass(frozen=True)
class TeamSkip(Callback, prefix="ts", feature="teams"):
    pass


@dataclass(frozen=True)
class TeamConfirm(Callback, prefix="tc", feature="teams"):
    create: bool


SKIP = [[Button("跳过", TeamSkip())]]
LIST_LIMIT = 30


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=team_{code}"


def team_line(team: dict[str, Any], bot_username: str) -> str:
    parts = [f"<b>{escape(team['name'])}</b>", escape(team["region"])]
    if team.get("company"):
        parts.append(escape(team["company"]))
    if team.get("headcount"):
        parts.append(f"{team['headcount']} 人")
    link = deep_link(bot_username, team["code"])
    return "，".join(parts) + f"\n团队码：<code>{team['code']}</code>\n加入链接：{escape(link)}"


def team_list(teams: list[dict[str, Any]], bot_username: str) -> tuple[str, Keyboard]:
    keyboard = [[Button("新建团队", NewTeam())], home_row()]
    if not teams:
        return ("还没有团队。点“新建团队”创建，或用命令行 <code>qualitybot teams import 名册.xlsx</code> 批量导入。",
                keyboard)
    lines = [team_line(team, bot_username) for team in teams[:LIST_LIMIT]]
    more = f"\n\n……共 {len(teams)} 个团队，仅显示前 {LIST_LIMIT} 个。" if len(teams) > LIST_LIMIT else ""
    return "<b>团队列表</b>\n\n" + "\n\n".join(lines) + more, keyboard


def region_step() -> tuple[str, Keyboard]:
    return "请选择团队所属<b>市县</b>：", region_picker(TeamRegion)


def preview(draft: dict[str, Any]) -> tuple[str, Keyboard]:
    text = (f"<b>请确认新建团队</b>\n名称：{escape(draft['name'])}\n市县：{escape(draft['region'])}\n"
            f"施工单位：{escape(draft.get('company') or '未填')}\n人数：{draft.get('headcount') or '未填'}")
    return text, [[Button("确认创建", TeamConfirm(True)), Button("取消", TeamConfirm(False))]]


def created(team: dict[str, Any], bot_username: str) -> tuple[str, Keyboard]:
    return ("团队已创建，把团队码或加入链接发给项目部成员：\n\n" + team_line(team, bot_username),
            [[Button("再建一个", NewTeam()), Button("团队列表", TeamList())], home_row()])
