"""Onboarding and the main menu: /start (with team deep links), registration, /me, /join, /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler,
                          filters)

from bot import quiz_screens, screens
from bot.accounts import REGIONS, ROLES, AccountError
from bot.render import as_int, escape, parse_callback
from bot.roles import ROLE_NAMES, InviteError
from handlers.common import send, show, stale
from handlers.context import BotContext

TEAM_PREFIX = "team_"
INVITE_PREFIX = "inv_"
CONTEST_PREFIX = "c_"
AWAIT_TEAM_CODE = 1


def _user(update: Update, context: BotContext) -> dict:
    sender = update.effective_user
    return context.services.accounts.touch(sender.id, sender.first_name, sender.username)


async def _continue_registration(update: Update, context: BotContext, user: dict) -> None:
    """Ask for whatever the user has not told us yet, or show the main menu."""
    if not user.get("region"):
        await show(update, screens.welcome_new_user(user.get("first_name") or ""), screens.region_picker())
    elif not user.get("role"):
        await show(update, screens.role_prompt(), screens.role_picker())
    else:
        await show(update, *screens.main_menu(user))


async def start(update: Update, context: BotContext) -> None:
    """/start [team_<code>]: greet, join a team from a deep link, continue registration or show the menu."""
    user = _user(update, context)
    payload = context.args[0] if context.args else ""
    if payload.startswith(INVITE_PREFIX):
        try:
            role, scope = context.services.roles.redeem(user, payload[len(INVITE_PREFIX):])
            await send(update, f"已获得权限：{escape(scope)} {ROLE_NAMES[role]}。在“我的”里可以找到相应功能。")
            user = context.services.accounts.get(user["id"])
        except InviteError as exc:
            await send(update, escape(str(exc)))
    elif payload.startswith(CONTEST_PREFIX) and as_int(payload[len(CONTEST_PREFIX):]) is not None:
        contest = context.services.storage.contest(as_int(payload[len(CONTEST_PREFIX):]))
        if contest is not None and context.services.accounts.is_registered(user):
            attempt = context.services.storage.attempt_of(contest["id"], user["id"])
            await send(update, *quiz_screens.contest_card(contest, context.services.contests.status(contest), attempt,
                                                          context.services.config.tz))
            return
    elif payload.startswith(TEAM_PREFIX):
        try:
            team = context.services.accounts.join_team(user["id"], payload[len(TEAM_PREFIX):])
            await send(update, screens.joined_team(team))
            user = context.services.accounts.get(user["id"])
        except AccountError as exc:
            await send(update, str(exc))
    await _continue_registration(update, context, user)


async def on_registration_button(update: Update, context: BotContext) -> int | None:
    """reg:region:<i> / reg:role:<key> / reg:skip: one registration step per press, saved at once."""
    query = update.callback_query
    parts = parse_callback(query.data)
    accounts = context.services.accounts
    user = _user(update, context)
    was_registered = accounts.is_registered(user)
    if parts[1:2] == ["region"] and len(parts) == 3 and parts[2].isdigit() and int(parts[2]) < len(REGIONS):
        accounts.set_region(user["id"], REGIONS[int(parts[2])][0])
    elif parts[1:2] == ["role"] and len(parts) == 3 and parts[2] in ROLES:
        accounts.set_role(user["id"], parts[2])
    elif parts[1:] == ["skip"]:
        await show(update, *screens.main_menu(user))
        await query.answer()
        return None
    else:
        await stale(update)
        return None
    user = accounts.get(user["id"])
    if was_registered:
        await show(update, *screens.profile(user, context.services.is_admin(user["id"]), context.services.is_organiser(user["id"])))
    elif accounts.is_registered(user) and not user.get("team_id"):
        await show(update, screens.registered(user))
        await send(update, *screens.team_prompt())
    elif accounts.is_registered(user):
        await show(update, screens.registered(user))
        await send(update, *screens.main_menu(user))
    else:
        await _continue_registration(update, context, user)
    # Answered last, so that whoever pressed (or a script) sees the reply once the button stops spinning.
    await query.answer("已保存")
    return None


async def ask_team_code(update: Update, context: BotContext) -> int:
    """reg:team, or /join without a code: wait for the code in the next message."""
    _user(update, context)
    await send(update, screens.team_code_request())
    if update.callback_query is not None:
        await update.callback_query.answer()
    return AWAIT_TEAM_CODE


async def receive_team_code(update: Update, context: BotContext) -> int:
    user = _user(update, context)
    try:
        team = context.services.accounts.join_team(user["id"], update.effective_message.text or "")
    except AccountError as exc:
        await send(update, str(exc) + "\n发送 /cancel 取消。")
        return AWAIT_TEAM_CODE
    await send(update, screens.joined_team(team))
    await _continue_registration(update, context, context.services.accounts.get(user["id"]))
    return ConversationHandler.END


async def join_command(update: Update, context: BotContext) -> int:
    """/join CODE joins at once; /join alone asks for the code."""
    if not context.args:
        return await ask_team_code(update, context)
    user = _user(update, context)
    try:
        team = context.services.accounts.join_team(user["id"], context.args[0])
    except AccountError as exc:
        await send(update, str(exc))
        return ConversationHandler.END
    await send(update, screens.joined_team(team))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    await send(update, "已取消。", screens.main_menu_keyboard())
    return ConversationHandler.END


async def me(update: Update, context: BotContext) -> None:
    """/me and 我的: show the registration with buttons to change it."""
    user = _user(update, context)
    if not context.services.accounts.is_registered(user):
        await _continue_registration(update, context, user)
        return
    await show(update, *screens.profile(user, context.services.is_admin(user["id"]), context.services.is_organiser(user["id"])))


async def on_profile_button(update: Update, context: BotContext) -> None:
    """me:region / me:role / me:leave."""
    query = update.callback_query
    action = parse_callback(query.data)[1:]
    user = _user(update, context)
    if action == ["region"]:
        await show(update, "请选择您所在的<b>市县</b>：", screens.region_picker())
        await query.answer()
    elif action == ["role"]:
        await show(update, screens.role_prompt(), screens.role_picker())
        await query.answer()
    elif action == ["leave"] and user.get("team_id"):
        context.services.accounts.leave_team(user["id"])
        await show(update, *screens.profile(context.services.accounts.get(user["id"]),
                                            context.services.is_admin(user["id"]),
                                            context.services.is_organiser(user["id"])))
        await query.answer("已退出团队")
    else:
        await stale(update)


async def on_menu_button(update: Update, context: BotContext) -> None:
    """menu:<item>: the main menu's buttons."""
    query = update.callback_query
    item = parse_callback(query.data)[1:]
    if item == ["me"]:
        await me(update, context)
    elif item == ["home"]:
        await show(update, *screens.main_menu(_user(update, context)))
    else:
        await stale(update)
        return
    await query.answer()


async def help_command(update: Update, context: BotContext) -> None:
    await send(update, screens.HELP_TEXT, screens.main_menu_keyboard())


def register(application) -> None:
    team_code = ConversationHandler(
        entry_points=[CallbackQueryHandler(ask_team_code, pattern=r"^reg:team$"),
                      CommandHandler("join", join_command)],
        states={AWAIT_TEAM_CODE: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_team_code)]},
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("start", start)],
        conversation_timeout=600,
        name="team_code",
    )
    application.add_handler(team_code)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("me", me))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("cancel", cancel))
    application.add_handler(CallbackQueryHandler(on_registration_button, pattern=r"^reg:"))
    application.add_handler(CallbackQueryHandler(on_profile_button, pattern=r"^me:"))
    application.add_handler(CallbackQueryHandler(on_menu_button, pattern=r"^menu:(me|home)$"))
