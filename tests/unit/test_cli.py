"""The command line as an operator meets it: examples pasted from the README, a wrong folder, times in 北京时间."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.cli import main
from bot.storage import Storage

ROOT = Path(__file__).resolve().parents[2]


def readme_block(after: str, language: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(after)
    return re.search(rf"```{language}\n(.*?)```", text[start:], re.S).group(1)


def test_the_readme_contest_example_works_as_pasted(tmp_path, monkeypatch, capsys):
    (tmp_path / "竞赛.yaml").write_text(readme_block("竞赛文件示例", "yaml"), encoding="utf-8")
    monkeypatch.setenv("QB_DB", str(tmp_path / "bot.db"))
    Storage.open(tmp_path / "bot.db").close()  # the bot has run here once
    assert main(["contest", "create", str(tmp_path / "竞赛.yaml")]) == 0
    created = capsys.readouterr()
    contest_id = created.out.strip().splitlines()[-1]
    assert contest_id.isdigit() and "已创建竞赛" in created.err
    assert main(["contest", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()[1].split("\t")
    assert listing[1] == "进行中"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", listing[2]), "a time as people read it, not ISO in UTC"


def test_from_another_folder_nothing_is_created_and_the_path_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QB_DB", raising=False)
    for command in (["contest", "export", "1"], ["contest", "list"], ["teams", "list"], ["reports", "list"],
                    ["roles", "audit"], ["kb", "gaps"], ["backup", "b.db"]):
        assert main(command) == 2, command
        error = capsys.readouterr().err
        assert str(tmp_path / "data" / "qualitybot.db") in error and "没有这个竞赛" not in error
    assert list(tmp_path.iterdir()) == [], "no empty database left behind"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "TELEGRAM_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


def test_no_public_sandbox_without_asking(tmp_path):
    """A container sets QB_HOST=0.0.0.0; without a token it must not offer the sandbox to the network."""
    result = run_cli("run", QB_HOST="0.0.0.0", QB_PORT="8099", QB_DB=str(tmp_path / "bot.db"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0] and "QB_SANDBOX_PUBLIC" in lines[0]
    assert not (tmp_path / "bot.db").exists()


def test_roster_columns_are_in_the_help():
    result = run_cli("teams", "import", "--help")
    assert result.returncode == 0
    for column in ("团队名称", "市县", "施工单位", "人数"):
        assert column in result.stdout


def test_the_standalone_sandbox_stays_on_this_machine_too():
    result = run_cli("sandbox", QB_HOST="0.0.0.0", QB_PORT="8099")
    assert result.returncode == 2 and "QB_SANDBOX_PUBLIC" in result.stderr
