"""The floor for benchmarks/update_cost.py: the least a python-telegram-bot bot can do for an update.

    .venv/bin/python benchmarks/_echo_bot.py BASE_URL TOKEN      # BASE_URL: http://HOST:PORT/bot

A message is answered with one sendMessage (its own text); a button press with answerCallbackQuery and one
sendMessage. Every reply carries two buttons, so that the driver always has something to press. Set up as the bot
is where it matters for a fair floor: updates handled concurrently, a pool of connections, long polling with the
same timeout, no rate limiter, no database, no logging.
"""

from __future__ import annotations

import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

BUTTONS = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a"),
                                 InlineKeyboardButton("B", callback_data="b")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message: send its text back."""
    await update.effective_chat.send_message(update.effective_message.text or "?", reply_markup=BUTTONS)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press: answer it, then send one message."""
    await update.callback_query.answer()
    await update.effective_chat.send_message(f"pressed {update.callback_query.data}", reply_markup=BUTTONS)


def main(argv: list[str]) -> int:
    base_url, token = argv
    application = (ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(True)
                   .connection_pool_size(32).build())
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    application.run_polling(allowed_updates=Update.ALL_TYPES, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
