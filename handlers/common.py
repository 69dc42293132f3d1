"""Turning screens into Telegram messages: keyboards, replies, edits and answers to button presses."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import CallbackQueryHandler

from bot.callbacks import Callback

from bot.render import Keyboard, escape, split_message
from bot.transport import DeliveryUnknown
from bot.ui.menu import STALE_BUTTON

log = logging.getLogger(__name__)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.label, url=b.url) if b.url else
         InlineKeyboardButton(b.label, callback_data=b.callback_data) for b in row]
        for row in keyboard
    ])


def on_button(kind: type[Callback], callback: Callable[..., Awaitable[Any]]) -> CallbackQueryHandler:
    """A handler for one declared kind of button: `callback(update, context, pressed)` gets the unpacked data.
    Data that is not exactly of this kind never reaches it (it falls through to the stale-button answer)."""

    async def handle(update: Update, context: Any) -> Any:
        return await callback(update, context, kind.unpack(update.callback_query.data))

    handle.__qualname__ = handle.__name__ = callback.__name__
    return CallbackQueryHandler(handle, pattern=kind.matches)


async def send(update: Update, text: str, keyboard: Keyboard | None = None) -> Message:
    """Send HTML text to the update's chat, split to Telegram's limit; buttons go on the last part."""
    chat = update.effective_chat
    parts = split_message(text)
    message = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        message = await chat.send_message(part, parse_mode=ParseMode.HTML,
                                          reply_markup=markup(keyboard) if last else None)
    return message


async def show(update: Update, text: str, keyboard: Keyboard | None = None) -> None:
    """Replace the pressed message's content when answering a button; otherwise send a new message."""
    query = update.callback_query
    if query is not None and query.message is not None and len(text) <= 4096:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup(keyboard))
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
            raise
    await send(update, text, keyboard)


async def show_buttons(query, keyboard: Keyboard) -> None:
    """Replace the pressed message's buttons. Already showing them is fine: another edit of the same message
    (the ten-second warning, say) may have drawn the new state first."""
    try:
        await query.edit_message_reply_markup(markup(keyboard))
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise


async def toast(query, text: str) -> None:
    """Answer a press with a short notice. Losing it to a network error costs the user a toast, nothing more,
    so the work that follows goes on."""
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.warning("Could not answer the button press (%s): %s", type(exc).__name__, exc)


async def refuse(update: Update, error: Exception) -> None:
    """Tell the person why the core refused (the error's message is Chinese): an alert on a button, else a reply."""
    if update.callback_query is not None:
        await update.callback_query.answer(str(error), show_alert=True)
    else:
        await send(update, escape(str(error)))


async def stale(update: Update) -> None:
    """Tell the presser that a button no longer means anything; nothing is changed."""
    if update.callback_query is not None:
        await update.callback_query.answer(STALE_BUTTON)


QUESTION_SEND_TRIES = 3  # copies of a question whose sending was lost; only the first press counts


async def deliver_question(bot, chat_id: int, text: str, reply_markup) -> int | None:
    """The question's message id, or None when the network lost it; a Telegram refusal (blocked, bad request)
    is raised. A send whose answer was lost is sent again: two copies of a question do no harm, since only
    the first press counts, whereas a lost question would cost the participant its points."""
    for attempt in range(1, QUESTION_SEND_TRIES + 1):
        try:
            message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup)
            return message.message_id
        except DeliveryUnknown as exc:
            log.warning("Question to chat %s may not have arrived (try %d): %s", chat_id, attempt, exc)
        except (NetworkError, TimedOut) as exc:
            log.warning("Question to chat %s was not delivered (try %d): %s", chat_id, attempt, exc)
    return None


def ticked(context: Any, attempt_id: int, position: int) -> set[int]:
    """The options of a 多选 contest question ticked so far (displayed indexes), kept until it is submitted."""
    return context.user_data.setdefault("toggles", {}).setdefault((attempt_id, position), set())


async def tick(update: Update, context: Any, attempt_id: int, position: int, option: int):
    """Tick or untick an option of the 多选 contest question the person is at: (the question, the ticked options),
    or None when the press is for a question answered or gone (it is told so)."""
    shown = context.services.contests.current_question(attempt_id, update.effective_user.id)
    if shown is None or shown.position != position or not 0 <= option < len(shown.options):
        await update.callback_query.answer("这道题已经作答或已过期。")
        return None
    options = ticked(context, attempt_id, position)
    options.symmetric_difference_update({option})
    return shown, options
