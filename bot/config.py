"""Configuration: read once from the environment (and an optional .env file) into a frozen object."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
SANDBOX_TOKEN = "123456:SANDBOX-qualitybot-local-token"
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Config:
    token: str | None = None
    db_path: Path = Path("data/qualitybot.db")
    knowledge_dir: Path = KNOWLEDGE_DIR
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8080
    webhook_url: str | None = None
    webhook_secret: str | None = None
    bot_api_url: str | None = None
    log_level: str = "INFO"
    public_url: str | None = None  # where people reach the web pages (the board); defaults to http://host:port
    broadcast_rate: float = 20.0  # messages per second for announcements, below Telegram's ~30 so replies keep room
    api_timeout: float = 10.0  # seconds to wait for a Bot API answer before the call counts as lost
    sandbox_public: bool = False  # QB_SANDBOX_PUBLIC: let the built-in sandbox listen beyond loopback (demos only)
    rate_limit: bool = True  # keep inside Telegram's flood limits; off only where a benchmark or crawler measures the bot
    web_channel: bool = True  # QB_WEB: the phone-browser chat at /m/ (bot/webchat)
    web_secret: str | None = None  # QB_WEB_SECRET: signs the web cookie; else one kept in a file beside the database

    @property
    def sandbox(self) -> bool:
        """True when the bot talks to the built-in Bot API sandbox instead of Telegram."""
        return self.token is None

    @property
    def embedded_sandbox(self) -> bool:
        """True when this process serves the sandbox itself (no token, no outside Bot API server)."""
        return self.sandbox and not self.bot_api_url

    @property
    def effective_token(self) -> str:
        return self.token or SANDBOX_TOKEN

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_url(self) -> str | None:
        """Bot API base URL for python-telegram-bot, or None for Telegram itself."""
        if self.bot_api_url:
            return self.bot_api_url.rstrip("/") + "/bot"
        if self.sandbox:
            return f"http://{self.host}:{self.port}/bot"
        return None

    @property
    def web_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def base_file_url(self) -> str | None:
        base = self.base_url
        return base[: -len("/bot")] + "/file/bot" if base else None


def sandbox_exposed(config: Config) -> bool:
    """Whether a sandbox served by this configuration would be reachable beyond this machine without being asked to.

    Its control API lets anyone act as any user; a container that sets QB_HOST=0.0.0.0 and forgot the token would
    otherwise offer it to the whole network.
    """
    loopback = config.host == "localhost" or ipaddress.ip_address(config.host).is_loopback
    return not loopback and not config.sandbox_public


def check_can_serve(config: Config) -> None:
    """`qualitybot run`: no built-in sandbox beyond this machine unless asked for in so many words."""
    if config.embedded_sandbox and sandbox_exposed(config):
        raise ConfigError(
            f"没有设置 TELEGRAM_BOT_TOKEN（token missing）。没有令牌时会启动内置沙箱，任何人都能通过它冒充任何用户，"
            f"所以沙箱只在本机地址上运行；QB_HOST={config.host} 不是本机地址。请设置 TELEGRAM_BOT_TOKEN，"
            "或仅在演示时设置 QB_SANDBOX_PUBLIC=1。")


def load_config(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Config:
    """Build the configuration; values in `environ` win over those in the .env file."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        return raw.strip() if raw is not None and raw.strip() else None

    token = get("TELEGRAM_BOT_TOKEN")
    if token is not None and not TOKEN_PATTERN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN: not a bot token (expected digits, a colon and the secret)")

    admin_ids: set[int] = set()
    for part in (get("QB_ADMIN_IDS") or "").replace(";", ",").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise ConfigError(f"QB_ADMIN_IDS: {part.strip()!r} is not a Telegram user id (comma-separated numbers)")
            admin_ids.add(int(part))

    timezone = get("QB_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"QB_TIMEZONE: unknown time zone {timezone!r} (e.g. Asia/Shanghai)") from None

    host = get("QB_HOST") or "127.0.0.1"
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"QB_HOST: {host!r} is not an IP address") from None

    port_text = get("QB_PORT") or "8080"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"QB_PORT: {port_text!r} is not a port number (1-65535)")

    webhook_url = get("QB_WEBHOOK_URL")
    webhook_secret = get("QB_WEBHOOK_SECRET")
    if webhook_url is not None:
        if not webhook_url.startswith("https://"):
            raise ConfigError("QB_WEBHOOK_URL: Telegram only delivers webhooks to https:// URLs")
        if token is None:
            raise ConfigError("QB_WEBHOOK_URL: webhook mode needs TELEGRAM_BOT_TOKEN")
        if webhook_secret is None or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret):
            raise ConfigError("QB_WEBHOOK_SECRET: required with QB_WEBHOOK_URL, 16-256 characters of A-Z a-z 0-9 _ -")

    bot_api_url = get("QB_BOT_API_URL")
    if bot_api_url is not None and not re.match(r"^https?://", bot_api_url):
        raise ConfigError("QB_BOT_API_URL: must start with http:// or https://")

    public_url = get("QB_PUBLIC_URL")
    if public_url is not None and not re.match(r"^https?://", public_url):
        raise ConfigError("QB_PUBLIC_URL: must start with http:// or https://")

    log_level = (get("QB_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("QB_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR")

    rate_text = get("QB_BROADCAST_RATE") or "20"
    try:
        broadcast_rate = float(rate_text)
    except ValueError:
        broadcast_rate = -1.0
    if not 0 < broadcast_rate <= 1000:
        raise ConfigError(f"QB_BROADCAST_RATE: {rate_text!r} is not a rate in messages per second (0-1000; "
                          "Telegram allows about 30)")

    timeout_text = get("QB_API_TIMEOUT") or "10"
    try:
        api_timeout = float(timeout_text)
    except ValueError:
        api_timeout = -1.0
    if not 1 <= api_timeout <= 120:
        raise ConfigError(f"QB_API_TIMEOUT: {timeout_text!r} is not a number of seconds (1-120)")

    sandbox_public_text = (get("QB_SANDBOX_PUBLIC") or "0").lower()
    if sandbox_public_text not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError("QB_SANDBOX_PUBLIC: 1 or 0")

    web_text = (get("QB_WEB") or "1").lower()
    if web_text not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError("QB_WEB: 1 (the web channel at /m/, the default) or 0")
    web_secret = get("QB_WEB_SECRET")
    if web_secret is not None and len(web_secret) < 32:
        raise ConfigError("QB_WEB_SECRET: at least 32 characters (it signs the web channel's cookies)")

    knowledge_dir = Path(get("QB_KNOWLEDGE_DIR") or KNOWLEDGE_DIR)
    if not knowledge_dir.is_dir():
        raise ConfigError(f"QB_KNOWLEDGE_DIR: {knowledge_dir} is not a directory")

    return Config(
        token=token,
        db_path=Path(get("QB_DB") or "data/qualitybot.db"),
        knowledge_dir=knowledge_dir,
        admin_ids=frozenset(admin_ids),
        timezone=timezone,
        host=host,
        port=int(port_text),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        bot_api_url=bot_api_url,
        log_level=log_level,
        broadcast_rate=broadcast_rate,
        api_timeout=api_timeout,
        public_url=public_url,
        sandbox_public=sandbox_public_text in ("1", "true", "yes"),
        web_channel=web_text in ("1", "true", "yes"),
        web_secret=web_secret,
    )
