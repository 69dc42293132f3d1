"""`qualitybot sandbox`: the Bot API sandbox alone, for any Bot API client (or `qualitybot run` with QB_BOT_API_URL).

Only the Bot API and the control API are served: no bot, no web pages. Telegram's limits are on; loosen them
through POST /sandbox/limits. The first line printed is the Bot API base URL, for scripts to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` answers the long polls first, then stops it."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def build_app(state: SandboxState, token: str) -> Starlette:
    return Starlette(routes=SandboxServer(state, token).routes())


async def serve(host: str, port: int, token: str, journal: Path | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT or SIGTERM (or until `stop` is set, for callers that own the signals)."""
    from bot.runtime import KEEP_ALIVE_SECONDS, bind_socket  # the same socket and keep-alive as the bot's

    state = SandboxState(journal)
    sock = bind_socket(host, port)
    port = sock.getsockname()[1]
    server = _QuietServer(uvicorn.Config(build_app(state, token), log_level="warning", lifespan="off",
                                         timeout_graceful_shutdown=2,
                                         timeout_keep_alive=KEEP_ALIVE_SECONDS))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        print(f"Bot API: http://{host}:{port}/bot{token}/", flush=True)
        print(f"Control API: http://{host}:{port}/sandbox/ (docs/sandbox.md; Telegram's limits are on, "
              f"see /sandbox/limits)" + (f"; journal {journal}" if journal else ""), flush=True)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        await state.release_waiters()  # answer the long polls, so that stopping cuts nothing off
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        state.close()


def run(host: str, port: int, token: str, journal: Path | None = None) -> int:
    asyncio.run(serve(host, port, token, journal))
    return 0
