"""The Bot API sandbox: the part of Telegram's Bot API that qualitybot uses, plus a control API for scripts.

Bot API:     POST /bot<token>/<method>        (form, multipart or JSON bodies, as python-telegram-bot sends)
Files:       GET  /file/bot<token>/<path>
Control API: /sandbox/users, /sandbox/send, /sandbox/press, /sandbox/messages, /sandbox/faults, /sandbox/chaos,
             /sandbox/reset, /sandbox/block, /sandbox/files/<id>, /sandbox/state (see docs/sandbox.md)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.state import BOT_USER, Chaos, Chat, Fault, SandboxState
from bot.sandbox.telegram_html import EntityParseError, html_to_plain

log = logging.getLogger(__name__)

# Parameters that are plain strings on the wire; every other form value is JSON-decoded, as Telegram does.
STRING_PARAMS = {"text", "caption", "parse_mode", "callback_query_id", "url", "secret_token",
                 "language_code", "photo", "document", "file_id", "scope"}
# connection_reset drops the connection before the call takes effect; reset_after lets it take effect, then drops it
FAULT_KINDS = {"retry_after", "server_error", "timeout", "forbidden", "bad_request", "connection_reset", "reset_after"}
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_BYTES = 64


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class ConnectionDropped(Exception):
    """Raised inside a started response: uvicorn then closes the connection and the client sees it cut off."""


class _Unlogged(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


logging.getLogger("uvicorn.error").addFilter(_Unlogged())


class DroppedConnection(Response):
    """A response whose head promises a body that never comes: to the client, a connection reset mid-answer."""

    def __init__(self, method: str):
        super().__init__()
        self.method = method

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        raise ConnectionDropped(self.method)


def api_error_response(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return JSONResponse(body, status_code=error.code)


def control_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


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


def telegram_view(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the Bot API returns it (without the sandbox's private keys)."""
    return {key: value for key, value in message.items() if not key.startswith("_")}


