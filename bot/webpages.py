"""Web pages served by the bot's process: the live contest board for the big screen and the sandbox chat page."""

from __future__ import annotations

import asyncio
import json
import logging
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.accounts import REGION_NAMES, ROLES
from bot.contest_setup import ContestError
from bot.leaderboard import format_points, unranked_note
from bot.live import HOST_ACTIONS
from bot.policy import PermissionDenied
from bot.render import as_int, plain_name
from bot.sandbox.state import BOT_USER, SandboxState
from bot.services import Services

log = logging.getLogger(__name__)
MAX_USER_ID = 2**52  # Telegram's user ids fit in 52 bits

NOT_FOUND_PAGE = "<!doctype html><meta charset=utf-8><title>404</title><h1>404</h1><p>页面不存在或链接已失效。</p>"
BOARD_PUSH_SECONDS = 0.5  # an answer shows on the big screen within a second
BOARD_TEAMS = 10  # the page shows as many as fit its height
KEEPALIVE_SECONDS = 15.0


def _page(name: str) -> str:
    return resources.files("bot").joinpath("static", name).read_text(encoding="utf-8")


def board_snapshot(services: Services, contest: dict[str, Any]) -> dict[str, Any]:
    """What the big screen shows; names go out as data and the page writes them as text, never as HTML.

    Scores are written as people read them (85, 85.5); teams below the minimum size follow the ranked ones."""
    board = services.contests.leaderboard(contest["id"], with_questions=False)
    telegram_join, web_join = services.contest_links(contest["id"])
    ranked = [t for t in board.teams if t.ranked]
    unranked = [t for t in board.teams if not t.ranked]
    return {
        "title": contest["title"], "status": services.contests.status(contest), "starts_at": contest["starts_at"],
        "ends_at": contest["ends_at"], "organiser": services.results.organiser(contest),
        "participants": board.participants, "generated_at": board.generated_at,
        "min_team_size": board.min_team_size,
        "teams": [{"rank": t.rank, "name": t.name, "mean": t.mean_score, "mean_text": format_points(t.mean_score),
                   "participants": t.participants, "rate": t.participation_rate} for t in ranked][:BOARD_TEAMS],
        "more_teams": max(0, len(ranked) - BOARD_TEAMS),
        "unranked": [{"name": t.name, "participants": t.participants, "mean_text": format_points(t.mean_score),
                      "note": unranked_note(t, board.min_team_size)} for t in unranked][:BOARD_TEAMS],
        "more_unranked": max(0, len(unranked) - BOARD_TEAMS),
        "individuals": [{"rank": i.rank, "name": i.name, "team": i.team, "score": i.score,
                         "score_text": format_points(i.score)} for i in board.individuals][:10],
        "join": web_join or telegram_join,  # what the QR code carries
        "join_note": "手机扫码参赛：浏览器或 Telegram 均可" if web_join else "用手机扫码，在 Telegram 中参赛",
        "live": services.contests.live_view(contest["id"], board) if contest["mode"] == "live" else None,
    }


