"""The Bot API half of the sandbox: the methods qualitybot calls, checked as strictly as Telegram checks them.

POST (or GET) /bot<token>/<method> with form, multipart or JSON bodies, or parameters in the query string;
GET /file/bot<token>/<path> for files. Limits (flood control, callback expiry, sizes) come from state.limits.
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

from bot.sandbox.commands import CommandError, CommandsApi
from bot.sandbox.limits import is_counted
from bot.sandbox.markup import UNTOUCHED, MarkupError, parse_markup
from bot.sandbox.state import BOT_USER, Chat, Fault, SandboxState
from bot.sandbox.telegram_html import EntityParseError, html_to_plain

log = logging.getLogger(__name__)

# Parameters that are plain strings on the wire; every other value is JSON-decoded, as Telegram does.
STRING_PARAMS = {"text", "caption", "parse_mode", "callback_query_id", "url", "secret_token",
                 "language_code", "photo", "document", "file_id", "scope"}
MAX_MESSAGE_LENGTH = 4096  # characters (code points) after entity parsing, as Telegram counts them
MAX_CAPTION_LENGTH = 1024
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same as a "
                "current content and reply markup of the message")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
OTHER_POLLER = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


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


def telegram_view(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the Bot API returns it (without the sandbox's private keys)."""
    return {key: value for key, value in message.items() if not key.startswith("_")}


