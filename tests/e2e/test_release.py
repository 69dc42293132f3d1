"""What a first real deployment meets: a rejected token, a second copy polling, an edited message."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.helpers import eventually, free_port, has_button
from tests.helpers import start_sandbox_process, stop_process

BAD_TOKEN = "424242:AAH-this-token-was-revoked-by-BotFather_x9"


@pytest.mark.slow
def test_a_rejected_token_is_one_line_and_never_printed(tmp_path):
    """Telegram answers getMe with 401: python-telegram-bot's InvalidToken message would print the whole token."""
    port = free_port()
    sandbox, _ = start_sandbox_process(tmp_path, port)  # it knows only its own token, so ours is rejected
    try:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": BAD_TOKEN, "QB_BOT_API_URL": f"http://127.0.0.1:{port}",
               "QB_DB": str(tmp_path / "bot.db"), "QB_PORT": str(free_port()), "QB_LOG_LEVEL": "DEBUG"}
        result = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
    finally:
        stop_process(sandbox)
    assert result.returncode == 1
    secret = BAD_TOKEN.split(":", 1)[1]
    assert secret not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("错误：Telegram 拒绝了 TELEGRAM_BOT_TOKEN")
    assert "Traceback" not in result.stderr


async def test_health_fails_while_a_second_copy_polls(bot):
    assert bot.runtime.health()["ok"]
    api = f"{bot.runtime.url}/bot{bot.config.effective_token}/getUpdates"
    async with httpx.AsyncClient(timeout=30) as other:  # a second copy of the bot, polling with the same token
        await other.post(api, data={"timeout": 1})  # its poll ends the bot's waiting one with 409
        await eventually(lambda: not bot.runtime.health()["ok"], what="health failing")
    status = bot.runtime.health()
    assert not status["ok"] and "409" in status["problem"]
    response = await bot.client.http.get("/healthz")
    assert response.status_code == 503 and "another copy" in response.json()["problem"]


async def test_an_edited_message_is_not_answered_again(bot):
    client = bot.client
    await client.user(1001, "陈工")
    sent = await client.send(1001, "卫生间漏水漏到楼下咋办")
    await client.wait_for(1001, has_button("处理方法"))
    answered = await client.last_id(1001)
    response = await client.http.post("/sandbox/edit", json={"user_id": 1001, "message_id": sent["message_id"],
                                                               "text": "屋面卷材起鼓怎么办"})
    assert response.status_code == 200, response.text
    await client.send(1001, "/help")  # updates are handled in order: once /help is answered, the edit was handled
    await client.wait_text(1001, "使用说明", after=answered)
    texts = [m["text"] for m in await client.messages(1001, answered)]
    assert len(texts) == 1 and "卷材" not in texts[0], "only the /help reply, no answer to the edit"


@pytest.mark.slow
async def test_health_fails_for_good_when_the_token_is_revoked_while_running(bot):
    assert (await bot.client.http.get("/healthz")).status_code == 200
    await bot.client.http.post("/sandbox/token", json={"token": "1:revoked-at-BotFather-abcdefghijklmno"})
    # the poll under way ends within its 10 s timeout; the next one is refused
    await eventually(lambda: not bot.runtime.health()["ok"], timeout=15, what="health failing")
    response = await bot.client.http.get("/healthz")
    assert response.status_code == 503 and "token" in response.json()["problem"]
