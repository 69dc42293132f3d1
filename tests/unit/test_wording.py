"""What people read addresses them as 您, never 你: every string constant of the code that talks to them, the pages
it serves and the knowledge YAML. (您 is a character of its own, U+60A8, so no word spelt with 您 contains 你.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What people type, not what the bot says: greetings and stop words the search recognises ("你好" is a greeting).
INPUT_VOCABULARY = {ROOT / "bot" / "search" / "normalise.py", ROOT / "knowledge" / "dict"}
INFORMAL = "你"


def informal(text: str) -> bool:
    return INFORMAL in text


def is_input_vocabulary(path: Path) -> bool:
    return any(path == excluded or excluded in path.parents for excluded in INPUT_VOCABULARY)


def python_strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant with its line, f-string parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def user_facing_sources() -> list[Path]:
    code = [*sorted((ROOT / "bot").rglob("*.py")), *sorted((ROOT / "handlers").rglob("*.py"))]
    pages = sorted((ROOT / "bot" / "static").glob("*.html"))
    knowledge = sorted((ROOT / "knowledge").rglob("*.yaml"))
    return [path for path in [*code, *pages, *knowledge] if not is_input_vocabulary(path)]


def findings() -> list[str]:
    found = []
    for path in user_facing_sources():
        if path.suffix == ".py":
            lines = python_strings(path)
        else:
            lines = list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))
        found += [f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]}" for line, text in lines if informal(text)]
    return found


def test_the_detector_tells_you_from_nin(tmp_path):
    assert informal("请输入你的团队码") and informal("你们好")
    assert not informal("请输入您的团队码") and not informal("您好，欢迎使用")
    sample = tmp_path / "sample.py"
    sample.write_text('A = "您好"\nB = f"{A}，你的问题已记录"\n', encoding="utf-8")
    assert [line for line, text in python_strings(sample) if informal(text)] == [2]


def test_what_people_read_says_nin():
    sources = user_facing_sources()
    assert ROOT / "bot" / "ui" / "menu.py" in sources and ROOT / "handlers" / "start.py" in sources
    assert any(path.parent.name == "topics" for path in sources) and any(path.parent.name == "quiz" for path in sources)
    assert not findings(), "address people as 您:\n" + "\n".join(findings())
