"""Webhook mode: updates arrive by POST and are accepted only with Telegram's secret token."""

import asyncio
import contextlib
from dataclasses import replace

import httpx
import uvicorn
from starlette.applications import Starlette

from bot.runtime import bind_socket
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState
from tests.helpers import RunningBot, SandboxClient, make_config

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
SECRET = "webhook-secret-0123456789"


class QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def test_webhook_requires_the_secret_token(tmp_path, knowledge_service):
    state = SandboxState()
    sock = bind_socket("127.0.0.1", 0)
    server = QuietServer(uvicorn.Config(Starlette(routes=SandboxServer(state, TOKEN).routes()), log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    sandbox_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = replace(make_config(tmp_path), token=TOKEN, bot_api_url=sandbox_url,
                     webhook_url="https://bot.example.org/telegram", webhook_secret=SECRET)
    running = await RunningBot(config, knowledge_service).start()
    sandbox = SandboxClient(sandbox_url)
    try:
        assert state.webhook == {"url": "https://bot.example.org/telegram", "secret_token": SECRET}
        state.add_user(3001, "韦工", started=True)  # the update below is the person writing to the bot
        update = {"update_id": 1, "message": {"message_id": 1, "date": 1700000000, "text": "/help",
                                              "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                                              "chat": {"id": 3001, "type": "private", "first_name": "韦工"},
                                              "from": {"id": 3001, "is_bot": False, "first_name": "韦工"}}}
        async with httpx.AsyncClient(base_url=running.runtime.url) as web:
            assert (await web.post("/telegram", json=update)).status_code == 403
            assert (await web.post("/telegram", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})).status_code == 403
            assert await sandbox.messages(3001) == []
            ok = await web.post("/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert ok.status_code == 200
            assert (await web.get("/healthz")).json() == {"ok": True, "mode": "webhook"}
            assert (await web.get("/sandbox/state")).status_code == 404, "no sandbox when a token is set"
        await sandbox.wait_text(3001, "使用说明")
    finally:
        await sandbox.close()
        await running.stop()
        server.should_exit = True
        await task
