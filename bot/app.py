"""The application factory: the only place python-telegram-bot's builder is called."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any, Awaitable

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, ContextTypes
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.broadcasting import Broadcasting
from bot.callbacks import check_handlers
from bot.config import Config
from bot.ratelimit import SendBudget
from bot.services import Services
from bot.health import PollingHealth
from bot.transport import PollingRequest, RetryingRequest
from bot.webchat.channel import WebChannel, is_web_id
from bot.webchat.request import ChannelRequest

log = logging.getLogger(__name__)

# Our conversations mix text and button steps, so they are tracked per chat and user, not per message.
warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)

# Updates in progress at once, across all users; the rest wait their turn in python-telegram-bot's queue.
MAX_CONCURRENT_UPDATES = 512


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Different people's updates are handled at the same time; one person's updates in the order they came.

    Handled strictly one at a time, every reply would wait behind every other user's replies in the rate
    limiter's queue; handled freely in parallel, one user's two quick taps could race through a conversation.
    """

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._locks: dict[Any, asyncio.Lock] = {}
        self._queued: dict[Any, int] = {}

    @staticmethod
    def _key(update: object) -> Any:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return None  # anything else shares one queue

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:  # forget idle users, or 10,000 of them would each keep a lock
                del self._queued[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


async def _post_init(application: Application) -> None:
    """Runs once the bot is known (getMe succeeded), before updates arrive."""
    application.bot_data.services.bot_username = application.bot.username
    # features that must catch up after a restart (interrupted contest questions, for one) or send something first
    # (the "/" menu of each role, handlers.commands) registered these
    for hook in application.bot_data.on_start:
        await hook(application)
    await application.bot_data.broadcasting.start()
    log.info("Bot @%s ready", application.bot.username)


async def run_shutdown_hooks(application: Application) -> None:
    """Features that must wind down while the bot can still send (a running broadcast, for one)."""
    await application.bot_data.broadcasting.stop()
    for hook in application.bot_data.on_stop:
        await hook(application)


def build_application(config: Config, services: Services, request: BaseRequest | None = None,
                      health: PollingHealth | None = None, web: WebChannel | None = None) -> Application:
    """Build the Telegram application with every handler registered; the caller starts and stops it.

    `health` hears how each getUpdates call was answered, for /healthz; `web`, when given, takes the calls for its
    chats (bot/webchat) and hands the updates of web people to the application."""
    from handlers import register_all
    from handlers.common import markup
    from handlers.context import BotContext, BotData

    budget = SendBudget(bulk_per_second=config.broadcast_rate, enabled=config.rate_limit, exempt=is_web_id)
    builder = (
        ApplicationBuilder()
        .token(config.effective_token)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        # One send budget for the token: replies first, broadcasts with what is left, inside Telegram's limits.
        .rate_limiter(budget)
        .concurrent_updates(PerUserUpdateProcessor(MAX_CONCURRENT_UPDATES))
        .post_init(_post_init)
    )
    if config.base_url:
        builder = builder.base_url(config.base_url).base_file_url(config.base_file_url)
    if request is not None:
        builder = builder.request(ChannelRequest(request, web) if web else request).get_updates_request(request)
    else:
        sending = RetryingRequest(budget.pace_repeat, connection_pool_size=32, read_timeout=config.api_timeout,
                                  write_timeout=20)
        builder = builder.request(ChannelRequest(sending, web) if web else sending)
        if health is not None:
            builder = builder.get_updates_request(PollingRequest(health, read_timeout=config.api_timeout))
    application = builder.build()
    if web is not None:
        web.deliver = lambda update: application.update_queue.put(Update.de_json(update, application.bot))
    application.bot_data.services = services
    application.bot_data.broadcasting = Broadcasting(application.bot, services.announcements, config.broadcast_rate,
                                                     markup)
    register_all(application)
    for group in application.handlers.values():
        check_handlers(group)
    return application
