"""The web chats: what web people say and press becomes the bot's updates; what the bot sends them is kept here.

The chats, messages and files live in a SandboxState (the same model of Telegram the sandbox uses, with its
journal beside the database, so a restart keeps every conversation) and the bot's calls are answered by the same
BotApi, as strictly as Telegram answers them (HTML that Telegram could not parse, messages over 4,096 characters).
Flood limits are off: they are Telegram's, not the web's; the routes limit people instead.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from bot.sandbox.botapi import ApiError, BotApi, telegram_view
from bot.sandbox.control import public_message, user_entities
from bot.sandbox.state import BOT_USER, SandboxState

log = logging.getLogger(__name__)

# Telegram's user ids fit in 52 bits; web people get ids above them (and below 2**53, which JavaScript still counts
# exactly). The ids never appear in a URL: the signed cookie carries them.
WEB_ID_BASE = 2**52 + 1
WEB_ID_SPAN = 2**52 - 2
CALLBACK_PREFIX = "web"
PRESS_WAIT_SECONDS = 8.0
TELEGRAM_ONLY_MEDIA = "（附件请在 Telegram 中查看）"


def is_web_id(value: Any) -> bool:
    try:
        return WEB_ID_BASE <= int(value) < WEB_ID_BASE + WEB_ID_SPAN
    except (TypeError, ValueError):
        return False


class WebChannel:
    def __init__(self, journal: Path | None = None):
        self.state = SandboxState(journal, limits=SandboxState.RELAXED_LIMITS)
        self.api = BotApi(self.state, token="")
        self.deliver: Callable[[dict[str, Any]], Awaitable[None]] | None = None  # set once the bot takes updates
        self._callback_ids = 0

    def close(self) -> None:
        self.state.close()

    # --- people ----------------------------------------------------------------------------------------

    def new_person(self, name: str) -> int:
        """A web person with a fresh, unguessable id; they have opened the chat, so the bot may write to them."""
        while True:
            user_id = WEB_ID_BASE + secrets.randbelow(WEB_ID_SPAN)
            if user_id not in self.state.users:
                break
        self.state.add_user(user_id, name, started=True)
        return user_id

    def known(self, user_id: int) -> bool:
        return user_id in self.state.users

    def act_as(self, user_id: int, account: dict[str, Any]) -> None:
        """From now on this web person is the Telegram account `account` (a one-time link from the bot): what they
        do is that account's, while the bot's replies still come to this page. Pushes (announcements, a live
        contest's questions) go to the account's Telegram chat, as before."""
        person = {**self.state.users[user_id], "_as": {"id": account["id"], "is_bot": False,
                                                         "first_name": account.get("first_name") or "用户"}}
        self.state.save_user(person)

    def _sender(self, user_id: int) -> dict[str, Any]:
        person = self.state.users[user_id]
        return person.get("_as") or {key: value for key, value in person.items() if not key.startswith("_")}

    # --- what people do: updates for the bot ----------------------------------------------------------------

    async def say(self, user_id: int, text: str) -> int:
        """A text message from the person, as Telegram would deliver it; returns its message id."""
        user = self._sender(user_id)
        chat = self.state.chat(user_id)
        message: dict[str, Any] = {"message_id": chat.next_message_id, "date": int(time.time()),
                                   "chat": chat.as_json(self.state.users), "from": user, "text": text}
        if entities := user_entities(text):
            message["entities"] = entities
        self.state.store_message(chat, message)
        await self._update({"message": message})
        return message["message_id"]

    async def press(self, user_id: int, message_id: int, row: int, column: int) -> dict[str, Any] | None:
        """Press a button of a message the bot sent this person; the bot's answer (the toast), or None when it did
        not come within a few seconds. LookupError when there is no such button in this person's chat."""
        chat = self.state.chats.get(user_id)
        message = chat.messages.get(message_id) if chat is not None else None
        if message is None or message.get("from", {}).get("id") != BOT_USER["id"] or message.get("_deleted"):
            raise LookupError("no such message")
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        if not (0 <= row < len(rows) and 0 <= column < len(rows[row])) or "callback_data" not in rows[row][column]:
            raise LookupError("no such button")
        self._callback_ids += 1
        query_id = f"{CALLBACK_PREFIX}{self._callback_ids}-{secrets.token_hex(4)}"
        self.state.callback_answers[query_id] = None
        self.state.callback_pressed_at[query_id] = self.state.limits.clock()
        await self._update({"callback_query": {
            "id": query_id, "from": self._sender(user_id), "message": telegram_view(message),
            "chat_instance": f"web{user_id}", "data": rows[row][column]["callback_data"]}})
        await self.state.wait_until(lambda: self.state.callback_answers.get(query_id) is not None,
                                    PRESS_WAIT_SECONDS)
        return self.state.callback_answers.get(query_id)

    async def _update(self, body: dict[str, Any]) -> None:
        update = {"update_id": 0, **body}
        await self.state.notify()
        if self.deliver is None:
            raise RuntimeError("the web channel is not connected to the bot")
        await self.deliver(update)

    # --- what the bot sends them -------------------------------------------------------------------------

    async def messages(self, user_id: int, after: int, wait: float) -> list[dict[str, Any]]:
        """The bot's messages in this person's chat after `after` (edits included), waiting up to `wait` seconds."""

        def listed() -> list[dict[str, Any]]:
            chat = self.state.chats.get(user_id)
            return [public_message(message) for message_id, message in sorted(chat.messages.items())
                    if message_id > after and not message.get("_deleted")
                    and message.get("from", {}).get("id") == BOT_USER["id"]] if chat else []

        if wait > 0 and not listed():
            await self.state.wait_until(lambda: bool(listed()), wait)
        return listed()

    def file(self, user_id: int, file_id: str) -> dict[str, Any] | None:
        """A picture or document the bot sent to this person (nobody else's)."""
        chat = self.state.chats.get(user_id)
        for message in (chat.messages.values() if chat else []):
            view = public_message(message)
            if view.get("file_id") == file_id and message.get("from", {}).get("id") == BOT_USER["id"]:
                return self.state.files.get(file_id)
        return None

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, bytes]:
        """A Bot API call of the bot for a web chat, answered as Telegram would answer it."""
        handler = getattr(self.api, f"api_{method.lower()}", None)
        if handler is None:
            return 400, _error(400, f"Bad Request: {method} is not available in the web channel")
        try:
            result = await handler(params)
        except ApiError as error:
            if method.lower() in ("sendphoto", "senddocument") and "wrong file identifier" in error.description:
                # an attachment uploaded in Telegram (an announcement's photo): its file stays there
                return await self.call("sendMessage", {
                    "chat_id": params.get("chat_id"), "parse_mode": params.get("parse_mode"),
                    "reply_markup": params.get("reply_markup"),
                    "text": (params.get("caption") or "") + "\n" + TELEGRAM_ONLY_MEDIA})
            return error.code, _error(error.code, error.description, error.parameters)
        await self.state.notify()
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body, ensure_ascii=False).encode()
