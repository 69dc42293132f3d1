"""待发送公告: a bureau's scheduled announcements, retimed, reworded or called off before they go out.

These handlers are steps of the announce conversation (handlers.announce), so that a press here ends a half-written
announcement cleanly and the new time or words typed next are never taken for an announcement's content.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import ConversationHandler

from bot.announcements import AnnouncementError
from bot.policy import PermissionDenied
from bot.render import escape
from bot.scheduled import TryAgain
from bot.ui import scheduled as screens
from bot.when import example_moment, local_text, parse_moment
from handlers.common import refuse, send, show
from handlers.context import BotContext

RETIME, REWORD = range(35, 37)
EDITING = "pending_announcement"  # user_data: the scheduled announcement whose new time or words are awaited


async def pending_list(update: Update, context: BotContext, pressed: screens.PendingList | None = None) -> int:
    """待发送公告: my scheduled announcements (an administrator's list holds everyone's)."""
    context.user_data.pop("announcement", None)
    context.user_data.pop(EDITING, None)
    services = context.services
    items = services.announcements.scheduled.pending(update.effective_user.id)
    await show(update, *screens.listing(items, services.config.tz, update.effective_user.id))
    if update.callback_query is not None:
        await update.callback_query.answer()
    return ConversationHandler.END


async def pending_action(update: Update, context: BotContext, pressed: screens.PendingAction) -> int:
    """One scheduled announcement: open it, ask for a new time or words, ask before cancelling, cancel."""
    query = update.callback_query
    context.user_data.pop("announcement", None)
    context.user_data.pop(EDITING, None)
    scheduled, tz = context.services.announcements.scheduled, context.services.config.tz
    user_id = update.effective_user.id
    try:
        if pressed.step == "confirm":
            scheduled.cancel(pressed.announcement, user_id)
            await show(update, *screens.cancelled())
            await query.answer("已取消")
            return ConversationHandler.END
        announcement = scheduled.get(pressed.announcement, user_id)
    except PermissionDenied as error:  # someone else's (a forged button): nothing changes
        await refuse(update, error)
        return ConversationHandler.END
    except AnnouncementError as error:  # started or cancelled meanwhile
        await show(update, *screens.refused(str(error)))
        await query.answer()
        return ConversationHandler.END
    await query.answer()
    if pressed.step == "time":
        example = example_moment(context.services.announcements.clock(), tz)
        await show(update, *screens.ask_time(announcement, tz, example))
        context.user_data[EDITING] = announcement["id"]
        return RETIME
    if pressed.step == "text":
        await show(update, *screens.ask_text(announcement))
        context.user_data[EDITING] = announcement["id"]
        return REWORD
    if pressed.step == "cancel":
        await show(update, *screens.confirm_cancel(announcement, tz))
    else:
        await show(update, *screens.detail(announcement, tz))
    return ConversationHandler.END


async def read_moment(update: Update, context: BotContext, or_else: str = "") -> datetime | None:
    """The time typed, read as bot.when reads it (when scheduling and when retiming); None after saying the format."""
    clock, tz = context.services.announcements.clock, context.services.config.tz
    moment = parse_moment(update.effective_message.text or "", clock(), tz)
    if moment is None:
        await send(update, f"时间格式不对，请按“明天上午9点”或“{example_moment(clock(), tz)}”发送{or_else}。")
    return moment


async def got_new_time(update: Update, context: BotContext) -> int:
    """The new time for a scheduled announcement."""
    tz = context.services.config.tz
    moment = await read_moment(update, context, "，或 /cancel 不修改")
    if moment is None:
        return RETIME
    try:
        announcement = context.services.announcements.scheduled.retime(
            context.user_data.get(EDITING, 0), update.effective_user.id, moment)
    except TryAgain as error:
        await send(update, escape(str(error)))
        return RETIME
    except (AnnouncementError, PermissionDenied) as error:
        context.user_data.pop(EDITING, None)
        await send(update, *screens.refused(str(error)))
        return ConversationHandler.END
    context.user_data.pop(EDITING, None)
    await send(update, *screens.detail(announcement, tz, f"已改为 {local_text(moment, tz)} 发送。"))
    return ConversationHandler.END


async def got_new_text(update: Update, context: BotContext) -> int:
    """New words for the announcement (its caption, when it carries a picture or file)."""
    try:
        announcement = context.services.announcements.scheduled.reword(
            context.user_data.get(EDITING, 0), update.effective_user.id, update.effective_message.text or "")
    except TryAgain as error:
        await send(update, escape(str(error)) + " 请重新发送，或 /cancel 不修改。")
        return REWORD
    except (AnnouncementError, PermissionDenied) as error:
        context.user_data.pop(EDITING, None)
        await send(update, *screens.refused(str(error)))
        return ConversationHandler.END
    context.user_data.pop(EDITING, None)
    await send(update, *screens.detail(announcement, context.services.config.tz, "内容已修改。"))
    return ConversationHandler.END


async def stop_editing(update: Update, context: BotContext) -> bool:
    """/cancel while a new time or words were awaited: nothing changes. False when nothing was being edited."""
    if context.user_data.pop(EDITING, None) is None:
        return False
    await send(update, "好的，没有修改，定时公告保持不变。", [[screens.LIST, screens.HOME]])
    return True
