"""Shared fakes and factories: a client for the sandbox's control API and a running bot to drive."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

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

    async def press_exactly(self, user_id: int, label: str, message: dict) -> httpx.Response:
        """Press the button labelled exactly `label` on `message` (press() takes the first label that contains
        it, which may be an option such as "淋水结束后…")."""
        row, column = next((r, c) for r, labels in enumerate(message["buttons"]) for c, text in enumerate(labels)
                           if text == label)
        return await self.press(user_id, label, message_id=message["message_id"], row=row, column=column)

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


async def eventually(condition: Callable[[], bool], timeout: float = 10, what: str = "the condition") -> None:
    """Wait until `condition()` holds (checked every 20 ms), instead of sleeping a guessed time and hoping."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.02)


class Clock:
    """A datetime clock the test moves by hand (services take `clock=`)."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)


class Monotonic:
    """A time.monotonic() the test moves by hand (rate limiters, health)."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


# --- the bot and the sandbox as processes, as an operator starts them -------------------------------

def start_bot_process(tmp_path, port):
    """`python -m bot run` with a database in tmp_path, returned once /healthz answers ok."""
    env = {**os.environ, "QB_DB": str(tmp_path / "bot.db"), "QB_PORT": str(port), "QB_ADMIN_IDS": "9000"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json().get("ok"):
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            pytest.fail(process.stdout.read())
        time.sleep(0.1)
    process.kill()
    pytest.fail("the bot did not become healthy in 30 s")


def wait_text_sync(base, chat_id, fragment, after=0, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = httpx.get(f"{base}/sandbox/messages", params={"chat_id": chat_id, "after": after, "wait": 2},
                             timeout=10).json()["messages"]
        for message in messages:
            if fragment in (message.get("text") or ""):
                return message
    raise AssertionError(f"no message with {fragment!r}")


def start_sandbox_process(tmp_path, port: int, *args: str) -> tuple[subprocess.Popen, str]:
    """The process and the Bot API URL it printed as its first line."""
    env = {**os.environ, "QB_PORT": str(port)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot", "sandbox", *args], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready:
        process.kill()
        pytest.fail("the sandbox printed nothing in 30 s")
    return process, process.stdout.readline().rstrip("\n")


def stop_process(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    return process.stdout.read()
