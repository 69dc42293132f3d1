"""公告: bureaus compose and broadcast announcements; people read them, choose what they get, unsubscribe."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import (Application, ChatMemberHandler, CommandHandler, ConversationHandler, MessageHandler,
                          filters)

from bot.announcements import AnnouncementError, Draft, Media
from bot.accounts import REGION_NAMES, pick_regions
from bot.policy import BUREAU, PROVINCE, PermissionDenied
from bot.render import escape
from bot.ui import announce as screens
from bot.ui import scheduled as pending_screens
from bot.ui.menu import main_menu_keyboard
from bot.when import example_moment
from handlers import scheduled as pending
from handlers.common import on_button, refuse, send, show, stale
from handlers.context import BotContext

log = logging.getLogger(__name__)
COMPOSE, AUDIENCE, ROLE, PREVIEW, SCHEDULE = range(30, 35)


# --- reading, unsubscribing, settings -------------------------------------------------------------------

async def notices(update: Update, context: BotContext) -> None:
    """公告 in the main menu: recent announcements for me, settings, and publishing for bureaus."""
    services = context.services
    user = services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                   update.effective_user.username)
    items = services.announcements.for_user(user["id"])
    await show(update, *screens.notices(user.get("region"), items, services.config.tz,
                                        services.roles.is_bureau(user["id"])))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def view(update: Update, context: BotContext, pressed: screens.ViewNotice) -> None:
    """One announcement, for the people it was addressed to."""
    try:
        announcement = context.services.announcements.readable(pressed.announcement, update.effective_user.id)
    except PermissionDenied:
        await stale(update)
        return
    await update.callback_query.answer()
    await context.application.bot_data.broadcasting.show(update.effective_chat.id, announcement,
                                                            [[screens.BACK]])


async def settings(update: Update, context: BotContext, pressed: screens.NoticeSettings) -> None:
    """What the user receives."""
    user_id = update.effective_user.id
    services = context.services
    services.accounts.touch(user_id, update.effective_user.first_name, update.effective_user.username)
    await show(update, *screens.settings(services.accounts.get(user_id), services.practice.daily_on(user_id)))
    await update.callback_query.answer()


async def toggle(update: Update, context: BotContext, pressed: screens.ToggleSubscription) -> None:
    services = context.services
    user = services.accounts.get(update.effective_user.id)
    if user is None:
        await stale(update)
        return
    services.announcements.toggle_subscription(user["id"], pressed.kind)
    await show(update, *screens.settings(services.accounts.get(user["id"]), services.practice.daily_on(user["id"])))
    await update.callback_query.answer("已更新")


async def unsubscribe(update: Update, context: BotContext, pressed: screens.Unsubscribe) -> None:
    """退订 under an announcement: ask once (a new message, so the announcement itself stays readable)."""
    await send(update, *screens.unsubscribe_question(pressed.kind))
    await update.callback_query.answer()


async def unsubscribe_confirmed(update: Update, context: BotContext, pressed: screens.UnsubscribeConfirmed) -> None:
    services = context.services
    services.accounts.touch(update.effective_user.id, update.effective_user.first_name, update.effective_user.username)
    services.announcements.subscribe(update.effective_user.id, pressed.kind, False)
    await show(update, *screens.unsubscribed(pressed.kind))
    await update.callback_query.answer("已退订")


async def resubscribe(update: Update, context: BotContext, pressed: screens.Resubscribe) -> None:
    context.services.announcements.subscribe(update.effective_user.id, pressed.kind, True)
    await show(update, f"已恢复接收{screens.KIND_NAMES[pressed.kind]}。", main_menu_keyboard())
    await update.callback_query.answer("已恢复接收")


async def member_changed(update: Update, context: BotContext) -> None:
    """The user blocked (kicked) or unblocked the bot: stop or resume sending to them at once."""
    change = update.my_chat_member
    if change.chat.type != "private":
        return
    active = change.new_chat_member.status not in (ChatMember.BANNED, ChatMember.LEFT)
    context.services.accounts.set_active(change.from_user.id, active)


# --- composing ---------------------------------------------------------------------------------------

def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("announcement", {})


async def compose_start(update: Update, context: BotContext, pressed: screens.Compose | None = None) -> int:
    """发布公告 and /announce: bureau users only."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    scope = context.services.roles.scope(update.effective_user.id, BUREAU)
    if scope is None:
        await send(update, "只有住建局用户可以发布公告。", main_menu_keyboard())
        return ConversationHandler.END
    context.user_data["announcement"] = {"scope": scope}
    await send(update, *screens.compose_intro())
    return COMPOSE


