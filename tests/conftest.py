import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.config import KNOWLEDGE_DIR  # noqa: E402
from bot.qa import KnowledgeService  # noqa: E402
from tests.helpers import RunningBot, make_config  # noqa: E402


@pytest.fixture(scope="session")
def knowledge_service() -> KnowledgeService:
    """The shipped knowledge base and its index, built once for the whole run (jieba takes a second)."""
    return KnowledgeService(KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def engine(knowledge_service):
    return knowledge_service.engine


@pytest.fixture
def knowledge_copy(tmp_path) -> Path:
    """A private copy of knowledge/ that a test may damage."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return target


@pytest.fixture
async def bot(tmp_path, knowledge_service):
    running = await RunningBot(make_config(tmp_path), knowledge_service).start()
    yield running
    await running.stop()
