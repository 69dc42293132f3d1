"""The last line of defence: log the traceback, apologise to the user in Chinese, keep serving."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.ui.menu import GENERIC_ERROR
from handlers.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log every unhandled error; tell the affected user something went wrong, without internals."""
    error = context.error
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)) and not isinstance(update, Update):
        log.warning("Bot API unavailable while polling: %s", error)
        return
    log.error("Unhandled error while processing an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None or isinstance(error, Forbidden):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await update.effective_chat.send_message(GENERIC_ERROR)
    except Exception as exc:  # the apology itself may fail while Telegram is unreachable
        log.warning("Could not send the apology to chat %s: %s", update.effective_chat.id, exc)


def register(application) -> None:
    application.add_error_handler(on_error)