async def got_content(update: Update, context: BotContext) -> int:
    message = update.effective_message
    draft = _draft(context)
    if message.photo:
        photo = message.photo[-1]
        draft["media"], draft["text"] = Media("photo", photo.file_id, None, photo.file_size), message.caption or ""
    elif message.document:
        document = message.document
        draft["media"] = Media("document", document.file_id, document.file_name, document.file_size)
        draft["text"] = message.caption or ""
    else:
        draft["media"], draft["text"] = None, message.text or ""
    try:
        context.services.announcements.validate(update.effective_user.id, Draft(draft["text"], draft["media"], []))
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, escape(str(error)) + " 请重新发送，或 /cancel 取消。")
        return COMPOSE
    if draft["scope"] == PROVINCE:
        draft["regions"] = []
        await send(update, *screens.region_step(draft["regions"]))
        return AUDIENCE
    draft["regions"] = [draft["scope"]]
    await send(update, *screens.role_step())
    return ROLE


async def got_region(update: Update, context: BotContext, pressed: screens.AudienceRegion) -> int:
    query = update.callback_query
    draft = _draft(context)
    if pressed.pick == "done":
        if not draft["regions"]:
            await query.answer("请至少选择一个市县。")
            return AUDIENCE
        await send(update, *screens.role_step())
        await query.answer()
        return ROLE
    if not pick_regions(draft["regions"], pressed.pick, REGION_NAMES):
        await stale(update)
        return AUDIENCE
    await show(update, *screens.region_step(draft["regions"]))
    await query.answer()
    return AUDIENCE


def _as_draft(draft: dict) -> Draft:
    return Draft(draft["text"], draft.get("media"), draft["regions"], draft.get("role"))


async def got_role(update: Update, context: BotContext, pressed: screens.AudienceRole) -> int:
    draft = _draft(context)
    draft["role"] = None if pressed.role == "all" else pressed.role
    await update.callback_query.answer()
    try:
        count = len(context.services.announcements.recipients(update.effective_user.id, _as_draft(draft)))
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, escape(str(error)), main_menu_keyboard())
        return ConversationHandler.END
    media = draft["media"].kind if draft.get("media") else None
    text, keyboard = screens.preview(draft["text"], media, draft["regions"], draft.get("role"), count)
    if count == 0:
        context.user_data.pop("announcement", None)
        await send(update, text + "\n\n所选范围内没有可以接收公告的用户，没有发送。", main_menu_keyboard())
        return ConversationHandler.END
    await send(update, text, keyboard)
    return PREVIEW


async def _create(update: Update, context: BotContext, scheduled_at) -> int:
    draft = context.user_data.pop("announcement", None)
    if not draft:
        return ConversationHandler.END
    broadcasting = context.application.bot_data.broadcasting
    try:
        announcement = context.services.announcements.create(
            update.effective_user.id, _as_draft(draft), scheduled_at, progress_chat_id=update.effective_chat.id)
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, f"没有发送：{escape(str(error))}", main_menu_keyboard())
        return ConversationHandler.END
    if scheduled_at is None:
        await broadcasting.launch(announcement["id"])
    else:
        await send(update, *pending_screens.scheduled(scheduled_at, context.services.config.tz))
    return ConversationHandler.END


async def got_decision(update: Update, context: BotContext, pressed: screens.SendDecision) -> int:
    await update.callback_query.answer()
    if pressed.choice == "now":
        return await _create(update, context, None)
    if pressed.choice == "later":
        example = example_moment(context.services.announcements.clock(), context.services.config.tz)
        await send(update, f"请发送发送时间，如“明天上午9点”或“{example}”（北京时间）。")
        return SCHEDULE
    context.user_data.pop("announcement", None)
    await send(update, "已取消，公告没有发送。", main_menu_keyboard())
    return ConversationHandler.END