def board_routes(services: Services) -> list[Route]:
    def contest_for(request: Request) -> dict[str, Any] | None:
        return services.storage.contest_by_board_token(request.path_params["token"])

    async def page(request: Request) -> Response:
        if contest_for(request) is None:
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
        return HTMLResponse(_page("board.html"))

    async def data(request: Request) -> Response:
        contest = contest_for(request)
        if contest is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(board_snapshot(services, contest))

    async def events(request: Request) -> Response:
        """Server-sent events: a new snapshot whenever an answer changes the standings."""
        contest = contest_for(request)
        if contest is None:
            return JSONResponse({"error": "not found"}, status_code=404)

        async def stream():
            last_version = None
            idle = 0.0
            while not await request.is_disconnected():
                version = services.storage.contest_version(contest["id"])
                if version != last_version:
                    last_version = version
                    idle = 0.0
                    snapshot = board_snapshot(services, services.storage.contest(contest["id"]))
                    yield f"data: {json.dumps(snapshot, ensure_ascii=False)}\n\n"
                elif idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(BOARD_PUSH_SECONDS)
                idle += BOARD_PUSH_SECONDS

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def qr(request: Request) -> Response:
        contest = contest_for(request)
        if contest is None:
            return Response(status_code=404)
        return Response(qr_png(board_snapshot(services, contest)["join"]), media_type="image/png")

    async def host(request: Request) -> Response:
        """The host view's moves (a live contest's 开始 / 下一题 / 暂停 / 继续 / 结束), allowed by the host token the
        organiser was given; the board token alone only shows."""
        contest = contest_for(request)
        if contest is None:
            return JSONResponse({"ok": False, "message": "页面不存在或链接已失效。"}, status_code=404)
        try:
            body = await request.json()
            token, action, position = str(body["token"]), str(body["action"]), body["position"]
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"ok": False, "message": "请求格式不对。"}, status_code=400)
        if action not in HOST_ACTIONS or isinstance(position, bool) or not isinstance(position, int):
            return JSONResponse({"ok": False, "message": "请求格式不对。"}, status_code=400)
        try:
            said = services.contests.host(contest["id"], action, position + 1, host_token=token)
        except PermissionDenied:
            log.warning("Refused a host move on contest %s without the right host token", contest["id"])
            return JSONResponse({"ok": False, "message": "主持链接无效。"}, status_code=403)
        except ContestError as error:
            return JSONResponse({"ok": False, "message": str(error)}, status_code=409)
        return JSONResponse({"ok": True, "message": said})

    return [Route("/board/{token}", page), Route("/board/{token}/data", data), Route("/board/{token}/events", events),
            Route("/board/{token}/qr.png", qr), Route("/board/{token}/host", host, methods=["POST"])]


def qr_png(text: str) -> bytes:
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make(text, box_size=10, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def sandbox_page_routes(services: Services, sandbox: SandboxState) -> list[Route]:
    """The browser chat page and the persona API it uses; mounted only when running against the sandbox."""

    async def page(request: Request) -> Response:
        return HTMLResponse(_page("sandbox.html"))

    async def options(request: Request) -> Response:
        return JSONResponse({
            "regions": REGION_NAMES, "roles": ROLES, "bot": {"username": BOT_USER["username"],
                                                             "first_name": BOT_USER["first_name"]},
            "teams": [{"code": t["code"], "name": t["name"], "region": t["region"]}
                      for t in services.accounts.list_teams()]})

    async def personas(request: Request) -> Response:
        if request.method == "GET":
            people = []
            for user in sandbox.users.values():
                registered = services.accounts.get(user["id"]) or {}
                people.append({"id": user["id"], "name": user["first_name"], "region": registered.get("region"),
                               "role": registered.get("role"), "team": registered.get("team_name")})
            return JSONResponse({"personas": people})
        try:
            body = await request.json()
            name = plain_name(str(body["name"]))[:40]
            region = str(body["region"])
            role = str(body["role"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"ok": False, "error": "name, region and role are required"}, status_code=400)
        if not name or region not in REGION_NAMES or role not in ROLES:
            return JSONResponse({"ok": False, "error": "unknown region or role"}, status_code=400)
        raw_id = body.get("id")
        if raw_id is None:
            user_id = max([100_000, *sandbox.users]) + 1
        else:  # JSON true is not the number 1
            user_id = None if isinstance(raw_id, bool) else as_int(str(raw_id))
        if user_id is None or not 0 < user_id <= MAX_USER_ID:
            return JSONResponse({"ok": False, "error": f"id must be a whole number from 1 to {MAX_USER_ID}"},
                                status_code=400)
        team_code = str(body.get("team_code") or "")
        if team_code and services.accounts.team_by_code(team_code) is None:
            return JSONResponse({"ok": False, "error": "没有找到这个团队码"}, status_code=400)
        sandbox.add_user(user_id, name, started=True)  # a persona has opened the chat with the bot
        services.accounts.touch(user_id, name, None)
        services.accounts.set_region(user_id, region)
        services.accounts.set_role(user_id, role)
        if team_code:
            services.accounts.join_team(user_id, team_code)
        await sandbox.notify()
        return JSONResponse({"ok": True, "user": {"id": user_id, "name": name}})

    return [Route("/sandbox", page), Route("/sandbox/api/options", options),
            Route("/sandbox/api/personas", personas, methods=["GET", "POST"])]