def decode_param(key: str, value: str) -> Any:
    """A form field or query-string value as Telegram reads it: JSON unless the parameter is a plain string."""
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class BotApi(CommandsApi):
    def __init__(self, state: SandboxState, token: str):
        self.state = state
        self.token = token

    async def _params(self, request: Request) -> dict[str, Any]:
        params = {key: decode_param(key, value) for key, value in request.query_params.multi_items()}
        content_type = request.headers.get("content-type", "")
        if "application/json" in content_type:
            body = await request.body()
            if body:
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise ValueError("not an object")
                params.update(decoded)
        elif "form" in content_type:
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = {"filename": value.filename or key, "content": await value.read(),
                                   "mime": value.content_type}
                else:
                    params[key] = decode_param(key, value)
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
        except Exception:  # malformed JSON, form or multipart: never a 500
            return api_error_response(bad_request("invalid request body"))
        self.state.api_calls[method] = self.state.api_calls.get(method, 0) + 1
        fault = self.state.take_fault(method, params.get("chat_id"))
        if fault is not None and fault.error != "reset_after":
            return await self._fault_response(fault)
        chat = self.state.chats.get(_int(params.get("chat_id"))) if is_counted(method) else None
        try:
            if chat is not None:
                refusal = self.state.limits.check(chat.id, chat.type == "private")
                if refusal is not None:
                    raise too_many_requests(refusal.retry_after)
            result = await handler(params)
        except ApiError as error:
            return api_error_response(error)
        except CommandError as error:
            return api_error_response(bad_request(str(error)))
        except Exception:
            # only injected faults answer 5xx: a request the sandbox cannot handle is the client's mistake
            log.warning("sandbox: %s failed on %r", method, {k: v for k, v in params.items() if k != "document"},
                        exc_info=True)
            return api_error_response(bad_request("invalid parameters"))
        if chat is not None:
            self.state.limits.record(chat.id, chat.type == "private", method)
        await self.state.notify()
        if fault is not None:  # reset_after: the call took effect, but its answer never reaches the bot
            return DroppedConnection(method)
        return JSONResponse({"ok": True, "result": result})

    async def _fault_response(self, fault: Fault) -> Response:
        if fault.error == "retry_after":
            return api_error_response(too_many_requests(fault.retry_after))
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
        chat = self.state.chats.get(_int(params.get("chat_id")))
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private":
            if chat.id in self.state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if self.state.limits.settings.require_start and chat.id not in self.state.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
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

    def _markup(self, params: dict[str, Any]) -> tuple[dict[str, Any] | None, Any]:
        try:
            return parse_markup(params.get("reply_markup"), self.state.limits.settings)
        except MarkupError as exc:
            raise bad_request(str(exc)) from None

    def _new_bot_message(self, chat: Chat, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        inline, keyboard = self._markup(params)
        message = {"message_id": chat.next_message_id, "date": int(time.time()),
                   "chat": chat.as_json(self.state.users), "from": BOT_USER, **body}
        if inline:
            message["reply_markup"] = inline
        if keyboard is not UNTOUCHED:
            message["_keyboard"] = keyboard
        return telegram_view(self.state.store_message(chat, message))

    def _existing(self, params: dict[str, Any]) -> tuple[Chat, dict[str, Any]]:
        chat = self._chat_for_send(params)
        message = chat.messages.get(_int(params.get("message_id")))
        if message is None or message.get("_deleted") or message.get("from", {}).get("id") != BOT_USER["id"]:
            raise bad_request("message to edit not found")
        return chat, message

    def _edited(self, chat: Chat, message: dict[str, Any], changes: dict[str, Any], inline) -> dict[str, Any]:
        updated = {**message, **changes, "edit_date": int(time.time())}
        updated.pop("reply_markup", None)
        if inline:
            updated["reply_markup"] = inline
        return telegram_view(self.state.store_message(chat, updated))

    # --- Bot API methods ---------------------------------------------------------------------------

    async def api_getme(self, params):
        return BOT_USER

    async def api_logout(self, params):
        return True

    async def api_close(self, params):
        return True

    async def api_deletewebhook(self, params):
        self.state.webhook = None
        if params.get("drop_pending_updates") is True:
            self.state.drop_pending()
        return True

    async def api_setwebhook(self, params):
        if params.get("drop_pending_updates") is True:
            self.state.drop_pending()
        if not params.get("url"):
            return await self.api_deletewebhook(params)
        self.state.set_allowed_updates(params.get("allowed_updates"))
        self.state.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        self._overtake_poller("Conflict: terminated by setWebhook request")
        return True

    async def api_getwebhookinfo(self, params):
        return {"url": (self.state.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.state.updates),
                "allowed_updates": sorted(self.state.allowed_updates)}

    def _overtake_poller(self, reason: str) -> int:
        self.state.polls += 1
        self.state.poll_conflict = reason
        return self.state.polls

    async def api_getupdates(self, params):
        if self.state.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                "to delete the webhook first")
        offset = _int(params.get("offset")) or 0
        limit = min(max(_int(params.get("limit")) or 100, 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0), 50)
        self.state.set_allowed_updates(params.get("allowed_updates"))
        mine = self._overtake_poller(OTHER_POLLER)
        await self.state.notify()  # a getUpdates still waiting now answers 409
        if offset:
            self.state.confirm(offset)

        def available():
            return [u for u in self.state.updates if u["update_id"] >= offset][:limit]

        if not available() and timeout > 0:
            await self.state.wait_until(lambda: bool(available()) or self.state.polls != mine, timeout)
        if self.state.polls != mine:
            raise ApiError(409, self.state.poll_conflict)
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
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        raw, plain = self._formatted(params, "text", MAX_MESSAGE_LENGTH, required=True)
        inline, _ = self._markup(params)
        if plain == message.get("text") and raw == message.get("_html") and inline == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        return self._edited(chat, message, {"text": plain, "_html": raw}, inline)

    async def api_editmessagecaption(self, params):
        chat, message = self._existing(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        raw, plain = self._formatted(params, "caption", MAX_CAPTION_LENGTH, required=False)
        inline, _ = self._markup(params)
        if plain == message.get("caption", "") and inline == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        return self._edited(chat, message, {"caption": plain, "_html": raw}, inline)

    async def api_editmessagereplymarkup(self, params):
        chat, message = self._existing(params)
        inline, _ = self._markup(params)
        if inline == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        return self._edited(chat, message, {}, inline)

    async def api_deletemessage(self, params):
        chat, message = self._existing(params)
        self.state.store_message(chat, {**message, "_deleted": True})
        return True

    async def api_answercallbackquery(self, params):
        query_id = params.get("callback_query_id")
        if self.state.callback_answers.get(query_id, ...) is not None:  # unknown, or answered already
            raise bad_request(QUERY_TOO_OLD)
        if self.state.limits.callback_expired(self.state.callback_pressed_at.get(query_id, 0.0)):
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        text = "" if text is None else str(text)
        longest = self.state.limits.settings.answer_text_max
        if longest and len(text) > longest:
            raise bad_request("MESSAGE_TOO_LONG")
        self.state.callback_answers[query_id] = {"text": text or None, "show_alert": params.get("show_alert") is True}
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
        self._markup(params)  # a bad keyboard is refused before the upload is kept
        file_id, _, size = self._file_param(params, "photo")
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 450, "file_size": size}]
        return self._new_bot_message(chat, params, {"photo": photo, "caption": plain, "_html": raw})

    async def api_senddocument(self, params):
        chat = self._chat_for_send(params)
        raw, plain = self._formatted(params, "caption", MAX_CAPTION_LENGTH, required=False)
        self._markup(params)
        file_id, filename, size = self._file_param(params, "document")
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename, "file_size": size}
        return self._new_bot_message(chat, params, {"document": document, "caption": plain, "_html": raw})

    async def api_getfile(self, params):
        file_id = params.get("file_id")
        stored = self.state.files.get(file_id) if isinstance(file_id, str) else None
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
