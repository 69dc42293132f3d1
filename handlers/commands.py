"""Telegram's "/" menu per role, and /help. What each role may use is decided in bot.commands; this module sends it.

The default menu (worker commands) is set at start; organisers, bureaus and administrators get a menu of their own
in their private chat, set at start and again whenever an invite grants a role or a role is revoked.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.commands import Command, commands_for, default_commands, has_own_menu, sections_for
from bot.roles import Roles
from bot.ui.help import help_screen
from handlers.common import send
from handlers.context import BotContext

log = logging.getLogger(__name__)


def _telegram(commands: list[Command]) -> list[BotCommand]:
    return [BotCommand(command.name, command.description) for command in commands]


async def help_command(update: Update, context: BotContext) -> None:
    """/help: the commands this person may use."""
    actor = context.services.roles.actor(update.effective_user.id)
    await send(update, *help_screen(sections_for(actor)))


async def update_menu(bot, roles: Roles, user_id: int) -> None:
    """Give this person's private chat the menu of their roles, or back the default one when they hold none."""
    actor = roles.actor(user_id)
    scope = BotCommandScopeChat(user_id)
    try:
        if has_own_menu(actor):
            await bot.set_my_commands(_telegram(commands_for(actor)), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # someone who never wrote to the bot has no chat with it yet
        log.info("Command menu of %s not updated: %s", user_id, exc)


async def publish_menus(application: Application) -> None:
    """At start: the default menu, each role holder's own, and from now on a new menu whenever roles change."""
    bot, roles = application.bot, application.bot_data.services.roles
    await bot.set_my_commands(_telegram(default_commands()), scope=BotCommandScopeDefault())
    for user_id in sorted(roles.menu_chats()):
        await update_menu(bot, roles, user_id)
    roles.on_change.append(lambda user_id: application.create_task(update_menu(bot, roles, user_id)))


def register(application) -> None:
    application.add_handler(CommandHandler("help", help_command))
    application.bot_data.on_start.append(publish_menus)
