"""Edited messages: every flow ignores them.

An edit arrives as an update of its own. Answered like a message, an edited question was answered twice and an edit
made during a wizard step was taken as the next step's input. What was already answered or recorded stays; a person
who wants to change something sends a new message (or /cancel in a wizard).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from handlers.context import BotContext

log = logging.getLogger(__name__)


async def ignore_edit(update: Update, context: BotContext) -> None:
    log.debug("Ignoring an edited message in chat %s", update.effective_chat.id if update.effective_chat else None)
    raise ApplicationHandlerStop


def register(application) -> None:
    # group -1 runs before every other group, so no conversation or command handler ever sees an edit
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, ignore_edit), group=-1)
