"""Administrators' role screens: one-time invites (role, scope, expiry), the list of role holders, the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.accounts import REGIONS
from bot.callbacks import Callback
from bot.policy import PROVINCE
from bot.render import Button, Keyboard, escape, grid
from bot.roles import ROLE_NAMES
from bot.ui.menu import HOME, home_row
from bot.when import local_text

Role = Literal["bureau", "organiser"]
SCOPES = [PROVINCE] + [full for full, _ in REGIONS]
EXPIRY_DAYS = [1, 7, 30]


@dataclass(frozen=True)
class RolesMenu(Callback, prefix="rm", feature="roles"):
    pass


@dataclass(frozen=True)
class InviteRole(Callback, prefix="ri", feature="roles"):
    role: Role


@dataclass(frozen=True)
class InviteScope(Callback, prefix="re", feature="roles"):
    """The invite's 市县 (an index into SCOPES) is chosen; next, its expiry."""
    role: Role
    scope: int


@dataclass(frozen=True)
class CreateInvite(Callback, prefix="rc", feature="roles"):
    role: Role
    scope: int
    days: int


@dataclass(frozen=True)
class RoleHolders(Callback, prefix="rl", feature="roles"):
    pass


@dataclass(frozen=True)
class RevokeRole(Callback, prefix="rv", feature="roles"):
    """Asks for confirmation."""
    user: int
    role: Role


@dataclass(frozen=True)
class RevokeConfirmed(Callback, prefix="rV", feature="roles"):
    user: int
    role: Role


@dataclass(frozen=True)
class AuditLog(Callback, prefix="ra", feature="roles"):
    pass


BACK = Button("« 角色管理", RolesMenu())


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=inv_{code}"


def menu() -> tuple[str, Keyboard]:
    keyboard = [[Button("生成住建局邀请", InviteRole("bureau")), Button("生成组织者邀请", InviteRole("organiser"))],
                [Button("角色列表 / 撤销", RoleHolders()), Button("审计日志", AuditLog())], home_row()]
    return "<b>角色管理</b>\n邀请链接一次有效，过期作废；被邀请人点开链接即获得对应权限。", keyboard


def scope_step(role: Role) -> tuple[str, Keyboard]:
    buttons = [Button(scope if scope == PROVINCE else scope[:4], InviteScope(role, index))
               for index, scope in enumerate(SCOPES)]
    return f"{ROLE_NAMES[role]}邀请：适用范围？", grid(buttons, 4) + [[BACK]]


def expiry_step(role: Role, scope: int) -> tuple[str, Keyboard]:
    keyboard = [[Button(f"{days} 天", CreateInvite(role, scope, days)) for days in EXPIRY_DAYS], [BACK]]
    return f"{escape(SCOPES[scope])} {ROLE_NAMES[role]}邀请：链接有效期？", keyboard


def invite_created(role: Role, scope: int, days: int, link: str) -> tuple[str, Keyboard]:
    return (f"{escape(SCOPES[scope])} {ROLE_NAMES[role]}邀请链接（{days} 天内有效，只能用一次）：\n{escape(link)}\n"
            "被邀请人的权限以链接上的范围为准。", [[BACK, HOME]])


def holders(rows: list[dict[str, Any]]) -> tuple[str, Keyboard]:
    lines = ["<b>角色列表</b>"] + [f"• {escape(h['first_name'] or h['user_id'])}（{h['user_id']}）："
                                   f"{escape(h['scope'])} {ROLE_NAMES.get(h['role'], h['role'])}" for h in rows]
    if not rows:
        lines.append("还没有人被授予角色。")
    keyboard = [[Button(f"撤销 {h['first_name'] or h['user_id']} 的{ROLE_NAMES.get(h['role'], h['role'])}",
                        RevokeRole(h["user_id"], h["role"]))] for h in rows[:20]]
    return "\n".join(lines), keyboard + [[BACK, HOME]]


def revoke_question(user_id: int, role: Role) -> tuple[str, Keyboard]:
    return (f"确定撤销用户 {user_id} 的{ROLE_NAMES[role]}权限吗？",
            [[Button("确定撤销", RevokeConfirmed(user_id, role)), Button("取消", RoleHolders())]])


def revoked(done: bool) -> tuple[str, Keyboard]:
    return ("已撤销。" if done else "该用户已经没有这个权限。"), [[Button("角色列表", RoleHolders()), BACK]]


def audit(entries: list[dict[str, Any]], tz: ZoneInfo) -> tuple[str, Keyboard]:
    lines = ["<b>审计日志</b>（最近 30 条）"]
    for entry in entries:
        detail = ", ".join(f"{k}={v}" for k, v in json.loads(entry["detail"]).items())
        lines.append(f"{local_text(entry['at'], tz, '%m-%d %H:%M')} {entry['actor_id'] or '命令行'} "
                     f"{escape(entry['action'])} {escape(detail)}")
    return "\n".join(lines), [[BACK, HOME]]
