"""`qualitybot sandbox`: the sandbox alone, for any Bot API client, and `qualitybot run` pointed at it."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.config import SANDBOX_TOKEN
from tests.helpers import free_port, start_sandbox_process, stop_process, wait_text_sync


def test_the_sandbox_alone_prints_its_bot_api_url_first(tmp_path):
    port = free_port()
    process, first = start_sandbox_process(tmp_path, port, "--token", "777:standalone-test-token", "--journal", "sb.jsonl")
    try:
        assert first == f"Bot API: http://127.0.0.1:{port}/bot777:standalone-test-token/"
        api = first.removeprefix("Bot API: ")
        assert httpx.get(api + "getMe").json()["result"]["username"] == "qualitybot_sandbox_bot"
        assert httpx.get(f"http://127.0.0.1:{port}/botWRONG/getMe").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/sandbox/limits").json()["settings"]["require_start"] is True
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 404, "nothing but the two APIs"
        httpx.post(f"http://127.0.0.1:{port}/sandbox/users", json={"id": 5, "first_name": "留档"})
    finally:
        rest = stop_process(process)
    assert rest.startswith("Control API: ") and "Traceback" not in rest
    assert '"first_name": "留档"' in (tmp_path / "sb.jsonl").read_text(encoding="utf-8")


@pytest.mark.slow
def test_qualitybot_run_works_against_the_standalone_sandbox(tmp_path):
    sandbox_port, bot_port = free_port(), free_port()
    sandbox, first = start_sandbox_process(tmp_path, sandbox_port)
    assert first == f"Bot API: http://127.0.0.1:{sandbox_port}/bot{SANDBOX_TOKEN}/"
    base = f"http://127.0.0.1:{sandbox_port}"
    env = {**os.environ, "QB_DB": str(tmp_path / "bot.db"), "QB_PORT": str(bot_port), "QB_BOT_API_URL": base}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not httpx.get(f"{base}/sandbox/state").json()["api_calls"].get("getUpdates"):
            assert bot.poll() is None and time.monotonic() < deadline, bot.stdout.read() if bot.poll() else "slow"
            time.sleep(0.1)
        httpx.post(f"{base}/sandbox/users", json={"id": 1001, "first_name": "张工"})
        httpx.post(f"{base}/sandbox/send", json={"user_id": 1001, "text": "/start"})
        wait_text_sync(base, 1001, "第 1 步")
        assert httpx.post(f"{base}/sandbox/press", json={"user_id": 1001, "text": "儋州"}).json()["answer"]
        wait_text_sync(base, 1001, "第 2 步")
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=20) == 0
        assert not os.path.exists(tmp_path / "bot.db.sandbox.jsonl"), "the bot started no sandbox of its own"
    finally:
        if bot.poll() is None:
            bot.kill()
        stop_process(sandbox)
