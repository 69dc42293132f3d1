"""Administrators grant and revoke roles with one-time invite links, and read the audit log."""

from __future__ import annotations

import json
from datetime import datetime

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.accounts import REGIONS
from bot.render import Button, callback, escape, grid, parse_callback
from bot.roles import PROVINCE, ROLE_NAMES, PermissionDenied
from handlers.common import send, show, stale
from handlers.context import BotContext

SCOPES = [PROVINCE] + [full for full, _ in REGIONS]
EXPIRY_DAYS = [1, 7, 30]


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start=inv_{code}"


async def _refuse(update: Update, error: PermissionDenied) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(str(error), show_alert=True)
    else:
        await send(update, escape(str(error)))


async def roles_menu(update: Update, context: BotContext) -> None:
    """/roles: invite, list and revoke, audit log."""
    try:
        context.services.roles.require_admin(update.effective_user.id)
    except PermissionDenied as error:
        await _refuse(update, error)
        return
    keyboard = [[Button("生成住建局邀请", callback("ri", "bureau")), Button("生成组织者邀请", callback("ri", "organiser"))],
                [Button("角色列表 / 撤销", callback("rl")), Button("审计日志", callback("ra"))]]
    await show(update, "<b>角色管理</b>\n邀请链接一次有效，过期作废；被邀请人点开链接即获得对应权限。", keyboard)
    if update.callback_query is not None:
        await update.callback_query.answer()


async def choose_scope(update: Update, context: BotContext) -> None:
    """ri:<role>: for which 市县 (or the province)."""
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 2 or parts[1] not in ROLE_NAMES:
        await stale(update)
        return
    buttons = [Button(scope if scope == PROVINCE else scope[:4], callback("rs", parts[1], index))
               for index, scope in enumerate(SCOPES)]
    await show(update, f"{ROLE_NAMES[parts[1]]}邀请：适用范围？", grid(buttons, 4))
    await update.callback_query.answer()


async def choose_expiry(update: Update, context: BotContext) -> None:
    """rs:<role>:<scope index>"""
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or parts[1] not in ROLE_NAMES or not parts[2].isdigit() or int(parts[2]) >= len(SCOPES):
        await stale(update)
        return
    scope = SCOPES[int(parts[2])]
    keyboard = [[Button(f"{days} 天", callback("rc", parts[1], parts[2], days)) for days in EXPIRY_DAYS]]
    await show(update, f"{escape(scope)} {ROLE_NAMES[parts[1]]}邀请：链接有效期？", keyboard)
    await update.callback_query.answer()


async def create_invite(update: Update, context: BotContext) -> None:
    """rc:<role>:<scope index>:<days>"""
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit() or int(parts[2]) >= len(SCOPES):
        await stale(update)
        return
    scope = SCOPES[int(parts[2])]
    try:
        code = context.services.roles.create_invite(update.effective_user.id, parts[1], scope, int(parts[3]))
    except PermissionDenied as error:
        await _refuse(update, error)
        return
    except ValueError:
        await stale(update)
        return
    await show(update, f"{escape(scope)} {ROLE_NAMES[parts[1]]}邀请链接（{parts[3]} 天内有效，只能用一次）：\n"
               f"{escape(invite_link(context.bot.username, code))}")
    await query.answer("已生成")


async def list_roles(update: Update, context: BotContext) -> None:
    """rl: everyone holding a role, with a revoke button each."""
    try:
        context.services.roles.require_admin(update.effective_user.id)
    except PermissionDenied as error:
        await _refuse(update, error)
        return
    holders = context.services.storage.role_holders()
    lines = ["<b>角色列表</b>"] + [f"• {escape(h['first_name'] or h['user_id'])}（{h['user_id']}）："
                                   f"{escape(h['scope'])} {ROLE_NAMES.get(h['role'], h['role'])}" for h in holders]
    if not holders:
        lines.append("还没有人被授予角色。")
    keyboard = [[Button(f"撤销 {h['first_name'] or h['user_id']} 的{ROLE_NAMES.get(h['role'], h['role'])}",
                        callback("rv", h["user_id"], h["role"]))] for h in holders[:20]]
    await show(update, "\n".join(lines), keyboard)
    await update.callback_query.answer()


async def revoke_ask(update: Update, context: BotContext) -> None:
    """rv:<user>:<role>: confirm first."""
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ROLE_NAMES:
        await stale(update)
        return
    await show(update, f"确定撤销用户 {parts[1]} 的{ROLE_NAMES[parts[2]]}权限吗？",
               [[Button("确定撤销", callback("rV", parts[1], parts[2])), Button("取消", callback("rl"))]])
    await update.callback_query.answer()


async def revoke_confirmed(update: Update, context: BotContext) -> None:
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ROLE_NAMES:
        await stale(update)
        return
    try:
        revoked = context.services.roles.revoke(update.effective_user.id, int(parts[1]), parts[2])
    except PermissionDenied as error:
        await _refuse(update, error)
        return
    await show(update, "已撤销。" if revoked else "该用户已经没有这个权限。", [[Button("角色列表", callback("rl"))]])
    await update.callback_query.answer()


async def audit_log(update: Update, context: BotContext) -> None:
    """ra: the latest privileged actions."""
    try:
        context.services.roles.require_admin(update.effective_user.id)
    except PermissionDenied as error:
        await _refuse(update, error)
        return
    tz = context.services.config.tz
    lines = ["<b>审计日志</b>（最近 30 条）"]
    for entry in context.services.storage.audit_entries(30):
        at = datetime.fromisoformat(entry["at"]).astimezone(tz)
        detail = ", ".join(f"{k}={v}" for k, v in json.loads(entry["detail"]).items())
        lines.append(f"{at:%m-%d %H:%M} {entry['actor_id'] or '命令行'} {escape(entry['action'])} {escape(detail)}")
    await send(update, "\n".join(lines))
    await update.callback_query.answer()


def register(application) -> None:
    application.add_handler(CommandHandler("roles", roles_menu))
    for pattern, handler in [(r"^rm$", roles_menu), (r"^ri:", choose_scope), (r"^rs:", choose_expiry),
                             (r"^rc:", create_invite), (r"^rl$", list_roles), (r"^rv:", revoke_ask),
                             (r"^rV:", revoke_confirmed), (r"^ra$", audit_log)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
