"""The commands each person may use, by role: one list feeds Telegram's "/" menu and the /help text.

Everyone sees the worker commands (the bot's default menu); organisers, bureaus and administrators get their own
menu in their private chat with the bot, the worker commands followed by theirs. Telegram's limits on the menu are
checked here too, so a list that Telegram would refuse fails a unit test, not the start of the bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.policy import BUREAU, ORGANISER, Actor, may_administer


@dataclass(frozen=True)
class Command:
    name: str         # without the slash
    description: str  # the "/" menu's line
    help: str = ""    # the /help line, when it needs more than the description

    @property
    def help_line(self) -> str:
        return self.help or self.description


@dataclass(frozen=True)
class Section:
    title: str
    commands: tuple[Command, ...]


WORKER = Section("常用命令", (
    Command("start", "主菜单"),
    Command("topics", "按分类浏览知识库"),
    Command("ask", "提问（群聊中使用）", "提问；私聊时直接打字即可，群聊中用 /ask 加问题"),
    Command("contest", "答题竞赛"),
    Command("rank", "竞赛排行榜"),
    Command("practice", "每日练习与错题本"),
    Command("notices", "公告"),
    Command("me", "我的信息：市县、身份、团队"),
    Command("join", "用团队码加入项目部", "团队码：加入项目部团队（如 /join AB34CD）"),
    Command("help", "使用说明"),
))
ORGANISER_SECTION = Section("竞赛组织者", (
    Command("contests", "竞赛管理：排行榜、导出、纠错反馈", "竞赛管理：排行榜、大屏、导出、纠错反馈、提前结束"),
    Command("newcontest", "新建竞赛", "新建竞赛（一步步设置时间、题数、团队排名人数）"),
))
BUREAU_SECTION = Section("住建局", (
    Command("announce", "发布公告", "向本市县（全省住建局可选市县）发布公告"),
    Command("scheduled", "待发送公告", "待发送公告：定时公告的时间、内容，或取消发送"),
    Command("reports", "信息报送", "信息报送：查看和提交报送任务"),
))
ADMIN_SECTION = Section("管理员", (
    Command("roles", "角色管理：邀请、撤销、审计日志"),
    Command("teams", "团队列表与团队码"),
    Command("newteam", "新建团队"),
    Command("reload", "重新加载知识库"),
))

# Telegram's limits on setMyCommands
MAX_COMMANDS = 100
NAME = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_DESCRIPTION = 256


def sections_for(actor: Actor) -> list[Section]:
    """What this person may do, worker commands first; administrators hold every role."""
    sections = [WORKER]
    if actor.holds(ORGANISER):
        sections.append(ORGANISER_SECTION)
    if actor.holds(BUREAU):
        sections.append(BUREAU_SECTION)
    if may_administer(actor):
        sections.append(ADMIN_SECTION)
    return sections


def commands_for(actor: Actor) -> list[Command]:
    """The person's "/" menu, in the order shown."""
    return [command for section in sections_for(actor) for command in section.commands]


def default_commands() -> list[Command]:
    """The menu of everyone without a role (Telegram's default scope)."""
    return list(WORKER.commands)


def has_own_menu(actor: Actor) -> bool:
    """Whether this person's chat needs a menu of its own rather than the default one."""
    return len(sections_for(actor)) > 1


def check_menu(commands: list[Command]) -> None:
    """Raise ValueError for a list Telegram's setMyCommands would refuse."""
    if len(commands) > MAX_COMMANDS:
        raise ValueError(f"{len(commands)} commands, Telegram takes at most {MAX_COMMANDS}")
    names = [command.name for command in commands]
    if len(set(names)) != len(names):
        raise ValueError(f"a command is listed twice: {names}")
    for command in commands:
        if not NAME.match(command.name):
            raise ValueError(f"/{command.name}: 1-32 characters of a-z, 0-9 and _")
        if not 1 <= len(command.description) <= MAX_DESCRIPTION:
            raise ValueError(f"/{command.name}: the description takes 1-{MAX_DESCRIPTION} characters")
