"""The process's web server: health check, Telegram webhook, and the Bot API sandbox when running without a token."""

from __future__ import annotations

import hmac
import json
import logging
from importlib import resources
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_route(path: str, secret: str, deliver: Callable[[dict[str, Any]], Awaitable[None]]) -> Route:
    """Accept Telegram's update POSTs only with the secret token Telegram was given in setWebhook."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Rejected a webhook request without the right secret token from %s", request.client)
            return Response(status_code=403)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return Response(status_code=400)
        if not isinstance(body, dict):
            return Response(status_code=400)
        await deliver(body)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])


def build_web_app(extra_routes: list[BaseRoute], health: Callable[[], dict[str, Any]]) -> Starlette:
    async def healthz(request: Request) -> Response:
        status = health()
        return JSONResponse(status, status_code=200 if status.get("ok") else 503)

    async def telegram_html(request: Request) -> Response:
        """The script both chat pages (the sandbox's, the web channel's) draw the bot's messages with."""
        script = resources.files("bot").joinpath("static", "telegram-html.js").read_bytes()
        return Response(script, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "max-age=3600"})

    return Starlette(routes=[Route("/healthz", healthz), Route("/static/telegram-html.js", telegram_html),
                             *extra_routes])
