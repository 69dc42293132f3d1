"""The attacks that once got through, replayed against the services: scopes, announcements, invites, the clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.accounts import Accounts
from bot.announcements import Announcements, Draft
from bot.contests import ContestError, Contests, ContestSpec
from bot.policy import PermissionDenied
from bot.roles import Roles
from bot.storage import Storage
from tests.helpers import Clock

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
ADMIN = 9000


@pytest.fixture
def world(knowledge_service):
    storage = Storage.memory()
    clock = Clock(NOW)
    roles = Roles(storage, frozenset({ADMIN}), clock)
    contests = Contests(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=clock)
    announcements = Announcements(storage, roles, clock, TZ)
    accounts = Accounts(storage)
    return storage, roles, contests, announcements, accounts, clock


def person(accounts: Accounts, user_id: int, region: str, identity: str = "worker") -> dict:
    accounts.touch(user_id, f"用户{user_id}", None)
    accounts.set_region(user_id, region)
    accounts.set_role(user_id, identity)
    return accounts.get(user_id)


def spec(regions, seconds=10) -> ContestSpec:
    return ContestSpec(title="竞赛", starts_at=NOW, ends_at=NOW + timedelta(hours=1), questions=3,
                       seconds_per_question=seconds, regions=regions)


def test_an_organiser_of_one_city_creates_contests_for_it_only(world):
    storage, roles, contests, _, accounts, _ = world
    person(accounts, 3, "三亚市")
    storage.grant_role(3, "organiser", "三亚市", ADMIN)
    for regions in (["海口市"], None, ["三亚市", "海口市"]):
        with pytest.raises(PermissionDenied):
            contests.create(spec(regions), roles.actor(3))
    assert contests.create(spec(["三亚市"]), roles.actor(3))["organiser_id"] == 3
    assert storage.contests() and len(storage.contests()) == 1


def test_an_announcement_for_managers_is_not_read_by_workers(world):
    storage, roles, _, announcements, accounts, _ = world
    person(accounts, 5, "三亚市", "manager")
    storage.grant_role(5, "bureau", "三亚市", ADMIN)
    worker, manager = person(accounts, 11, "三亚市"), person(accounts, 12, "三亚市", "manager")
    for_managers = announcements.create(5, Draft("仅管理人员：质量巡查安排", None, ["三亚市"], role="manager"))
    for_all = announcements.create(5, Draft("全体：台风预警", None, ["三亚市"]))
    assert [a["id"] for a in announcements.for_user(worker["id"])] == [for_all["id"]]
    assert [a["id"] for a in announcements.for_user(manager["id"])] == [for_all["id"], for_managers["id"]]  # newest first
    with pytest.raises(PermissionDenied):
        announcements.readable(for_managers["id"], worker["id"])
    assert announcements.readable(for_managers["id"], manager["id"])["id"] == for_managers["id"]
    assert storage.audience(["三亚市"], "manager", None, "notify_announcements") == [5, 12]


def test_an_invite_binds_its_scope_whatever_the_person_registered(world):
    storage, roles, _, _, accounts, _ = world
    code = roles.create_invite(ADMIN, "bureau", "三亚市", 7)
    user = person(accounts, 20, "海口市")
    assert roles.redeem(user, code) == ("bureau", "三亚市")
    accounts.set_region(20, "三亚市")  # changing one's own 市县 changes nothing about the role
    accounts.set_region(20, "儋州市")
    assert roles.scope(20, "bureau") == "三亚市"


def test_showing_a_question_again_keeps_its_deadline(world):
    """开始答题 pressed again during a 10-second question: it once got a new clock, and a speed bonus at 26 s."""
    _, _, contests, _, accounts, clock = world
    contest = contests.create(spec(None), None, organiser_id=ADMIN)
    attempt = contests.start(contest["id"], person(accounts, 30, "三亚市"))
    first, fresh = contests.ask(attempt["id"], 0)
    assert fresh
    clock.now += timedelta(seconds=8)
    again, fresh = contests.ask(attempt["id"], 0)
    assert not fresh and again.deadline == first.deadline
    clock.now += timedelta(seconds=18)  # 26 s after the question was asked
    outcome = contests.answer(attempt["id"], 30, 0, first.right_display)
    assert (outcome.status, outcome.points, outcome.correct) == ("timed_out", 0.0, False)


def test_a_restart_re_times_an_interrupted_question_once(world):
    _, _, contests, _, accounts, clock = world
    contest = contests.create(spec(None, seconds=30), None, organiser_id=ADMIN)
    attempt = contests.start(contest["id"], person(accounts, 31, "三亚市"))
    asked, _ = contests.ask(attempt["id"], 0)
    clock.now += timedelta(seconds=20)
    (resumed,), _ = contests.resumable()  # the first restart
    retimed, fresh = contests.retime(resumed)
    assert fresh and retimed.deadline == clock.now + timedelta(seconds=30)
    clock.now += timedelta(seconds=20)
    (resumed,), _ = contests.resumable()  # a second restart, during the same question
    again, fresh = contests.retime(resumed)
    assert not fresh and again.deadline == retimed.deadline, "at most one new clock per question"
    with pytest.raises(ContestError):
        contests.start(contest["id"] + 1, accounts.get(31))
