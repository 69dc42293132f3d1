"""A typed callback context so that handlers reach the services without globals."""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]


BotApplication = Application[ExtBot, BotContext, dict, dict, dict, object]
