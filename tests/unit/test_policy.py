"""Every privileged action x every role x their own and another 市县: the rules of bot.policy as a table."""

from __future__ import annotations

import json

import pytest

from bot.accounts import REGION_NAMES
from bot.policy import (Actor, announcement_regions, may_administer, may_cancel_announcement, may_create_contest,
                        may_manage_contest, may_read_announcement, may_run_reports, may_take_contest, report_region)

OWN, OTHER = "三亚市", "海口市"
ROLES = {
    "worker": Actor(1, region=OWN, identity="worker"),
    "manager": Actor(2, region=OWN, identity="manager"),
    "organiser": Actor(3, roles={"organiser": OWN}, region=OTHER),  # registered elsewhere: the role's scope counts
    "province organiser": Actor(4, roles={"organiser": "全省"}, region=OWN),
    "bureau": Actor(5, roles={"bureau": OWN}, region=OTHER),
    "province bureau": Actor(6, roles={"bureau": "全省"}, region="省直属"),
    "admin": Actor(7, is_admin=True),
}


def table(action, expected: dict[str, tuple[bool, bool]]):
    """(role, scope, allowed) for each role on their own 市县 and on another one."""
    return [pytest.param(action, role, scope, allowed, id=f"{role}-{scope}")
            for role, (own, other) in expected.items() for scope, allowed in (("own", own), ("other", other))]


def create_contest(actor: Actor, scope: str) -> bool:
    return may_create_contest(actor, [OWN if scope == "own" else OTHER])


def manage_contest(actor: Actor, scope: str) -> bool:
    """'own': a contest this actor organised; 'other': one somebody else organised."""
    return may_manage_contest(actor, {"organiser_id": actor.user_id if scope == "own" else 999})


def announce(actor: Actor, scope: str) -> bool:
    return announcement_regions(actor, [OWN if scope == "own" else OTHER], REGION_NAMES) is not None


def cancel_announcement(actor: Actor, scope: str) -> bool:
    return may_cancel_announcement(actor, {"author_id": actor.user_id if scope == "own" else 999})


def submit_report(actor: Actor, scope: str) -> bool:
    return report_region(actor, [OWN if scope == "own" else OTHER]) is not None


def run_reports(actor: Actor, scope: str) -> bool:
    return may_run_reports(actor)


def administer(actor: Actor, scope: str) -> bool:
    return may_administer(actor)


NOBODY = dict.fromkeys(["worker", "manager"], (False, False))


@pytest.mark.parametrize("action, role, scope, allowed", [
    *table(create_contest, {**NOBODY, "organiser": (True, False), "province organiser": (True, True),
                            "bureau": (False, False), "province bureau": (False, False), "admin": (True, True)}),
    *table(manage_contest, {**NOBODY, "organiser": (True, False), "province organiser": (True, False),
                            "bureau": (False, False), "province bureau": (False, False), "admin": (True, True)}),
    *table(announce, {**NOBODY, "organiser": (False, False), "province organiser": (False, False),
                      "bureau": (True, False), "province bureau": (True, True), "admin": (True, True)}),
    *table(cancel_announcement, {**NOBODY, "organiser": (False, False), "province organiser": (False, False),
                                 "bureau": (True, False), "province bureau": (True, False), "admin": (True, True)}),
    *table(submit_report, {**NOBODY, "organiser": (False, False), "province organiser": (False, False),
                           "bureau": (True, False), "province bureau": (False, False), "admin": (False, False)}),
    *table(run_reports, {**NOBODY, "organiser": (False, False), "province organiser": (False, False),
                         "bureau": (False, False), "province bureau": (True, True), "admin": (True, True)}),
    *table(administer, {**NOBODY, "organiser": (False, False), "province organiser": (False, False),
                        "bureau": (False, False), "province bureau": (False, False), "admin": (True, True)}),
])
def test_privileged_actions(action, role, scope, allowed):
    assert action(ROLES[role], scope) is allowed


def test_a_whole_province_contest_needs_the_province():
    assert not may_create_contest(ROLES["organiser"], None)
    assert may_create_contest(ROLES["province organiser"], None) and may_create_contest(ROLES["admin"], None)
    assert not may_create_contest(ROLES["organiser"], [OWN, OTHER]), "one 市县 more than the scope"


def test_a_revoked_organiser_no_longer_manages_their_contest():
    former = Actor(3, region=OTHER)  # the organiser role was revoked
    assert not may_manage_contest(former, {"organiser_id": 3})


def announcement(role_filter=None, team_id=None, regions=(OWN,), author_id=900):
    return {"author_id": author_id, "regions": json.dumps(list(regions)), "role_filter": role_filter,
            "team_id": team_id}


@pytest.mark.parametrize("reader, item, allowed", [
    (Actor(1, region=OWN, identity="worker"), announcement(), True),
    (Actor(1, region=OTHER, identity="worker"), announcement(), False),
    (Actor(1, region=OWN, identity="worker"), announcement(role_filter="manager"), False),  # found by an attack
    (Actor(2, region=OWN, identity="manager"), announcement(role_filter="manager"), True),
    (Actor(1, region=OWN, identity="worker", team_id=8), announcement(team_id=9), False),
    (Actor(1, region=OWN, identity="worker", team_id=9), announcement(team_id=9), True),
    (Actor(900, region=OTHER), announcement(role_filter="manager"), True),  # its author
])
def test_who_reads_an_announcement(reader, item, allowed):
    assert may_read_announcement(reader, item) is allowed


def test_contests_are_taken_in_their_own_region():
    assert may_take_contest(Actor(1, region=OWN), {"regions": json.dumps([OWN])})
    assert not may_take_contest(Actor(1, region=OTHER), {"regions": json.dumps([OWN])})
    assert may_take_contest(Actor(1, region=OTHER), {"regions": None})
