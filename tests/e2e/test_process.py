"""`qualitybot run` as a real process, driven through the control API as an acceptance script would."""

import os
import signal
import subprocess
import sys

import httpx

from tests.helpers import free_port, start_bot_process, wait_text_sync


def test_run_restart_and_signals(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_bot_process(tmp_path, port)
    try:
        httpx.post(f"{base}/sandbox/users", json={"id": 1001, "first_name": "张工"})
        httpx.post(f"{base}/sandbox/send", json={"user_id": 1001, "text": "/start"})
        wait_text_sync(base, 1001, "第 1 步")
        assert httpx.post(f"{base}/sandbox/press", json={"user_id": 1001, "text": "儋州"}).status_code == 200
        wait_text_sync(base, 1001, "第 2 步")
        httpx.post(f"{base}/sandbox/press", json={"user_id": 1001, "text": "其他"})
        wait_text_sync(base, 1001, "第 3 步")
        httpx.post(f"{base}/sandbox/press", json={"user_id": 1001, "text": "暂不加入"})
        wait_text_sync(base, 1001, "登记完成")
        process.send_signal(signal.SIGHUP)  # reload the knowledge base in place
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        output = process.stdout.read()
        assert "Knowledge base reloaded" in output and "Traceback" not in output

        process = start_bot_process(tmp_path, port)  # the sandbox journal and the database survive the restart
        last = max(m["message_id"] for m in httpx.get(f"{base}/sandbox/messages",
                                                      params={"chat_id": 1001}).json()["messages"])
        httpx.post(f"{base}/sandbox/send", json={"user_id": 1001, "text": "/me"})
        profile = wait_text_sync(base, 1001, "我的信息", after=last)
        assert "儋州市" in profile["text"] and "其他" in profile["text"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_bad_database_stops_with_one_line(tmp_path):
    (tmp_path / "bot.db").write_bytes(b"garbage" * 50)
    env = {**os.environ, "QB_DB": str(tmp_path / "bot.db"), "QB_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "bot.db") in lines[0]
