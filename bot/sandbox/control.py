"""The control API half of the sandbox: scripts play the users (write, press, block) and set the limits.

Every endpoint is documented in docs/sandbox.md. Bodies are JSON; errors are {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.sandbox.botapi import telegram_view
from bot.sandbox.state import BOT_USER, Chaos, Chat, Fault, SandboxState

# connection_reset drops the connection before the call takes effect; reset_after lets it take effect, then drops it
FAULT_KINDS = {"retry_after", "server_error", "timeout", "forbidden", "bad_request", "connection_reset", "reset_after"}
COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{5,32})?")


def control_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def utf16_length(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units (an emoji like 👷 counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def user_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram's clients attach to a user's text: bot commands and mentions of the bot."""
    found = [("bot_command", match.start(), match.group()) for match in COMMAND.finditer(text)]
    mention = "@" + BOT_USER["username"]
    found += [("mention", match.start(), mention) for match in re.finditer(re.escape(mention), text)
              if not any(start <= match.start() < start + len(part) for _, start, part in found)]
    return [{"type": kind, "offset": utf16_length(text[:start]), "length": utf16_length(part)}
            for kind, start, part in sorted(found, key=lambda entry: entry[1])]


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """The control API's view of a bot message: what a user sees, edits applied."""
    markup = message.get("reply_markup") or {}
    view: dict[str, Any] = {
        "message_id": message["message_id"],
        "buttons": [[button["text"] for button in row] for row in markup.get("inline_keyboard", [])],
        "keyboard": message.get("_keyboard") or [],
        "photo": "photo" in message,
        "document": message.get("document", {}).get("file_name") if "document" in message else None,
        "edited": "edit_date" in message,
        "html": message.get("_html"),
    }
    if "caption" in message or "photo" in message or "document" in message:
        view["caption"] = message.get("caption", "")
        file_id = (message.get("photo") or [{}])[-1].get("file_id") if "photo" in message else \
            message.get("document", {}).get("file_id")
        view["file_id"] = file_id
    else:
        view["text"] = message.get("text", "")
    return view


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("request body must be a JSON object")
    return body


