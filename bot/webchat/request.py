"""The bot's transport with the web channel in it: a call for a web chat is answered by the web channel, everything
else goes on to Telegram (or the sandbox) as before.

A call is the web's when its chat (chat_id, or the chat of a command menu's scope) is a web person's, or when it
answers a press made on the web (callback ids of the web channel). python-telegram-bot sees the same answers either
way, so no handler knows which channel it serves.
"""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.sandbox.botapi import decode_param
from bot.webchat.channel import CALLBACK_PREFIX, WebChannel, is_web_id


def _params(request_data: RequestData | None) -> dict[str, Any]:
    """The call's parameters as the Bot API reads them off the wire (the sandbox's BotApi takes them so)."""
    if request_data is None:
        return {}
    params = {key: decode_param(key, value) for key, value in request_data.json_parameters.items()}
    for key, (filename, content, mime) in (request_data.multipart_data or {}).items():
        params[key] = {"filename": filename, "content": content, "mime": mime}
    return params


def is_web_call(params: dict[str, Any]) -> bool:
    if is_web_id(params.get("chat_id")):
        return True
    scope = params.get("scope")
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            scope = None
    if isinstance(scope, dict) and is_web_id(scope.get("chat_id")):
        return True
    return str(params.get("callback_query_id", "")).startswith(CALLBACK_PREFIX)


class ChannelRequest(BaseRequest):
    def __init__(self, inner: BaseRequest, web: WebChannel):
        self.inner = inner
        self.web = web

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        # decided on the parameters as python-telegram-bot holds them: a Telegram call costs a dictionary lookup
        if request_data is not None and is_web_call(request_data.parameters):
            return await self.web.call(api_method, _params(request_data))
        return await self.inner.do_request(url, method, request_data, **timeouts)