class SandboxServer:
    def __init__(self, state: SandboxState, token: str):
        self.state = state
        self.token = token

    # --- plumbing ----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/bot{token}/{method}", self.bot_api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self.download, methods=["GET"]),
            Route("/sandbox/users", self.control_users, methods=["GET", "POST"]),
            Route("/sandbox/send", self.control_send, methods=["POST"]),
            Route("/sandbox/press", self.control_press, methods=["POST"]),
            Route("/sandbox/messages", self.control_messages, methods=["GET"]),
            Route("/sandbox/faults", self.control_faults, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/chaos", self.control_chaos, methods=["GET", "POST", "DELETE"]),
            Route("/sandbox/reset", self.control_reset, methods=["POST"]),
            Route("/sandbox/block", self.control_block, methods=["POST"]),
            Route("/sandbox/files/{file_id}", self.control_file, methods=["GET"]),
            Route("/sandbox/state", self.control_state, methods=["GET"]),
            Route("/sandbox/inject", self.control_inject, methods=["POST"]),
        ]

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if "application/json" in content_type:
            body = await request.body()
            if body:
                params.update(json.loads(body))
            return params
        if "form" in content_type:
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = {"filename": value.filename or key, "content": await value.read(),
                                   "mime": value.content_type}
                elif key in STRING_PARAMS:
                    params[key] = value
                else:
                    try:
                        params[key] = json.loads(value)
                    except ValueError:
                        params[key] = value
        return params

    async def bot_api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return api_error_response(ApiError(401, "Unauthorized"))
        method = request.path_params["method"]
        handler = getattr(self, f"api_{method.lower()}", None)
        if handler is None:
            return api_error_response(ApiError(404, "Not Found: method not found"))
        try:
            params = await self._params(request)
        except ValueError:
            return api_error_response(bad_request("invalid request body"))
        self.state.api_calls[method] = self.state.api_calls.get(method, 0) + 1
        fault = self.state.take_fault(method, params.get("chat_id"))
        if fault is not None and fault.error != "reset_after":
            return await self._fault_response(fault)
        try:
            result = await handler(params)
        except ApiError as error:
            return api_error_response(error)
        await self.state.notify()
        if fault is not None:  # reset_after: the call took effect, but its answer never reaches the bot
            return DroppedConnection(method)
        return JSONResponse({"ok": True, "result": result})

    async def _fault_response(self, fault: Fault) -> Response:
        if fault.error == "retry_after":
            return api_error_response(ApiError(429, f"Too Many Requests: retry after {fault.retry_after}",
                                               {"retry_after": fault.retry_after}))
        if fault.error == "server_error":
            return api_error_response(ApiError(500, "Internal Server Error"))
        if fault.error == "forbidden":
            return api_error_response(ApiError(403, "Forbidden: bot was blocked by the user"))
        if fault.error == "timeout":
            await asyncio.sleep(fault.delay)
            return api_error_response(ApiError(504, "Gateway Timeout"))
        if fault.error == "connection_reset":
            return DroppedConnection(fault.method)
        return api_error_response(bad_request("sandbox fault injected"))

    # --- validation --------------------------------------------------------------------------------

    def _chat_for_send(self, params: dict[str, Any]) -> Chat:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private" and chat_id in self.state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _formatted(params: dict[str, Any], key: str, limit: int, required: bool) -> tuple[str, str]:
        raw = params.get(key)
        raw = "" if raw is None else str(raw)
        plain = raw
        if params.get("parse_mode") == "HTML":
            try:
                plain = html_to_plain(raw)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        if required and not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        return raw, plain

    @staticmethod
    def _markup(params: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
        """(inline markup to store, reply keyboard labels / None to remove / ... when untouched)."""
        markup = params.get("reply_markup")
        if not markup:
            return None, ...
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if not button.get("text"):
                        raise bad_request("text buttons are unallowed in the inline keyboard")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES:
                        raise bad_request("BUTTON_DATA_INVALID")
            return markup, ...
        if "keyboard" in markup:
            labels = [[b["text"] if isinstance(b, dict) else str(b) for b in row] for row in markup["keyboard"]]
            return None, labels
        if markup.get("remove_keyboard"):
            return None, None
        return None, ...

    def _new_bot_message(self, chat: Chat, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        inline, keyboard = self._markup(params)
        message = {"message_id": chat.next_message_id, "date": int(time.time()),
                   "chat": chat.as_json(self.state.users), "from": BOT_USER, **body}
        if inline:
            message["reply_markup"] = inline
        if keyboard is not ...:
            message["_keyboard"] = keyboard
        return telegram_view(self.state.store_message(chat, message))

    def _existing(self, params: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        chat = self._chat_for_send(params)
        try:
            message = chat.messages[int(params.get("message_id"))]
        except (TypeError, ValueError, KeyError):
            raise bad_request("message to edit not found") from None
        if message.get("_deleted") or message.get("from", {}).get("id") != BOT_USER["id"]:
            raise bad_request("message to edit not found")
        return chat, message

    # --- Bot API methods ---------------------------------------------------------------------------

    async def api_getme(self, params):
        return BOT_USER

    async def api_logout(self, params):
        return True

    async def api_close(self, params):
        return True

    async def api_deletewebhook(self, params):
        self.state.webhook = None
        return True

    async def api_setwebhook(self, params):
        self.state.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return True

    async def api_getwebhookinfo(self, params):
        return {"url": (self.state.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.state.updates)}

    async def api_setmycommands(self, params):
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        self.state.commands = commands
        return True

    async def api_getmycommands(self, params):
        return self.state.commands

    async def api_deletemycommands(self, params):
        self.state.commands = []
        return True

    async def api_getupdates(self, params):
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = min(float(params.get("timeout") or 0), 50)
        if offset:
            self.state.confirm(offset)

        def available():
            return [u for u in self.state.updates if u["update_id"] >= offset][:limit]

        if not available() and timeout > 0:
            async with self.state.changed:
                try:
                    await asyncio.wait_for(self.state.changed.wait_for(
                        lambda: bool(available()) or self.state.closing), timeout)
                except asyncio.TimeoutError:
                    pass
        return available()

    async def api_sendchataction(self, params):
        self._chat_for_send(params)
        return True

    async def api_sendmessage(self, params):
        chat = self._chat_for_send(params)
        raw, plain = self._formatted(params, "text", MAX_MESSAGE_LENGTH, required=True)
        return self._new_bot_message(chat, params, {"text": plain, "_html": raw})

    async def api_editmessagetext(self, params):
        chat, message = self._existing(params)
        raw, plain = self._formatted(params, "text", MAX_MESSAGE_LENGTH, required=True)
        inline, _ = self._markup(params)
        if plain == message.get("text") and raw == message.get("_html") and inline == message.get("reply_markup"):
            raise bad_request("message is not modified: specified new message content and reply markup are "
                              "exactly the same as a current content and reply markup of the message")
        updated = {**message, "text": plain, "_html": raw, "edit_date": int(time.time())}
        updated.pop("reply_markup", None)
        if inline:
            updated["reply_markup"] = inline
        return telegram_view(self.state.store_message(chat, updated))

    async def api_editmessagecaption(self, params):
        chat, message = self._existing(params)
        raw, plain = self._formatted(params, "caption", MAX_CAPTION_LENGTH, required=False)
        inline, _ = self._markup(params)
        updated = {**message, "caption": plain, "_html": raw, "edit_date": int(time.time())}
        updated.pop("reply_markup", None)
        if inline:
            updated["reply_markup"] = inline
        return telegram_view(self.state.store_message(chat, updated))

    async def api_editmessagereplymarkup(self, params):
        chat, message = self._existing(params)
        inline, _ = self._markup(params)
        if inline == message.get("reply_markup"):
            raise bad_request("message is not modified: specified new message content and reply markup are "
                              "exactly the same as a current content and reply markup of the message")
        updated = {**message, "edit_date": int(time.time())}
        updated.pop("reply_markup", None)
        if inline:
            updated["reply_markup"] = inline
        return telegram_view(self.state.store_message(chat, updated))

    async def api_deletemessage(self, params):
        chat, message = self._existing(params)
        self.state.store_message(chat, {**message, "_deleted": True})
        return True

    async def api_answercallbackquery(self, params):
        query_id = params.get("callback_query_id")
        if not query_id or query_id not in self.state.callback_answers:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        if self.state.callback_answers[query_id] is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self.state.callback_answers[query_id] = {"text": params.get("text"),
                                                 "show_alert": bool(params.get("show_alert"))}
        return True

    def _file_param(self, params: dict[str, Any], key: str) -> tuple[str, str, int]:
        value = params.get(key)
        if isinstance(value, dict):
            content = value["content"]
            filename = value["filename"]
            file_id = self.state.add_file(filename, content, value.get("mime"))
            return file_id, filename, len(content)
        if isinstance(value, str) and value in self.state.files:
            stored = self.state.files[value]
            return value, stored["filename"], len(stored["content"])
        raise bad_request(f"wrong file identifier/HTTP URL specified for {key}")

    async def api_sendphoto(self, params):
        chat = self._chat_for_send(params)
        raw, plain = self._formatted(params, "caption", MAX_CAPTION_LENGTH, required=False)
        file_id, _, size = self._file_param(params, "photo")
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 450, "file_size": size}]
        return self._new_bot_message(chat, params, {"photo": photo, "caption": plain, "_html": raw})

    async def api_senddocument(self, params):
        chat = self._chat_for_send(params)
        raw, plain = self._formatted(params, "caption", MAX_CAPTION_LENGTH, required=False)
        file_id, filename, size = self._file_param(params, "document")
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename, "file_size": size}
        return self._new_bot_message(chat, params, {"document": document, "caption": plain, "_html": raw})

    async def api_getfile(self, params):
        file_id = params.get("file_id")
        stored = self.state.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(stored["content"]),
                "file_path": f"files/{file_id}"}

    async def download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        file_id = request.path_params["path"].rsplit("/", 1)[-1]
        stored = self.state.files.get(file_id)
        if stored is None:
            return Response(status_code=404)
        return Response(stored["content"], media_type=stored.get("mime") or "application/octet-stream")

    # --- control API -------------------------------------------------------------------------------

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        return body

    async def control_users(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"users": list(self.state.users.values())})
        try:
            body = await self._json(request)
            user_id = int(body["id"])
        except (ValueError, KeyError, TypeError):
            return control_error(400, 'expected {"id": number, "first_name": text, "username": optional}')
        if user_id <= 0:
            return control_error(400, "user ids are positive numbers")
        user = self.state.add_user(user_id, str(body.get("first_name") or f"用户{user_id}"), body.get("username"))
        await self.state.notify()
        return JSONResponse({"ok": True, "user": user})

    def _user(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            user_id = int(body["user_id"])
        except (KeyError, TypeError, ValueError):
            raise LookupError('"user_id" is required') from None
        user = self.state.users.get(user_id)
        if user is None:
            raise LookupError(f"unknown user {user_id}: create it with POST /sandbox/users first")
        return user

    def _user_message(self, user: dict[str, Any], body: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        chat_id = int(body.get("chat_id") or user["id"])
        chat_type = "private" if chat_id == user["id"] else body.get("chat_type", "group")
        chat = self.state.chat(chat_id, chat_type, body.get("chat_title"))
        message: dict[str, Any] = {"message_id": chat.next_message_id, "date": int(time.time()),
                                   "chat": chat.as_json(self.state.users), "from": user}
        kind = body.get("kind", "text")
        if kind == "text":
            text = str(body.get("text", ""))
            message["text"] = text
            entities = []
            if text.startswith("/"):
                command = text.split()[0]
                entities.append({"type": "bot_command", "offset": 0, "length": len(command)})
            mention = "@" + BOT_USER["username"]
            if mention in text:
                entities.append({"type": "mention", "offset": text.index(mention), "length": len(mention)})
            if entities:
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

    async def control_send(self, request: Request) -> Response:
        try:
            body = await self._json(request)
            user = self._user(body)
            chat, message = self._user_message(user, body)
        except LookupError as exc:
            return control_error(404, str(exc))
        except (ValueError, TypeError) as exc:
            return control_error(400, str(exc))
        if user["id"] in self.state.blocked:
            self.state.set_blocked(user["id"], False)  # writing to the bot again unblocks it, as in Telegram
        self.state.store_message(chat, message)
        update = self.state.enqueue({"message": message})
        await self.state.notify()
        return JSONResponse({"ok": True, "message_id": message["message_id"], "update_id": update["update_id"]})

    async def control_press(self, request: Request) -> Response:
        try:
            body = await self._json(request)
            user = self._user(body)
        except LookupError as exc:
            return control_error(404, str(exc))
        except ValueError as exc:
            return control_error(400, str(exc))
        label = str(body.get("text", ""))
        chat = self.state.chats.get(int(body.get("chat_id") or user["id"]))
        if chat is None:
            return control_error(404, "no such chat")
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
            return await self._press(user, chat, message, button, float(body.get("wait", 5)))
        for message_id in sorted(chat.messages, reverse=True):
            message = chat.messages[message_id]
            if message.get("from", {}).get("id") != BOT_USER["id"] or message.get("_deleted"):
                continue
            if wanted_id is not None and message_id != int(wanted_id):
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"] and "callback_data" in button:
                        return await self._press(user, chat, message, button, float(body.get("wait", 5)))
        if label and chat.reply_keyboard and any(label == b for row in chat.reply_keyboard for b in row):
            return await self.control_send_text(user, chat, label)
        return control_error(404, f"no inline button labelled {label!r} in this chat")

    async def control_send_text(self, user: dict[str, Any], chat: Chat, text: str) -> Response:
        message = {"message_id": chat.next_message_id, "date": int(time.time()),
                   "chat": chat.as_json(self.state.users), "from": user, "text": text}
        self.state.store_message(chat, message)
        update = self.state.enqueue({"message": message})
        await self.state.notify()
        return JSONResponse({"ok": True, "message_id": message["message_id"], "update_id": update["update_id"]})

    async def _press(self, user, chat, message, button, wait: float) -> Response:
        query_id = self.state.next_callback_id()
        self.state.callback_answers[query_id] = None
        update = self.state.enqueue({"callback_query": {
            "id": query_id, "from": user, "message": telegram_view(message),
            "chat_instance": f"ci{chat.id}", "data": button["callback_data"],
        }})
        await self.state.notify()
        answer = None
        if wait > 0:
            async with self.state.changed:
                try:
                    await asyncio.wait_for(self.state.changed.wait_for(
                        lambda: self.state.callback_answers.get(query_id) is not None), wait)
                except asyncio.TimeoutError:
                    pass
            answer = self.state.callback_answers.get(query_id)
        return JSONResponse({"ok": True, "update_id": update["update_id"], "message_id": message["message_id"],
                             "button": button["text"], "answer": answer})

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
            if chat is None:
                return []
            result = []
            for message_id, message in sorted(chat.messages.items()):
                if message_id <= after or message.get("_deleted"):
                    continue
                if message.get("from", {}).get("id") == BOT_USER["id"]:
                    result.append({**public_message(message), "from": "bot"} if include_user else public_message(message))
                elif include_user:
                    result.append({"message_id": message_id, "from": "user", "text": message.get("text") or
                                   message.get("caption") or "", "photo": "photo" in message,
                                   "document": message.get("document", {}).get("file_name")})
            return result

        if wait > 0 and not listed():
            async with self.state.changed:
                try:
                    await asyncio.wait_for(self.state.changed.wait_for(
                        lambda: bool(listed()) or self.state.closing), wait)
                except asyncio.TimeoutError:
                    pass
        return JSONResponse({"messages": listed()})

    async def control_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"faults": [vars(f) for f in self.state.faults]})
        if request.method == "DELETE":
            self.state.faults.clear()
            return JSONResponse({"ok": True})
        try:
            body = await self._json(request)
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
        if request.method == "GET":
            return JSONResponse(self.state.chaos.report() if self.state.chaos else {"calls": {}, "injected": {}})
        if request.method == "DELETE":
            report = self.state.chaos.report() if self.state.chaos else {"calls": {}, "injected": {}}
            self.state.chaos = None
            return JSONResponse(report)
        try:
            body = await self._json(request)
            errors = [str(e) for e in body.get("errors") or sorted(FAULT_KINDS)]
            methods = body.get("methods")
            chaos = Chaos(seed=int(body["seed"]), rate=float(body["rate"]), errors=errors,
                          methods={str(m).lower() for m in methods} if methods else None,
                          exclude={str(m).lower() for m in body.get("exclude") or []},
                          rates={str(m).lower(): float(r) for m, r in (body.get("rates") or {}).items()},
                          retry_after=int(body.get("retry_after", 1)), delay=float(body.get("delay", 10)))
        except (KeyError, TypeError, ValueError):
            return control_error(400, 'expected {"seed", "rate", optional "errors", "methods", "exclude", "rates", '
                                      '"retry_after", "delay"}')
        if not all(0 <= r <= 1 for r in [chaos.rate, *chaos.rates.values()]) or not errors or not set(errors) <= FAULT_KINDS:
            return control_error(400, f"rate must be within 0..1 and errors among {sorted(FAULT_KINDS)}")
        self.state.chaos = chaos
        return JSONResponse({"ok": True})

    async def control_reset(self, request: Request) -> Response:
        self.state.reset()
        await self.state.notify()
        return JSONResponse({"ok": True})

    async def control_block(self, request: Request) -> Response:
        """The user blocks (or unblocks) the bot: Telegram then sends the bot a my_chat_member update."""
        try:
            body = await self._json(request)
            user = self._user(body)
        except LookupError as exc:
            return control_error(404, str(exc))
        except ValueError as exc:
            return control_error(400, str(exc))
        blocked = bool(body.get("blocked", True))
        self.state.set_blocked(user["id"], blocked)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        chat = self.state.chat(user["id"])
        self.state.enqueue({"my_chat_member": {
            "chat": chat.as_json(self.state.users), "from": user, "date": int(time.time()),
            "old_chat_member": {"user": BOT_USER, "status": old},
            "new_chat_member": {"user": BOT_USER, "status": new, **({"until_date": 0} if blocked else {})},
        }})
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
            body = await self._json(request)
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
        })
