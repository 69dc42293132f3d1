"""Whatever no other handler took: non-text messages get a hint, unknown buttons a short answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.commands import sections_for
from bot.ui import menu as screens
from bot.ui.help import help_screen
from handlers.common import send, stale
from handlers.context import BotContext


async def non_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice, files in a private chat: say what the bot understands."""
    await send(update, screens.NON_TEXT_HINT, screens.main_menu_keyboard())


async def unknown_command(update: Update, context: BotContext) -> None:
    """A mistyped command: say so, with the help of what this person may do."""
    text, keyboard = help_screen(sections_for(context.services.roles.actor(update.effective_user.id)))
    await send(update, "没有这个命令。\n\n" + text, keyboard)


async def unknown_button(update: Update, context: BotContext) -> None:
    """A forged, outdated or foreign button: answer briefly, change nothing."""
    await stale(update)


def register(application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text))
    application.add_handler(CallbackQueryHandler(unknown_button))
