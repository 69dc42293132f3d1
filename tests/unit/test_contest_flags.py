"""答题纠错 for organisers: a flagged question shown with its answer, resolved by its organiser only, then off the list."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import contest_flags
from bot.contests import Contests, ContestSpec
from bot.policy import Actor, PermissionDenied
from bot.storage import Storage
from bot.ui.organiser import ContestFlags, FlagDetail, ResolveFlag, flag_screen, flags_screen
from tests.helpers import Clock

START = datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
ORGANISER = Actor(1, roles={"organiser": "全省"})
OTHER_ORGANISER = Actor(2, roles={"organiser": "全省"})
ADMIN = Actor(9000, is_admin=True)


@pytest.fixture
def flagged(knowledge_service):
    storage = Storage.memory()
    contests = Contests(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb,
                        ZoneInfo("Asia/Shanghai"), clock=Clock(START + timedelta(minutes=5)))
    contest = contests.create(ContestSpec(title="质量月竞赛", starts_at=START, ends_at=START + timedelta(hours=2),
                                          questions=5, seconds_per_question=30), ORGANISER)
    first, second = sorted(knowledge_service.bank.questions)[:2]
    for user_id in (11, 12, 13):
        storage.add_flag(contest["id"], first, user_id)
    storage.add_flag(contest["id"], second, 11)
    return contests, contest["id"], first, second


def test_the_flagged_question_comes_with_its_options_and_right_answer(flagged):
    contests, contest_id, first, _ = flagged
    contest, found = contest_flags.flagged_question(contests, contest_id, first, ORGANISER)
    assert (found.question_id, found.count) == (first, 3)
    text, keyboard = flag_screen(contest, found)
    question = found.question
    assert question.stem[:10] in text and f"正确答案：{question.answer_letters}" in text
    assert all(option[:10] in text for option in question.options)
    buttons = [button for row in keyboard for button in row]
    assert ResolveFlag(contest_id, first).pack() in [b.callback_data for b in buttons]
    assert ContestFlags(contest_id).pack() in [b.callback_data for b in buttons], "返回 to the list"
    assert contest_flags.flagged_question(contests, contest_id, "zz-999", ORGANISER)[1] is None


def test_only_its_organiser_or_an_administrator_resolves_and_a_resolved_question_leaves_the_list(flagged):
    contests, contest_id, first, second = flagged
    for outsider in (OTHER_ORGANISER, Actor(5)):
        with pytest.raises(PermissionDenied):
            contest_flags.resolve(contests, contest_id, first, outsider)
        with pytest.raises(PermissionDenied):
            contest_flags.flagged_question(contests, contest_id, first, outsider)
    assert [row[1] for row in contests.flagged(contest_id, ORGANISER)[1]] == [first, second]
    assert contest_flags.resolve(contests, contest_id, first, ORGANISER) == 3
    assert contest_flags.resolve(contests, contest_id, first, ADMIN) == 0, "twice changes nothing"
    contest, rows = contests.flagged(contest_id, ORGANISER)
    assert [row[1] for row in rows] == [second]
    text, keyboard = flags_screen(contest, rows)
    assert [b.callback_data for row in keyboard for b in row][0] == FlagDetail(contest_id, second).pack()
    assert contests.overview(contest_id, ORGANISER)[3] == 1, "the manage screen counts open flags only"
    entry = contests.storage.audit_entries(1)[0]
    assert (entry["action"], entry["actor_id"], json.loads(entry["detail"])) == \
        ("flag.resolve", 1, {"contest": contest_id, "question": first, "flags": 3})
    assert contest_flags.resolve(contests, contest_id, second, ADMIN) == 1
    assert "暂无待处理" in flags_screen(*contests.flagged(contest_id, ADMIN))[0]
