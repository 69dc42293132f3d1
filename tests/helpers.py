"""Shared fakes and factories: a client for the sandbox's control API and a running bot to drive."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import httpx

from bot.config import Config
from bot.runtime import Runtime, bind_socket

ADMIN_ID = 9000


def free_port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    return replace(Config(db_path=tmp_path / "bot.db", port=0, admin_ids=frozenset({ADMIN_ID})), **overrides)


class SandboxClient:
    """Drives the sandbox exactly as docs/sandbox.md describes, as an outside acceptance script would."""

    def __init__(self, base_url: str):
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def user(self, user_id: int, first_name: str, username: str | None = None, started: bool = False) -> dict:
        """A Telegram user; `started`: they opened the chat with the bot earlier (else the bot cannot write first)."""
        response = await self.http.post("/sandbox/users", json={"id": user_id, "first_name": first_name,
                                                                 "username": username, "started": started})
        response.raise_for_status()
        return response.json()["user"]

    async def send(self, user_id: int, text: str | None = None, **extra: Any) -> dict:
        body = {"user_id": user_id, **extra}
        if text is not None:
            body["text"] = text
        response = await self.http.post("/sandbox/send", json=body)
        response.raise_for_status()
        return response.json()

    async def press(self, user_id: int, label: str, **extra: Any) -> httpx.Response:
        return await self.http.post("/sandbox/press", json={"user_id": user_id, "text": label, **extra})

    async def messages(self, chat_id: int, after: int = 0, wait: float = 0) -> list[dict]:
        response = await self.http.get("/sandbox/messages", params={"chat_id": chat_id, "after": after, "wait": wait})
        response.raise_for_status()
        return response.json()["messages"]

    async def wait_for(self, chat_id: int, predicate: Callable[[dict], bool], after: int = 0,
                       timeout: float = 10) -> dict:
        """The first bot message after `after` (edits included) that satisfies the predicate."""
        deadline = time.monotonic() + timeout
        while True:
            for message in await self.messages(chat_id, after):
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                seen = [m.get("text") or m.get("caption") for m in await self.messages(chat_id, after)]
                raise AssertionError(f"no matching message in chat {chat_id} after {after}; saw {seen}")
            await asyncio.sleep(0.05)

    async def wait_text(self, chat_id: int, fragment: str, after: int = 0, timeout: float = 10) -> dict:
        return await self.wait_for(chat_id, lambda m: fragment in (m.get("text") or m.get("caption") or ""),
                                   after, timeout)

    async def last_id(self, chat_id: int) -> int:
        messages = await self.messages(chat_id)
        return max((m["message_id"] for m in messages), default=0)

    async def fault(self, **fault: Any) -> None:
        response = await self.http.post("/sandbox/faults", json=fault)
        response.raise_for_status()

    async def state(self) -> dict:
        return (await self.http.get("/sandbox/state")).json()


def has_button(label: str) -> Callable[[dict], bool]:
    return lambda message: any(label in button for row in message["buttons"] for button in row)


class RunningBot:
    """A Runtime plus its sandbox client; `restart` stops and starts the process's parts on the same files."""

    def __init__(self, config: Config, knowledge, customise=None):
        self.config = config
        self.knowledge = knowledge
        self.customise = customise
        self.runtime: Runtime | None = None
        self.client: SandboxClient | None = None

    async def start(self) -> "RunningBot":
        self.runtime = Runtime(self.config, customise=self.customise, knowledge=self.knowledge)
        await self.runtime.start()
        self.client = SandboxClient(self.runtime.url)
        return self

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.runtime is not None:
            await self.runtime.stop()
        self.runtime = self.client = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def storage(self):
        return self.runtime.storage