class ControlApi:
    state: SandboxState

    def _user(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            user_id = int(body["user_id"])
        except (KeyError, TypeError, ValueError):
            raise LookupError('"user_id" is required') from None
        user = self.state.users.get(user_id)
        if user is None:
            raise LookupError(f"unknown user {user_id}: create it with POST /sandbox/users first")
        return user

    async def _body_and_user(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        body = await _json(request)
        return body, self._user(body)

    async def control_users(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"users": [{**user, "started": user["id"] in self.state.started}
                                           for user in self.state.users.values()]})
        try:
            body = await _json(request)
            user_id = int(body["id"])
        except (ValueError, KeyError, TypeError):
            return control_error(400, 'expected {"id": number, "first_name": text, "username": optional, '
                                      '"started": optional true}')
        if user_id <= 0:
            return control_error(400, "user ids are positive numbers")
        user = self.state.add_user(user_id, str(body.get("first_name") or f"用户{user_id}"), body.get("username"),
                                   started=body.get("started") is True)
        await self.state.notify()
        return JSONResponse({"ok": True, "user": user})

    def _user_message(self, user: dict[str, Any], body: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        chat_id = int(body.get("chat_id") or user["id"])
        chat_type = "private" if chat_id == user["id"] else body.get("chat_type", "group")
        chat = self.state.chat(chat_id, chat_type, body.get("chat_title"))
        message: dict[str, Any] = {"message_id": chat.next_message_id, "date": int(time.time()),
                                   "chat": chat.as_json(self.state.users), "from": user}
        kind = body.get("kind", "text")
        if kind == "text":
            message["text"] = text = str(body.get("text", ""))
            if entities := user_entities(text):
                message["entities"] = entities
        elif kind == "sticker":
            message["sticker"] = {"file_id": "sticker1", "file_unique_id": "sticker1", "type": "regular",
                                  "width": 512, "height": 512, "is_animated": False, "is_video": False,
                                  "emoji": body.get("emoji", "👍")}
        elif kind == "photo":
            file_id = self.state.add_file("photo.jpg", bytes.fromhex(body.get("content_hex", "ffd8ffd9")), "image/jpeg")
            message["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480}]
            if body.get("caption"):
                message["caption"] = body["caption"]
        elif kind == "voice":
            message["voice"] = {"file_id": "voice1", "file_unique_id": "voice1", "duration": 3}
        elif kind == "document":
            content = bytes.fromhex(body.get("content_hex", "")) if body.get("content_hex") else \
                str(body.get("content", "")).encode()
            filename = body.get("filename", "file.txt")
            file_id = self.state.add_file(filename, content, body.get("mime"))
            message["document"] = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename,
                                   "file_size": len(content)}
            if body.get("caption"):
                message["caption"] = body["caption"]
        else:
            raise ValueError(f"unknown kind {kind!r} (text, sticker, photo, voice, document)")
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None and int(reply_to) in chat.messages:
            message["reply_to_message"] = telegram_view(chat.messages[int(reply_to)])
        return chat, message

    def _member_update(self, user: dict[str, Any], blocked: bool) -> None:
        """Telegram tells the bot when a user blocks it, or comes back, with a my_chat_member update."""
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self.state.enqueue({"my_chat_member": {
            "chat": self.state.chat(user["id"]).as_json(self.state.users), "from": user, "date": int(time.time()),
            "old_chat_member": {"user": BOT_USER, "status": old},
            "new_chat_member": {"user": BOT_USER, "status": new, **({"until_date": 0} if blocked else {})},
        }})

    async def _deliver(self, user: dict[str, Any], chat: Chat, message: dict[str, Any]) -> Response:
        """A user's message reaches the bot: writing in private starts the chat and lifts a block, as on Telegram."""
        if chat.type == "private":
            if user["id"] in self.state.blocked:
                self.state.set_blocked(user["id"], False)
                self._member_update(user, blocked=False)
            self.state.mark_started(user["id"])
        self.state.store_message(chat, message)
        update = self.state.enqueue({"message": message})
        await self.state.notify()
        return JSONResponse({"ok": True, "message_id": message["message_id"],
                             "update_id": update and update["update_id"]})

    async def control_send(self, request: Request) -> Response:
        try:
            body, user = await self._body_and_user(request)
            chat, message = self._user_message(user, body)
        except LookupError as exc:
            return control_error(404, str(exc))
        except (ValueError, TypeError) as exc:
            return control_error(400, str(exc))
        return await self._deliver(user, chat, message)

    async def control_edit(self, request: Request) -> Response:
        """The user edits a message they sent earlier: the bot gets an edited_message update."""
        try:
            body, user = await self._body_and_user(request)
            chat = self.state.chats[int(body.get("chat_id") or user["id"])]
            message = chat.messages[int(body["message_id"])]
            text = str(body["text"])
        except LookupError as exc:
            return control_error(404, f"no such message or chat ({exc})")
        except (ValueError, TypeError):
            return control_error(400, 'expected {"user_id", "message_id", "text", optional "chat_id"}')
        if message.get("from", {}).get("id") != user["id"] or "text" not in message:
            return control_error(400, "only a text message of this user can be edited")
        edited = {key: value for key, value in message.items() if key != "entities"}
        edited.update(text=text, edit_date=int(time.time()))
        if entities := user_entities(text):
            edited["entities"] = entities
        self.state.store_message(chat, edited)
        update = self.state.enqueue({"edited_message": edited})
        await self.state.notify()
        return JSONResponse({"ok": True, "update_id": update and update["update_id"]})

    async def control_token(self, request: Request) -> Response:
        """The token the Bot API accepts from now on, as when the bot's owner revokes it at @BotFather."""
        try:
            token = str((await _json(request))["token"])
        except (KeyError, TypeError, ValueError):
            return control_error(400, 'expected {"token": "..."}')
        self.token = token  # a long poll under way ends as usual; the next one meets the new token
        return JSONResponse({"ok": True})

    async def control_press(self, request: Request) -> Response:
        try:
            body, user = await self._body_and_user(request)
            chat = self.state.chats.get(int(body.get("chat_id") or user["id"]))
            wait = float(body.get("wait", 5))
        except LookupError as exc:
            return control_error(404, str(exc))
        except (ValueError, TypeError) as exc:
            return control_error(400, str(exc))
        if chat is None:
            return control_error(404, "no such chat")
        label = str(body.get("text", ""))
        wanted_id = body.get("message_id")
        position = (body.get("row"), body.get("column"))
        if wanted_id is not None and None not in position:
            message = chat.messages.get(int(wanted_id))
            rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard", [])
            try:
                button = rows[int(position[0])][int(position[1])]
            except (IndexError, TypeError, ValueError):
                return control_error(404, "no button at that row and column")
            if "callback_data" not in button:
                return control_error(404, "that button opens a link")
            return await self._press(user, chat, message, button, wait)
        for message_id in sorted(chat.messages, reverse=True):
            message = chat.messages[message_id]
            if message.get("from", {}).get("id") != BOT_USER["id"] or message.get("_deleted"):
                continue
            if wanted_id is not None and message_id != int(wanted_id):
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"] and "callback_data" in button:
                        return await self._press(user, chat, message, button, wait)
        if label and chat.reply_keyboard and any(label == b for row in chat.reply_keyboard for b in row):
            text = {"message_id": chat.next_message_id, "date": int(time.time()),
                    "chat": chat.as_json(self.state.users), "from": user, "text": label}
            return await self._deliver(user, chat, text)
        return control_error(404, f"no inline button labelled {label!r} in this chat")

    async def _press(self, user, chat, message, button, wait: float) -> Response:
        if chat.type == "private":
            self.state.mark_started(user["id"])
        query_id = self.state.next_callback_id()
        self.state.callback_answers[query_id] = None
        update = self.state.enqueue({"callback_query": {
            "id": query_id, "from": user, "message": telegram_view(message),
            "chat_instance": f"ci{chat.id}", "data": button["callback_data"],
        }})
        await self.state.notify()
        answer = None
        if wait > 0 and update is not None:
            await self.state.wait_until(lambda: self.state.callback_answers.get(query_id) is not None, wait)
            answer = self.state.callback_answers.get(query_id)
        return JSONResponse({"ok": True, "update_id": update and update["update_id"],
                             "message_id": message["message_id"], "button": button["text"], "answer": answer})

    async def control_messages(self, request: Request) -> Response:
        try:
            chat_id = int(request.query_params["chat_id"])
            after = int(request.query_params.get("after", 0))
            wait = min(float(request.query_params.get("wait", 0)), 60)
        except (KeyError, ValueError):
            return control_error(400, "chat_id (number), after (number) and wait (seconds) are expected")
        include_user = request.query_params.get("include_user") in ("1", "true")

        def listed() -> list[dict[str, Any]]:
            chat = self.state.chats.get(chat_id)
            result = []
            for message_id, message in sorted(chat.messages.items()) if chat else []:
                if message_id <= after or message.get("_deleted"):
                    continue
                if message.get("from", {}).get("id") == BOT_USER["id"]:
                    view = public_message(message)
                    result.append({**view, "from": "bot"} if include_user else view)
                elif include_user:
                    result.append({"message_id": message_id, "from": "user", "text": message.get("text") or
                                   message.get("caption") or "", "photo": "photo" in message,
                                   "document": message.get("document", {}).get("file_name")})
            return result

        if wait > 0 and not listed():
            await self.state.wait_until(lambda: bool(listed()), wait)
        return JSONResponse({"messages": listed()})

    async def control_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"faults": [vars(f) for f in self.state.faults]})
        if request.method == "DELETE":
            self.state.faults.clear()
            return JSONResponse({"ok": True})
        try:
            body = await _json(request)
            fault = Fault(
                method=str(body["method"]), error=str(body["error"]), times=int(body.get("times", 1)),
                chat_id=int(body["chat_id"]) if body.get("chat_id") is not None else None,
                retry_after=int(body.get("retry_after", 1)), delay=float(body.get("delay", 10)),
            )
        except (KeyError, TypeError, ValueError):
            return control_error(400, 'expected {"method", "error", "times", optional "chat_id", "retry_after"}')
        if fault.error not in FAULT_KINDS or fault.times < 1:
            return control_error(400, f"error must be one of {sorted(FAULT_KINDS)} and times at least 1")
        self.state.faults.append(fault)
        return JSONResponse({"ok": True, "faults": len(self.state.faults)})

    async def control_chaos(self, request: Request) -> Response:
        """Seeded random faults on every call (or the listed methods) until DELETE; GET reports what was injected."""
        report = self.state.chaos.report() if self.state.chaos else {"calls": {}, "injected": {}}
        if request.method == "GET":
            return JSONResponse(report)
        if request.method == "DELETE":
            self.state.chaos = None
            return JSONResponse(report)
        try:
            body = await _json(request)
            errors = [str(e) for e in body.get("errors") or sorted(FAULT_KINDS)]
            methods = body.get("methods")
            chaos = Chaos(seed=int(body["seed"]), rate=float(body["rate"]), errors=errors,
                          methods={str(m).lower() for m in methods} if methods else None,
                          exclude={str(m).lower() for m in body.get("exclude") or []},
                          rates={str(m).lower(): float(r) for m, r in (body.get("rates") or {}).items()},
                          retry_after=int(body.get("retry_after", 1)), delay=float(body.get("delay", 10)))
        except (KeyError, TypeError, ValueError, AttributeError):
            return control_error(400, 'expected {"seed", "rate", optional "errors", "methods", "exclude", "rates", '
                                      '"retry_after", "delay"}')
        if not all(0 <= r <= 1 for r in [chaos.rate, *chaos.rates.values()]) or not set(errors) <= FAULT_KINDS:
            return control_error(400, f"rate must be within 0..1 and errors among {sorted(FAULT_KINDS)}")
        self.state.chaos = chaos
        return JSONResponse({"ok": True})

    async def control_limits(self, request: Request) -> Response:
        """GET: settings and counters. POST: change any settings; {"reset": true} restores the starting ones."""
        if request.method == "POST":
            try:
                self.state.limits.configure(await _json(request))
            except ValueError as exc:
                return control_error(400, str(exc))
        return JSONResponse(self.state.limits.report())

    async def control_traffic(self, request: Request) -> Response:
        """Every counted call that took effect: [seconds (monotonic clock), chat id, method]."""
        return JSONResponse({"now": self.state.limits.clock(),
                             "calls": [list(call) for call in self.state.limits.traffic]})

    async def control_reset(self, request: Request) -> Response:
        self.state.reset()
        await self.state.notify()
        return JSONResponse({"ok": True})

    async def control_block(self, request: Request) -> Response:
        """The user blocks (or unblocks) the bot: Telegram then sends the bot a my_chat_member update."""
        try:
            body, user = await self._body_and_user(request)
        except LookupError as exc:
            return control_error(404, str(exc))
        except ValueError as exc:
            return control_error(400, str(exc))
        blocked = bool(body.get("blocked", True))
        self.state.set_blocked(user["id"], blocked)
        self._member_update(user, blocked)
        await self.state.notify()
        return JSONResponse({"ok": True, "blocked": blocked})

    async def control_file(self, request: Request) -> Response:
        stored = self.state.files.get(request.path_params["file_id"])
        if stored is None:
            return control_error(404, "no such file")
        return Response(stored["content"], media_type=stored.get("mime") or "application/octet-stream",
                        headers={"X-Filename": stored["filename"].encode("utf-8").hex()})

    async def control_inject(self, request: Request) -> Response:
        """Put a message that looks as if the bot sent it into a chat: for testing forged or stale buttons."""
        try:
            body = await _json(request)
            chat = self.state.chats[int(body["chat_id"])]
            rows = [[{"text": str(b["text"]), "callback_data": str(b["callback_data"])} for b in row]
                    for row in body.get("buttons", [])]
        except (KeyError, TypeError, ValueError):
            return control_error(400, 'expected {"chat_id", "text", "buttons": [[{"text", "callback_data"}]]}')
        message = {"message_id": chat.next_message_id, "date": int(time.time()), "chat": chat.as_json(self.state.users),
                   "from": BOT_USER, "text": str(body.get("text", "")), "reply_markup": {"inline_keyboard": rows}}
        self.state.store_message(chat, message)
        await self.state.notify()
        return JSONResponse({"ok": True, "message_id": message["message_id"]})

    async def control_state(self, request: Request) -> Response:
        return JSONResponse({
            "users": len(self.state.users), "chats": len(self.state.chats),
            "pending_updates": len(self.state.updates), "commands": self.state.commands,
            "webhook": self.state.webhook, "faults": len(self.state.faults), "api_calls": self.state.api_calls,
            "allowed_updates": sorted(self.state.allowed_updates),
        })
