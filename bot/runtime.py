"""The running process: one event loop shared by the web server (uvicorn) and the Telegram application."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from typing import Any, Callable
from urllib.parse import urlparse

import uvicorn
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.app import build_application, run_shutdown_hooks
from bot.config import Config, ConfigError
from bot.qa import KnowledgeService
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState
from bot.services import Services
from bot.files import ProcessLock, private_file
from bot.health import PollingHealth
from bot.storage import Storage, StorageError
from bot.web import build_web_app, webhook_route
from bot.webchat.channel import WebChannel
from bot.webchat.routes import WebIdentity, web_routes, web_secret
from bot.webpages import board_routes, sandbox_page_routes

log = logging.getLogger(__name__)

# Longer than the HTTP clients' own keep-alive (httpx: 5 s): were the server to close an idle connection
# just as a client reuses it, a send would fail without an answer and have to count as ambiguous.
KEEP_ALIVE_SECONDS = 75


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process's owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP, so that asyncio sets TCP_NODELAY on accepted connections (else every reply waits ~40 ms for an ACK)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"QB_PORT: cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class Runtime:
    """Starts and stops storage, web server (with the sandbox when there is no token) and the bot, in order."""

    def __init__(self, config: Config, customise: Callable[[Application], None] | None = None,
                 knowledge: KnowledgeService | None = None):
        self.config = config
        self.customise = customise
        self.knowledge = knowledge
        self.storage: Storage | None = None
        self.services: Services | None = None
        self.application: Application | None = None
        self.sandbox: SandboxState | None = None
        self.web: WebChannel | None = None
        self._server: _EmbeddedServer | None = None
        self._server_task: asyncio.Task | None = None
        self._lock = ProcessLock(config.db_path)
        self.polling = PollingHealth()

    @property
    def mode(self) -> str:
        if self.config.webhook_url:
            return "webhook"
        return "sandbox" if self.sandbox is not None else "polling"

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    async def start(self) -> None:
        config = self.config
        if not self._lock.acquire():  # held until stop, so that `restore` cannot pull the file from under us
            raise StorageError(f"{config.db_path}: another qualitybot process is running on this database")
        self.storage = Storage.open(config.db_path)
        self.services = Services.create(config, self.storage, self.knowledge)
        sock = bind_socket(config.host, config.port)
        self.config = config = dataclasses.replace(config, port=sock.getsockname()[1])
        self.services.config = config

        routes = board_routes(self.services)
        if config.embedded_sandbox:
            journal = private_file(config.db_path.with_name(config.db_path.name + ".sandbox.jsonl"))
            self.sandbox = SandboxState(journal)  # as strict as Telegram: its limits are on
            # the chat page exists only here: never when a real Telegram token is configured
            routes += sandbox_page_routes(self.services, self.sandbox)
            routes += SandboxServer(self.sandbox, config.effective_token).routes()
        if config.web_channel:
            self.web = WebChannel(private_file(config.db_path.with_name(config.db_path.name + ".web.jsonl")))
            identity = WebIdentity(config.web_secret or web_secret(config.db_path),
                                   secure=config.web_url.startswith("https://"))
            routes += web_routes(self.web, identity, lambda: self.services.bot_username,
                                 lambda token: self.services.accounts.redeem_web_link(token))
        if config.webhook_url:
            routes.append(webhook_route(urlparse(config.webhook_url).path or "/", config.webhook_secret,
                                        self._deliver))
        web = build_web_app(routes, self.health)
        self._server = _EmbeddedServer(uvicorn.Config(web, log_level="warning", lifespan="off",
                                                      timeout_graceful_shutdown=2,
                                                      timeout_keep_alive=KEEP_ALIVE_SECONDS))
        self._server_task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._server_task.done():
                self._server_task.result()
            await asyncio.sleep(0.01)

        self.application = build_application(config, self.services, health=self.polling, web=self.web)
        if self.customise is not None:
            self.customise(self.application)
        await self.application.initialize()
        await self.application.post_init(self.application)
        await self.application.start()
        if config.webhook_url:
            await self.application.bot.set_webhook(config.webhook_url, secret_token=config.webhook_secret,
                                                   allowed_updates=Update.ALL_TYPES)
        else:
            await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=10,
                                                         bootstrap_retries=5, error_callback=self._polling_error)
        if not config.sandbox and config.broadcast_rate > 30:
            log.warning("QB_BROADCAST_RATE=%s is above Telegram's limit of about 30 messages per second",
                        config.broadcast_rate)
        log.info("qualitybot running in %s mode on %s", self.mode, self.url)

    async def _deliver(self, body: dict[str, Any]) -> None:
        await self.application.update_queue.put(Update.de_json(body, self.application.bot))

    async def reload_knowledge(self) -> None:
        """SIGHUP: rebuild the index off the event loop; on problems keep serving the old one."""
        from bot.knowledge import KnowledgeError

        try:
            await asyncio.to_thread(self.services.knowledge.reload)
        except KnowledgeError as exc:
            log.error("Knowledge base reload refused, keeping the old index: %s", "; ".join(map(str, exc.problems[:5])))

    @staticmethod
    def _polling_error(error: TelegramError) -> None:
        """One line per failed getUpdates (python-telegram-bot would log a whole traceback each time)."""
        log.warning("Polling for updates failed: %s: %s", type(error).__name__, error)

    def health(self) -> dict[str, Any]:
        """ok only while updates can arrive: a rejected token or a second poller make it fail, so that the
        container's HEALTHCHECK or a supervisor restarts the bot (and an operator sees why)."""
        app = self.application
        problem = None if app is not None and app.running else "not running"
        if problem is None and self.mode != "webhook":
            problem = self.polling.problem()
        status: dict[str, Any] = {"ok": problem is None, "mode": self.mode}
        if problem:
            status["problem"] = problem
        return status

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, then close the web server and the database."""
        app = self.application
        for chats in (self.sandbox, self.web and self.web.state):
            if chats is not None:
                await chats.release_waiters()
        if app is not None:
            if app.updater is not None and app.updater.running:
                try:
                    await app.updater.stop()
                except TelegramError as exc:  # polling had already ended with this (a revoked token, say)
                    log.warning("Polling had stopped: %s", type(exc).__name__)
            if app.running:
                await run_shutdown_hooks(app)
                await app.stop()
            await app.shutdown()
        if self._server is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._server_task
        if self.sandbox is not None:
            self.sandbox.close()
        if self.web is not None:
            self.web.close()
        if self.storage is not None:
            self.storage.close()
        self._lock.release()
