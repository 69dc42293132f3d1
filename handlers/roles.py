"""Administrators grant and revoke roles with one-time invite links, and read the audit log."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.policy import PermissionDenied
from bot.roles import InviteError
from bot.ui import roles as screens
from handlers.common import on_button, refuse, send, show, stale
from handlers.context import BotContext


async def roles_menu(update: Update, context: BotContext, pressed: screens.RolesMenu | None = None) -> None:
    """/roles: invite, list and revoke, audit log."""
    try:
        context.services.roles.require_admin(update.effective_user.id)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.menu())
    if update.callback_query is not None:
        await update.callback_query.answer()


async def choose_scope(update: Update, context: BotContext, pressed: screens.InviteRole) -> None:
    """For which 市县 (or the province)."""
    await show(update, *screens.scope_step(pressed.role))
    await update.callback_query.answer()


async def choose_expiry(update: Update, context: BotContext, pressed: screens.InviteScope) -> None:
    if pressed.scope >= len(screens.SCOPES):
        await stale(update)
        return
    await show(update, *screens.expiry_step(pressed.role, pressed.scope))
    await update.callback_query.answer()


async def create_invite(update: Update, context: BotContext, pressed: screens.CreateInvite) -> None:
    if pressed.scope >= len(screens.SCOPES):
        await stale(update)
        return
    try:
        code = context.services.roles.create_invite(update.effective_user.id, pressed.role,
                                                    screens.SCOPES[pressed.scope], pressed.days)
    except (PermissionDenied, InviteError) as error:
        await refuse(update, error)
        return
    await update.callback_query.answer("已生成")
    link = screens.invite_link(context.bot.username, code)
    await show(update, *screens.invite_created(pressed.role, pressed.scope, pressed.days, link))


async def list_roles(update: Update, context: BotContext, pressed: screens.RoleHolders) -> None:
    """Everyone holding a role, with a revoke button each."""
    try:
        holders = context.services.roles.holders(update.effective_user.id)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.holders(holders))
    await update.callback_query.answer()


async def revoke_ask(update: Update, context: BotContext, pressed: screens.RevokeRole) -> None:
    """Confirm first."""
    try:
        context.services.roles.require_admin(update.effective_user.id)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.revoke_question(pressed.user, pressed.role))
    await update.callback_query.answer()


async def revoke_confirmed(update: Update, context: BotContext, pressed: screens.RevokeConfirmed) -> None:
    try:
        revoked = context.services.roles.revoke(update.effective_user.id, pressed.user, pressed.role)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.revoked(revoked))
    await update.callback_query.answer()


async def audit_log(update: Update, context: BotContext, pressed: screens.AuditLog) -> None:
    """The latest privileged actions."""
    try:
        entries = context.services.roles.audit_entries(update.effective_user.id, 30)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await send(update, *screens.audit(entries, context.services.config.tz))
    await update.callback_query.answer()


def register(application) -> None:
    application.add_handler(CommandHandler("roles", roles_menu))
    for kind, callback in [(screens.RolesMenu, roles_menu), (screens.InviteRole, choose_scope),
                           (screens.InviteScope, choose_expiry), (screens.CreateInvite, create_invite),
                           (screens.RoleHolders, list_roles), (screens.RevokeRole, revoke_ask),
                           (screens.RevokeConfirmed, revoke_confirmed), (screens.AuditLog, audit_log)]:
        application.add_handler(on_button(kind, callback))
