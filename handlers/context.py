"""What handlers reach besides the update: the services, the broadcasts, and the hooks run at start and stop.

python-telegram-bot builds `bot_data` from the class given to ContextTypes, so these are typed attributes instead of
string keys that a typo would silently miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

from telegram.ext import Application, CallbackContext, ExtBot

from bot.broadcasting import Broadcasting
from bot.services import Services

Hook = Callable[[Application], Awaitable[None]]


@dataclass
class BotData:
    services: Services | None = None          # set by bot.app.build_application
    broadcasting: Broadcasting | None = None  # likewise, once the Bot exists
    on_start: list[Hook] = field(default_factory=list)  # after getMe, before updates arrive (timers, catch-up)
    on_stop: list[Hook] = field(default_factory=list)   # while the bot can still send (running broadcasts)
    live_panels: dict[int, set[tuple[int, int]]] = field(default_factory=dict)  # live contest → host panels shown


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def broadcasting(self) -> Broadcasting:
        return self.bot_data.broadcasting


BotApplication = Application[ExtBot, BotContext, dict, dict, BotData, object]
