"""The web channel's pages and JSON API at /m/.

Identity without passwords or SMS: a person gives a name, gets a fresh web id and keeps it in a signed, HttpOnly,
SameSite cookie (itsdangerous, as Starlette's sessions sign theirs); the 市县 and 身份 are asked by the bot itself,
as in Telegram. Every POST needs the page's CSRF token in a header (other sites cannot set one), JSON, and a request
id not seen before (a replayed POST is refused); each person and each address has a flood budget (429 and a Chinese
message when spent). The id never appears in a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.files import write_private
from bot.render import plain_name
from bot.webchat.channel import WebChannel

log = logging.getLogger(__name__)

COOKIE = "qb_web"
COOKIE_DAYS = 180
CSRF_HEADER = "X-CSRF-Token"
NAME_LIMIT = 20
TEXT_LIMIT = 4000
MAX_WAIT = 25.0
REMEMBERED_REQUESTS = 64  # request ids kept per person, to refuse a replayed POST
START_PAYLOADS = ("c_", "team_")
TOO_MANY = "操作太频繁，请稍等几秒再试。"


@dataclass
class Bucket:
    """Bursts up to `capacity`, then `rate` a second."""
    capacity: float
    rate: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class FloodLimits:
    """Per person (10 at once, then one a second: quicker than anyone reads an answer) and per address (30 at once,
    then 3 a second: a site's Wi-Fi puts many people behind one address)."""
    clock: Any = time.monotonic
    people: dict[int, Bucket] = field(default_factory=dict)
    addresses: dict[str, Bucket] = field(default_factory=dict)

    def allow(self, user_id: int | None, address: str) -> bool:
        now = self.clock()
        if len(self.addresses) > 10_000:
            self.addresses.clear()
        by_address = self.addresses.setdefault(address, Bucket(30, 3.0)).take(now)
        by_person = user_id is None or self.people.setdefault(user_id, Bucket(10, 1.0)).take(now)
        return by_address and by_person


class WebIdentity:
    """The signed cookie: who the person is, and the CSRF token their pages carry."""

    def __init__(self, secret: str, secure: bool):
        self.serializer = URLSafeTimedSerializer(secret, salt="qualitybot-web")
        self.secret = secret.encode()
        self.secure = secure

    def person(self, request: Request) -> int | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.serializer.loads(raw, max_age=COOKIE_DAYS * 86400)
        except BadSignature:
            log.warning("Refused a web cookie with a bad signature from %s", request.client.host if request.client
                        else "?")
            return None
        return data.get("u") if isinstance(data, dict) and isinstance(data.get("u"), int) else None

    def csrf(self, user_id: int) -> str:
        return hmac.new(self.secret, f"csrf:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def remember(self, response: Response, user_id: int) -> None:
        response.set_cookie(COOKIE, self.serializer.dumps({"u": user_id}), max_age=COOKIE_DAYS * 86400,
                            httponly=True, samesite="lax", secure=self.secure, path="/m")


def _page(name: str) -> str:
    return resources.files("bot").joinpath("static", name).read_text(encoding="utf-8")


def web_routes(web: WebChannel, identity: WebIdentity, bot_username: Callable[[], str],
               redeem: Callable[[str], dict[str, Any] | None], limits: FloodLimits | None = None) -> list[Route]:
    """`bot_username`: the bot's @username (known once the bot has started); `redeem`: the Telegram account behind a
    one-time web link from the bot (Accounts.redeem_web_link), used up by the call."""
    limits = limits or FloodLimits()
    seen: dict[int, OrderedDict[str, None]] = {}

    def address(request: Request) -> str:
        return request.client.host if request.client else "?"

    def signed_in(user_id: int) -> JSONResponse:
        """The cookie that names the person from now on, and the CSRF token their page sends back."""
        response = JSONResponse({"ok": True, "csrf": identity.csrf(user_id)})
        identity.remember(response, user_id)
        return response

    def refuse(status: int, message: str) -> JSONResponse:
        return JSONResponse({"ok": False, "error": message}, status_code=status)

    async def checked(request: Request, needs_person: bool = True) -> tuple[int | None, dict[str, Any]] | Response:
        """The person and the JSON body of a POST that passed every check, or the refusal."""
        user_id = identity.person(request)
        if needs_person and (user_id is None or not web.known(user_id)):
            return refuse(401, "请先登记（刷新页面）。")
        if not limits.allow(user_id, address(request)):
            return refuse(429, TOO_MANY)
        if user_id is not None and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""),
                                                           identity.csrf(user_id)):
            log.warning("Refused a web POST without the page's CSRF token from %s", address(request))
            return refuse(403, "页面已过期，请刷新后再试。")
        if "application/json" not in request.headers.get("content-type", ""):
            return refuse(415, "请求格式不对。")
        try:
            body = await request.json()
        except ValueError:
            return refuse(400, "请求格式不对。")
        if not isinstance(body, dict):
            return refuse(400, "请求格式不对。")
        if user_id is not None:
            request_id = str(body.get("request_id", ""))
            if not 8 <= len(request_id) <= 64:
                return refuse(400, "请求格式不对。")
            recent = seen.setdefault(user_id, OrderedDict())
            if request_id in recent:
                log.warning("Refused a replayed web POST from %s", address(request))
                return refuse(409, "这个操作已经提交过了。")
            recent[request_id] = None
            while len(recent) > REMEMBERED_REQUESTS:
                recent.popitem(last=False)
        return user_id, body

    async def page(request: Request) -> Response:
        user_id = identity.person(request)
        known = user_id is not None and web.known(user_id)
        html = (_page("mobile.html").replace("{{CSRF}}", identity.csrf(user_id) if known else "")
                .replace("{{REGISTERED}}", "1" if known else "0").replace("{{BOT}}", bot_username()))
        return HTMLResponse(html,
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                     "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                     "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"})

    async def join(request: Request) -> Response:
        """A team's or a contest's QR code (`c_<id>`, `team_<code>` or a bare team code): the page, which sends the
        deep link once the person is known, and offers Telegram instead."""
        payload = request.path_params["payload"]
        if not payload.replace("_", "").isascii() or not payload.replace("_", "").isalnum() or len(payload) > 40:
            return RedirectResponse("/m/", status_code=303)
        if not payload.startswith(START_PAYLOADS):
            payload = "team_" + payload
        # never acted on here: a GET could come from another site; the page sends it as a checked POST
        return RedirectResponse(f"/m/?start={payload}", status_code=303)

    async def hello(request: Request) -> Response:
        """Registration's first step: a name, then the bot asks 市县 and 身份 in the chat."""
        result = await checked(request, needs_person=False)
        if isinstance(result, Response):
            return result
        _, body = result
        name = plain_name(str(body.get("name", "")))[:NAME_LIMIT].strip()
        if not name:
            return refuse(400, "请填写您的姓名或称呼。")
        start = str(body.get("start", ""))
        user_id = web.new_person(name)
        await web.say(user_id, f"/start {start}".strip() if start.startswith(START_PAYLOADS) else "/start")
        return signed_in(user_id)

    async def link_page(request: Request) -> Response:
        """A one-time link from the bot: the page asks before using it (a link preview or a scanner fetching this
        URL must not use it up), then POSTs it."""
        token = request.path_params["token"]
        if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
            return RedirectResponse("/m/", status_code=303)
        return RedirectResponse(f"/m/?link={token}", status_code=303)

    async def link(request: Request) -> Response:
        result = await checked(request, needs_person=False)
        if isinstance(result, Response):
            return result
        user_id, body = result
        account = redeem(str(body.get("token", ""))[:64])
        if account is None:
            return refuse(410, "这个链接已经用过或已过期，请在 Telegram 里向机器人发送 /web 重新获取。")
        if user_id is None or not web.known(user_id):
            user_id = web.new_person(account.get("first_name") or "用户")
        web.act_as(user_id, account)
        log.info("A web person now acts as Telegram user %s", account["id"])
        await web.say(user_id, "/me")
        return signed_in(user_id)

    async def say(request: Request) -> Response:
        result = await checked(request)
        if isinstance(result, Response):
            return result
        user_id, body = result
        text = str(body.get("text", "")).strip()
        if not text:
            return refuse(400, "请输入内容。")
        if len(text) > TEXT_LIMIT:
            return refuse(400, f"一条消息最多 {TEXT_LIMIT} 个字。")
        return JSONResponse({"ok": True, "message_id": await web.say(user_id, text)})

    async def press(request: Request) -> Response:
        result = await checked(request)
        if isinstance(result, Response):
            return result
        user_id, body = result
        try:
            message_id, row, column = int(body["message_id"]), int(body["row"]), int(body["column"])
            answer = await web.press(user_id, message_id, row, column)
        except (KeyError, TypeError, ValueError, LookupError):
            return refuse(404, "该按钮已失效。")
        return JSONResponse({"ok": True, "answer": answer})

    async def messages(request: Request) -> Response:
        user_id = identity.person(request)
        if user_id is None or not web.known(user_id):
            return refuse(401, "请先登记（刷新页面）。")
        try:
            after = int(request.query_params.get("after", 0))
            wait = min(max(float(request.query_params.get("wait", 0)), 0.0), MAX_WAIT)
        except ValueError:
            return refuse(400, "请求格式不对。")
        return JSONResponse({"messages": await web.messages(user_id, after, wait),
                             "bot": {"username": bot_username()}})

    async def file(request: Request) -> Response:
        user_id = identity.person(request)
        stored = web.file(user_id, request.path_params["file_id"]) if user_id is not None else None
        if stored is None:
            return Response(status_code=404)
        return Response(stored["content"], media_type=stored.get("mime") or "application/octet-stream",
                        headers={"Cache-Control": "private, max-age=86400"})

    return [Route("/m/", page), Route("/m", lambda request: RedirectResponse("/m/", status_code=308)),
            Route("/m/join/{payload}", join), Route("/m/api/hello", hello, methods=["POST"]),
            Route("/m/link/{token}", link_page), Route("/m/api/link", link, methods=["POST"]),
            Route("/m/api/say", say, methods=["POST"]), Route("/m/api/press", press, methods=["POST"]),
            Route("/m/api/messages", messages), Route("/m/api/file/{file_id}", file)]


def web_secret(db_path: Path) -> str:
    """The key that signs web cookies: QB_WEB_SECRET, else one made once and kept beside the database (0600), so
    that people stay signed in across restarts."""
    path = db_path.with_name(db_path.name + ".web-secret")
    secret = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    if len(secret) < 32:
        secret = secrets.token_urlsafe(32)
        write_private(path, secret.encode())
    return secret
