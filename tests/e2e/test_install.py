"""Install the project as the Dockerfile does (a wheel, no editable install) into a fresh virtual environment outside
the checkout, and use it there: this is how a missing package (bot.search) once reached a release unseen."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER_COPIES = ("pyproject.toml", "README.md", "bot", "handlers", "knowledge")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `qualitybot` command of a new virtual environment that holds only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # what the Dockerfile copies, and nothing left over from earlier builds
    source.mkdir()
    for name in DOCKER_COPIES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(work / "dist")],
                   check=True, cwd=work, timeout=300)
    wheels = list((work / "dist").glob("qualitybot-*.whl"))
    assert len(wheels) == 1, wheels
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=120)
    subprocess.run([str(work / "venv" / "bin" / "pip"), "install", "-q", str(wheels[0])], check=True, cwd=work,
                   timeout=600)
    return work / "venv" / "bin" / "qualitybot"


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("QB_", "TELEGRAM_")) and key != "PYTHONPATH"}
    return {**env, **extra}


def test_the_wheel_answers_a_question_outside_the_checkout(installed, tmp_path):
    where = subprocess.run([str(installed.parent / "python"), "-c", "import bot.search, knowledge; "
                            "print(bot.search.__file__); print(knowledge.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where
    result = subprocess.run([str(installed), "kb", "search", "--json", "--top", "3", "卫生间漏水漏到楼下咋办"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env=clean_env(QB_CACHE_DIR=str(tmp_path / "cache")))
    assert result.returncode == 0, result.stderr
    assert '"id": "leak.bathroom_floor"' in result.stdout.splitlines()[0]
    assert subprocess.run([str(installed), "kb", "check"], capture_output=True, cwd=tmp_path,
                          env=clean_env(QB_CACHE_DIR=str(tmp_path / "cache"))).returncode == 0


def test_the_wheel_runs_the_bot_until_healthy(installed, tmp_path):
    port = free_port()
    env = clean_env(QB_DB=str(tmp_path / "data" / "bot.db"), QB_PORT=str(port), QB_CACHE_DIR=str(tmp_path / "cache"))
    process = subprocess.Popen([str(installed), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "not healthy within 90 s"
            time.sleep(0.2)
        page = httpx.get(f"http://127.0.0.1:{port}/m/", timeout=5)  # the web channel's page is in the wheel
        assert page.status_code == 200 and "质量通" in page.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
