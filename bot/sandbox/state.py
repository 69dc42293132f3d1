"""What the sandbox remembers: users, chats with their messages, pending updates, uploaded files, faults, limits.

When given a journal path, every change is appended to a JSON-lines file and replayed at start, so a restart of
the process finds Telegram's side as it left it (as the real Telegram would), and a SIGKILL loses nothing that
was already answered to the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from bot.sandbox.commands import CommandMenus
from bot.sandbox.limits import RELAXED, Limits
# Update types a bot receives when it never chose (Telegram leaves out chat_member and reactions unless asked).
DEFAULT_UPDATE_TYPES = frozenset({"message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
                                  "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
                                  "poll", "poll_answer", "my_chat_member", "chat_join_request"})

BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "质量通",
    "username": "qualitybot_sandbox_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Fault:
    method: str
    error: str
    times: int = 1
    chat_id: int | None = None
    retry_after: int = 1
    delay: float = 10.0

    def matches(self, method: str, chat_id: Any) -> bool:
        if self.method.lower() != method.lower() and self.method != "*":
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


@dataclass
class Chaos:
    """Seeded random faults: each Bot API call fails with probability `rate`. Each method draws from its own
    generator (so the n-th call of a method meets the same fate however calls interleave) and goes through
    every error kind in a shuffled order before repeating one, so a method called often enough meets them all."""
    seed: int
    rate: float
    errors: list[str]
    methods: set[str] | None = None      # lower-case method names; None: every method
    rates: dict[str, float] = field(default_factory=dict)  # per-method rate (lower-case name) instead of `rate`
    exclude: set[str] = field(default_factory=set)
    retry_after: int = 1
    delay: float = 10.0
    calls: dict[str, int] = field(default_factory=dict)
    injected: dict[str, dict[str, int]] = field(default_factory=dict)
    _rngs: dict[str, random.Random] = field(default_factory=dict, repr=False)
    _next: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def pick(self, method: str) -> Fault | None:
        name = method.lower()
        if name in self.exclude or (self.methods is not None and name not in self.methods):
            return None
        self.calls[method] = self.calls.get(method, 0) + 1
        rng = self._rngs.setdefault(name, random.Random(f"{self.seed}:{name}"))
        if rng.random() >= self.rates.get(name, self.rate):
            return None
        kinds = self._next.setdefault(name, [])
        if not kinds:
            kinds.extend(rng.sample(self.errors, len(self.errors)))
        kind = kinds.pop()
        counts = self.injected.setdefault(method, {})
        counts[kind] = counts.get(kind, 0) + 1
        return Fault(method, kind, 1, None, self.retry_after, self.delay)

    def report(self) -> dict[str, Any]:
        return {"seed": self.seed, "rate": self.rate, "calls": self.calls, "injected": self.injected}


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: list[list[str]] | None = None

    def as_json(self, users: dict[int, dict[str, Any]]) -> dict[str, Any]:
        if self.type == "private":
            user = users.get(self.id, {})
            chat = {"id": self.id, "type": "private", "first_name": user.get("first_name", "")}
            if user.get("username"):
                chat["username"] = user["username"]
            return chat
        return {"id": self.id, "type": self.type, "title": self.title or "群聊"}


class SandboxState:
    RELAXED_LIMITS = RELAXED  # what an embedding process passes as `limits` to switch off flood control and the like

    def __init__(self, journal: Path | None = None, limits: Limits | Mapping[str, Any] | None = None):
        """`limits`: Telegram's by default; a Limits (e.g. with a test clock) or a mapping of settings to change."""
        self.limits = limits if isinstance(limits, Limits) else Limits(limits)
        self.journal_path = journal
        self._journal = None
        self.closing = False
        self.changed = asyncio.Condition()
        self.reset_memory()
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            if journal.exists():
                self._replay(journal)
            self._journal = journal.open("a", encoding="utf-8")

    async def release_waiters(self) -> None:
        """Answer every long poll now, so that the server can stop without cutting requests off."""
        self.closing = True
        await self.notify()

    def reset_memory(self) -> None:
        self.users: dict[int, dict[str, Any]] = {}
        self.started: set[int] = set()  # users who have written to the bot: only they can be messaged
        self.blocked: set[int] = set()
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.faults: list[Fault] = []
        self.chaos: Chaos | None = None
        self.files: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.callback_pressed_at: dict[str, float] = {}  # limits.clock() at the press
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.polls = 0  # getUpdates requests so far: a waiting one that sees this change was overtaken
        self.poll_conflict = ""
        self.command_menus = CommandMenus()  # setMyCommands' lists per scope and language
        self.webhook: dict[str, Any] | None = None
        self.api_calls: dict[str, int] = {}
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The default menu (no scope, no language): what everyone sees unless a narrower list was set."""
        return self.command_menus.get(("default",), "")

    def reset(self) -> None:
        self.reset_memory()
        self.limits.reset()
        if self._journal is not None:
            self._journal.close()
            self._journal = self.journal_path.open("w", encoding="utf-8")

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # --- journal -----------------------------------------------------------------------------------

    def _record(self, kind: str, data: Any) -> None:
        if self._journal is not None:
            self._journal.write(json.dumps([kind, data], ensure_ascii=False) + "\n")
            self._journal.flush()

    def _replay(self, path: Path) -> None:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    kind, data = json.loads(line)
                except (ValueError, TypeError):
                    continue  # a line cut short by a crash
                self._apply(kind, data)

    def _apply(self, kind: str, data: Any) -> None:
        if kind == "user":
            self.users[data["id"]] = data
        elif kind == "started":
            self.started.add(data["id"])
        elif kind == "blocked":
            (self.blocked.add if data["blocked"] else self.blocked.discard)(data["id"])
        elif kind == "chat":
            self.chats.setdefault(data["id"], Chat(id=data["id"], type=data["type"], title=data.get("title")))
        elif kind == "message":
            chat = self.chats[data["chat"]["id"]]
            chat.messages[data["message_id"]] = data
            chat.next_message_id = max(chat.next_message_id, data["message_id"] + 1)
            if "_keyboard" in data:
                chat.reply_keyboard = data["_keyboard"]
        elif kind == "update":
            self.updates.append(data)
            self.next_update_id = max(self.next_update_id, data["update_id"] + 1)
        elif kind == "confirm":
            self.updates = [u for u in self.updates if u["update_id"] >= data]
        elif kind == "file":
            self.files[data["file_id"]] = {**data, "content": bytes.fromhex(data["content"])}
            self._file_ids = itertools.count(len(self.files) + 1)

    def _change(self, kind: str, data: Any) -> None:
        self._apply(kind, data)
        self._record(kind, data)

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        """Until `condition()` holds after a change, the state is closing, or `timeout` seconds have passed."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: condition() or self.closing), timeout)
            except asyncio.TimeoutError:
                pass

    # --- users and chats ---------------------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str, username: str | None = None,
                 language_code: str = "zh-hans", started: bool = False) -> dict[str, Any]:
        """`started`: the user opened the chat with the bot earlier, so the bot may write to them."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        if username:
            user["username"] = username
        self._change("user", user)
        self.chat(user_id, "private")
        if started:
            self.mark_started(user_id)
        return user

    def save_user(self, user: dict[str, Any]) -> None:
        """Keep a changed user (the web channel marks whose account a web person acts as)."""
        self._change("user", user)

    def mark_started(self, user_id: int) -> None:
        if user_id not in self.started:
            self._change("started", {"id": user_id})

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        self._change("blocked", {"id": user_id, "blocked": blocked})

    def chat(self, chat_id: int, chat_type: str = "private", title: str | None = None) -> Chat:
        if chat_id not in self.chats:
            self._change("chat", {"id": chat_id, "type": chat_type, "title": title})
        return self.chats[chat_id]

    def store_message(self, chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
        message.setdefault("message_id", chat.next_message_id)
        self._change("message", message)
        return message

    # --- updates -----------------------------------------------------------------------------------

    def enqueue(self, update_body: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update; None when its type is not among the bot's allowed_updates (Telegram drops those)."""
        if not set(update_body) & self.allowed_updates:
            return None
        update = {"update_id": self.next_update_id, **update_body}
        self._change("update", update)
        return update

    def set_allowed_updates(self, value: Any) -> None:
        """As Telegram: a list of type names replaces the choice (none known: the default); anything else keeps it."""
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            chosen = {name.lower() for name in value} & (DEFAULT_UPDATE_TYPES | {"chat_member", "message_reaction",
                                                                                  "message_reaction_count"})
            self.allowed_updates = frozenset(chosen) or DEFAULT_UPDATE_TYPES

    def drop_pending(self) -> None:
        self.confirm(self.next_update_id)

    def confirm(self, offset: int) -> None:
        if self.updates and self.updates[0]["update_id"] < offset:
            self._change("confirm", offset)

    # --- files ---------------------------------------------------------------------------------------

    def add_file(self, filename: str, content: bytes, mime: str | None) -> str:
        file_id = f"sandbox-file-{next(self._file_ids)}-{int(time.time() * 1000)}"
        self._change("file", {"file_id": file_id, "filename": filename, "mime": mime, "content": content.hex()})
        return file_id

    # --- faults ------------------------------------------------------------------------------------

    def take_fault(self, method: str, chat_id: Any) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return self.chaos.pick(method) if self.chaos is not None else None

    def next_callback_id(self) -> str:
        query_id = f"cb{next(self._callback_ids)}-{int(time.time() * 1000)}"
        self.callback_pressed_at[query_id] = self.limits.clock()
        return query_id
