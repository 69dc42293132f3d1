"""Groups see only what is fit for a group: answers to questions and rankings.

Personal and privileged screens (registration, 我的, practice, contests, team codes, roles, announcements, 信息报送)
are shown in a private chat only. In a group, their commands and buttons get one line that says so, with a button
that opens the private chat.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, filters

from bot.callbacks import Callback
from bot.ui import ask, contest
from handlers.context import BotContext

PRIVATE_COMMANDS = ["start", "me", "web", "join", "practice", "contest", "contests", "newcontest", "notices", "announce",
                    "scheduled", "reports", "roles", "teams", "newteam", "reload"]
GROUP_BUTTONS: tuple[type[Callback], ...] = (ask.OpenTopic, ask.OpenSection, ask.Feedback, ask.NoneOfThese,
                                             ask.Categories, ask.Category, contest.Ranking, contest.RankingPicture)
PRIVATE_ONLY = "这个功能只在与我的私聊中使用，以免个人信息和团队码出现在群里。"




async def command_in_group(update: Update, context: BotContext) -> None:
    button = InlineKeyboardButton("私聊质量通", url=f"https://t.me/{context.bot.username}?start")
    await update.effective_chat.send_message(PRIVATE_ONLY, reply_markup=InlineKeyboardMarkup([[button]]))
    raise ApplicationHandlerStop


async def button_in_group(update: Update, context: BotContext) -> None:
    await update.callback_query.answer(PRIVATE_ONLY, show_alert=True)
    raise ApplicationHandlerStop


def register(application) -> None:
    groups = filters.ChatType.GROUPS
    # group -1: before every feature's own handlers, so none of them ever draws a private screen in a group
    application.add_handler(CommandHandler(PRIVATE_COMMANDS, command_in_group, filters=groups), group=-1)
    application.add_handler(PrivateButtonInGroup(button_in_group), group=-1)


class PrivateButtonInGroup(BaseHandler[Update, BotContext, None]):
    """A button pressed in a group that is not one of the few fit for a group."""

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.callback_query is None or update.effective_chat is None:
            return False
        data = update.callback_query.data
        return update.effective_chat.type != "private" and not any(kind.matches(data) for kind in GROUP_BUTTONS)
