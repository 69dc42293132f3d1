"""Onboarding and the main menu: /start (with team, invite and contest deep links), registration, /me, /join (/help is in
handlers.commands)."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import REGIONS, WEB_LINK_MINUTES, AccountError
from bot.render import as_int, escape
from bot.roles import ROLE_NAMES, InviteError
from bot.ui import contest as contest_screens
from bot.ui import menu as screens
from handlers import announce, ask, contest, practice
from handlers.common import markup, on_button, send, show, stale
from handlers.context import BotContext

TEAM_PREFIX = "team_"
INVITE_PREFIX = "inv_"
CONTEST_PREFIX = "c_"
PENDING_CONTEST = "contest_after_registration"
AWAIT_TEAM_CODE = 1


def _user(update: Update, context: BotContext) -> dict:
    sender = update.effective_user
    return context.services.accounts.touch(sender.id, sender.first_name, sender.username)


def _profile(context: BotContext, user: dict):
    services = context.services
    return screens.profile(user, services.roles.is_admin(user["id"]), services.roles.is_organiser(user["id"]),
                           services.profiles.stats(user["id"]), web=services.config.web_channel)


async def _registered(update: Update, context: BotContext, user: dict, say) -> None:
    """登记完成, then the card of the contest whose link brought the person here, if one did."""
    await say(update, *screens.registration_done(user))
    contest_id = context.user_data.pop(PENDING_CONTEST, None)
    card = context.services.contests.card(contest_id, user["id"]) if contest_id is not None else None
    if card is not None:
        await send(update, *contest_screens.contest_card(*card, context.services.config.tz))


async def _continue_registration(update: Update, context: BotContext, user: dict) -> None:
    """Ask for whatever the user has not told us yet, or show the main menu."""
    if not user.get("region"):
        await show(update, screens.welcome_new_user(user.get("first_name") or ""), screens.region_picker())
    elif not user.get("role"):
        await show(update, screens.role_prompt(), screens.role_picker())
    else:
        await show(update, *screens.main_menu(user))


async def start(update: Update, context: BotContext) -> None:
    """/start [team_<code> | inv_<code> | c_<contest>]: greet, act on the deep link, continue registration."""
    user = _user(update, context)
    payload = context.args[0] if context.args else ""
    services = context.services
    if payload.startswith(INVITE_PREFIX):
        try:
            role, scope = services.roles.redeem(user, payload[len(INVITE_PREFIX):])
            await send(update, f"已获得权限：{escape(scope)} {ROLE_NAMES[role]}。在“我的”里可以找到相应功能，"
                               "发送 /help 查看您可以使用的命令。")
            user = services.accounts.get(user["id"])
        except InviteError as exc:
            await send(update, escape(str(exc)))
    elif payload.startswith(CONTEST_PREFIX) and as_int(payload[len(CONTEST_PREFIX):]) is not None:
        card = services.contests.card(as_int(payload[len(CONTEST_PREFIX):]), user["id"])
        if card is not None and services.accounts.is_registered(user):
            await send(update, *contest_screens.contest_card(*card, services.config.tz))
            return
        if card is not None:  # scanned at the event before registering: the card follows registration
            context.user_data[PENDING_CONTEST] = card[0]["id"]
    elif payload.startswith(TEAM_PREFIX):
        try:
            team = services.accounts.join_team(user["id"], payload[len(TEAM_PREFIX):])
            await send(update, screens.joined_team(team))
            user = services.accounts.get(user["id"])
        except AccountError as exc:
            await send(update, escape(str(exc)))
    await _continue_registration(update, context, user)


async def _after_registration_step(update: Update, context: BotContext, was_registered: bool) -> None:
    """The next screen after a 市县 or 身份 was chosen: back to 我的 when changing it, else the next step; 登记完成
    is said once, at the end (a team joined by link has done the last step already)."""
    user = context.services.accounts.get(update.effective_user.id)
    accounts = context.services.accounts
    if was_registered:
        await show(update, *_profile(context, user))
    elif accounts.is_registered(user) and not user.get("team_id"):
        await show(update, *screens.team_prompt())
    elif accounts.is_registered(user):
        await _registered(update, context, user, show)
    else:
        await _continue_registration(update, context, user)


async def on_region(update: Update, context: BotContext, pressed: screens.PickRegion) -> None:
    """A 市县, saved at once."""
    if pressed.index >= len(REGIONS):
        await stale(update)
        return
    user = _user(update, context)
    was_registered = context.services.accounts.is_registered(user)
    context.services.accounts.set_region(user["id"], REGIONS[pressed.index][0])
    await _after_registration_step(update, context, was_registered)
    # answered last (quick work), so that whoever pressed sees the next screen once the button stops spinning
    await update.callback_query.answer("已保存")


async def on_role(update: Update, context: BotContext, pressed: screens.PickRole) -> None:
    """A 身份, saved at once."""
    user = _user(update, context)
    was_registered = context.services.accounts.is_registered(user)
    context.services.accounts.set_role(user["id"], pressed.role)
    await _after_registration_step(update, context, was_registered)
    await update.callback_query.answer("已保存")


async def on_skip_team(update: Update, context: BotContext, pressed: screens.SkipTeam) -> None:
    """暂不加入, the optional last step of registration."""
    await _registered(update, context, _user(update, context), show)
    await update.callback_query.answer()


async def on_start_registration(update: Update, context: BotContext, pressed: screens.StartRegistration) -> None:
    """开始登记, where something needs registration first."""
    await _continue_registration(update, context, _user(update, context))
    await update.callback_query.answer()


async def ask_team_code(update: Update, context: BotContext, pressed: screens.AskTeamCode | None = None) -> int:
    """加入/更换团队, 输入团队码 at registration, or /join without a code: wait for the code in the next message."""
    _user(update, context)
    context.user_data["registering"] = bool(pressed and pressed.registering)
    await send(update, screens.team_code_request())
    if update.callback_query is not None:
        await update.callback_query.answer()
    return AWAIT_TEAM_CODE


async def receive_team_code(update: Update, context: BotContext) -> int:
    user = _user(update, context)
    try:
        team = context.services.accounts.join_team(user["id"], update.effective_message.text or "")
    except AccountError as exc:
        await send(update, escape(str(exc)) + "\n发送 /cancel 取消。")
        return AWAIT_TEAM_CODE
    await send(update, screens.joined_team(team))
    user = context.services.accounts.get(user["id"])
    if context.user_data.pop("registering", False) and context.services.accounts.is_registered(user):
        await _registered(update, context, user, send)
    else:
        await _continue_registration(update, context, user)
    return ConversationHandler.END


async def join_command(update: Update, context: BotContext) -> int:
    """/join CODE joins at once; /join alone asks for the code."""
    if not context.args:
        return await ask_team_code(update, context)
    user = _user(update, context)
    try:
        team = context.services.accounts.join_team(user["id"], context.args[0])
    except AccountError as exc:
        await send(update, escape(str(exc)), screens.main_menu_keyboard())
        return ConversationHandler.END
    await send(update, screens.joined_team(team), screens.main_menu_keyboard())
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
    await show(update, *_profile(context, user))


async def on_profile(update: Update, context: BotContext, pressed: screens.ProfileAction) -> None:
    """修改市县 / 修改身份 / 退出团队."""
    query = update.callback_query
    user = _user(update, context)
    if pressed.action == "region":
        await show(update, "请选择您所在的<b>市县</b>：", screens.region_picker())
        await query.answer()
    elif pressed.action == "role":
        await show(update, screens.role_prompt(registering=False), screens.role_picker())
        await query.answer()
    elif pressed.action == "web":
        await query.answer()
        await web_link(update, context)
    elif user.get("team_id"):
        context.services.accounts.leave_team(user["id"])
        await show(update, *_profile(context, context.services.accounts.get(user["id"])))
        await query.answer("已退出团队")
    else:
        await stale(update)


async def web_link(update: Update, context: BotContext) -> None:
    """/web and 我的 → 在手机浏览器里也用这个账号: a one-time link; without a link preview, which would use it up."""
    services = context.services
    if not services.config.web_channel:
        await send(update, "这台服务器没有开启网页版。")
        return
    token = services.accounts.web_link(_user(update, context)["id"])
    text, keyboard = screens.web_link(f"{services.config.web_url}/m/link/{token}", WEB_LINK_MINUTES)
    await update.effective_chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=markup(keyboard),
                                             link_preview_options=LinkPreviewOptions(is_disabled=True))


async def on_menu(update: Update, context: BotContext, pressed: screens.Menu) -> None:
    """The main menu's buttons, and the 主菜单 button on every screen."""
    if pressed.item == "home":
        await show(update, *screens.main_menu(_user(update, context)))
        await update.callback_query.answer()
        return
    target = {"ask": ask.topics_command, "contest": contest.list_contests, "practice": practice.menu,
              "notice": announce.notices, "me": me}[pressed.item]
    await target(update, context)
    if pressed.item == "me":
        await update.callback_query.answer()


def register(application) -> None:
    team_code = ConversationHandler(
        entry_points=[on_button(screens.AskTeamCode, ask_team_code), CommandHandler("join", join_command)],
        states={AWAIT_TEAM_CODE: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_team_code)]},
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("start", start)],
        conversation_timeout=600, allow_reentry=True,
        name="team_code",
    )
    application.add_handler(team_code)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("me", me))
    application.add_handler(CommandHandler("web", web_link))
    application.add_handler(CommandHandler("cancel", cancel))
    for kind, callback in [(screens.PickRegion, on_region), (screens.PickRole, on_role),
                           (screens.SkipTeam, on_skip_team), (screens.StartRegistration, on_start_registration),
                           (screens.ProfileAction, on_profile),
                           (screens.Menu, on_menu)]:
        application.add_handler(on_button(kind, callback))