async def got_schedule(update: Update, context: BotContext) -> int:
    moment = await pending.read_moment(update, context)
    if moment is None:
        return SCHEDULE
    if moment <= context.services.announcements.clock():
        await send(update, "这个时间已经过去了，请发送以后的时间。")
        return SCHEDULE
    return await _create(update, context, moment)


async def cancel_compose(update: Update, context: BotContext) -> int:
    if await pending.stop_editing(update, context):  # a new time or new words for a scheduled one were awaited
        return ConversationHandler.END
    context.user_data.pop("announcement", None)
    await send(update, "已取消，公告没有发送。", main_menu_keyboard())
    return ConversationHandler.END


async def cancel_broadcast(update: Update, context: BotContext, pressed: screens.CancelBroadcast) -> None:
    """Stop a running broadcast (the author or an administrator)."""
    try:
        summary = context.services.announcements.cancel(pressed.announcement, update.effective_user.id)
    except (AnnouncementError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await show(update, screens.progress(summary, finished=True, cancelled=True))
    await update.callback_query.answer("已取消")


# --- background work -----------------------------------------------------------------------------------

async def start_due(context: BotContext) -> None:
    """Every 30 s: scheduled announcements whose time has come."""
    broadcasting = context.application.bot_data.broadcasting
    for announcement_id in context.application.bot_data.services.announcements.start_due():
        await broadcasting.launch(announcement_id)


async def daily_tip(context: BotContext) -> None:
    """Once a day: a knowledge card to everyone who keeps 小贴士 on."""
    tip = context.application.bot_data.services.announcements.daily_tip(screens.tip_text)
    if tip is not None:
        await context.application.bot_data.broadcasting.launch(tip["id"])


async def _schedule(application: Application) -> None:
    services = application.bot_data.services
    application.job_queue.run_repeating(start_due, interval=30, first=3, name="scheduled-announcements")
    application.job_queue.run_daily(daily_tip, services.announcements.TIP_TIME.replace(tzinfo=services.config.tz),
                                    name="daily-tip")


def register(application) -> None:
    content = (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL
    application.add_handler(ConversationHandler(
        # 待发送公告 is part of the conversation: a press there ends a half-written announcement, and the time or
        # words typed next are read as such, never as an announcement's content
        entry_points=[on_button(screens.Compose, compose_start), CommandHandler("announce", compose_start),
                      on_button(pending_screens.PendingList, pending.pending_list),
                      CommandHandler("scheduled", pending.pending_list),
                      on_button(pending_screens.PendingAction, pending.pending_action)],
        states={
            COMPOSE: [MessageHandler(content, got_content)],
            AUDIENCE: [on_button(screens.AudienceRegion, got_region)],
            ROLE: [on_button(screens.AudienceRole, got_role)],
            PREVIEW: [on_button(screens.SendDecision, got_decision)],
            SCHEDULE: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_schedule)],
            pending.RETIME: [MessageHandler(filters.TEXT & ~filters.COMMAND, pending.got_new_time)],
            pending.REWORD: [MessageHandler(filters.TEXT & ~filters.COMMAND, pending.got_new_text)],
        },
        fallbacks=[CommandHandler("cancel", cancel_compose)],
        conversation_timeout=1800, allow_reentry=True,
        name="announce",
    ))
    application.add_handler(CommandHandler("notices", notices))
    for kind, callback in [(screens.ViewNotice, view), (screens.NoticeSettings, settings),
                           (screens.ToggleSubscription, toggle), (screens.Unsubscribe, unsubscribe),
                           (screens.UnsubscribeConfirmed, unsubscribe_confirmed), (screens.Resubscribe, resubscribe),
                           (screens.CancelBroadcast, cancel_broadcast)]:
        application.add_handler(on_button(kind, callback))
    application.add_handler(ChatMemberHandler(member_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.bot_data.on_start.append(_schedule)
