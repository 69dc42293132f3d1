"""Roles: who holds what (the Actor policy decides on), one-time invites, revocation, the audit log; the "/" menu and
/help of each role."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bot.commands import Command, check_menu, commands_for, default_commands, has_own_menu, sections_for
from bot.policy import PROVINCE, Actor, PermissionDenied
from bot.roles import InviteError, Roles
from bot.storage import Storage
from bot.ui.help import help_screen
from tests.helpers import Clock

ADMIN = 9000
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def roles():
    storage = Storage.memory()
    for user_id, region in ((1, "三亚市"), (2, "海口市"), (3, None)):
        storage.upsert_user(user_id, f"用户{user_id}", None)
        if region:
            storage.update_user(user_id, region=region, role="manager")
    return Roles(storage, frozenset({ADMIN}), Clock(NOW))


def test_the_actor_carries_roles_and_registration(roles):
    roles.storage.grant_role(1, "bureau", "三亚市", ADMIN)
    actor = roles.actor(1)
    assert (actor.user_id, actor.is_admin, dict(actor.roles), actor.region, actor.identity) == \
        (1, False, {"bureau": "三亚市"}, "三亚市", "manager")
    assert actor.scope("bureau") == "三亚市" and actor.scope("organiser") is None
    assert roles.actor(ADMIN).scope("organiser") == PROVINCE, "administrators hold every role for the province"
    assert roles.actor(404).roles == {} and roles.actor(404).region is None


def test_only_administrators_create_invites_and_the_command_line_may(roles):
    with pytest.raises(PermissionDenied):
        roles.create_invite(1, "bureau", "三亚市", 7)
    assert roles.create_invite(None, "organiser", PROVINCE, 7)  # the command line is the operator
    for role, scope, days in (("admin", "三亚市", 7), ("bureau", "火星市", 7), ("bureau", "三亚市", 0),
                              ("bureau", "三亚市", 91)):
        with pytest.raises(InviteError):
            roles.create_invite(ADMIN, role, scope, days)


def test_an_invite_is_used_once_within_its_days_and_binds_its_scope(roles):
    code = roles.create_invite(ADMIN, "bureau", "三亚市", 1)
    assert roles.redeem(roles.storage.get_user(2), code) == ("bureau", "三亚市")  # registered in 海口 all the same
    assert roles.scope(2, "bureau") == "三亚市" and roles.storage.get_user(2)["region"] == "海口市"
    with pytest.raises(InviteError, match="已经被使用过"):
        roles.redeem(roles.storage.get_user(1), code)
    late = roles.create_invite(ADMIN, "organiser", "三亚市", 1)
    roles.clock.advance(24 * 3600 + 1)
    with pytest.raises(InviteError, match="已过期"):
        roles.redeem(roles.storage.get_user(1), late)
    with pytest.raises(InviteError, match="无效"):
        roles.redeem(roles.storage.get_user(1), "no-such-code")
    fresh = roles.create_invite(ADMIN, "organiser", "三亚市", 7)
    roles.redeem(roles.storage.get_user(3), fresh)
    assert roles.storage.get_user(3)["region"] == "三亚市", "someone with no 市县 yet takes the invite's"


def test_revoking_and_reading_roles_are_for_administrators_and_audited(roles):
    roles.redeem(roles.storage.get_user(1), roles.create_invite(ADMIN, "organiser", "三亚市", 7))
    for action in (lambda: roles.revoke(1, 1, "organiser"), lambda: roles.holders(1),
                   lambda: roles.audit_entries(1, 10)):
        with pytest.raises(PermissionDenied):
            action()
    assert [h["user_id"] for h in roles.holders(ADMIN)] == [1]
    assert roles.revoke(ADMIN, 1, "organiser") and not roles.revoke(ADMIN, 1, "organiser")
    assert not roles.is_organiser(1)
    entries = roles.audit_entries(ADMIN, 10)
    assert [e["action"] for e in entries] == ["role.revoke", "role.grant", "invite.create"]
    assert json.loads(entries[0]["detail"]) == {"user_id": 1, "role": "organiser"}
    assert [e["actor_id"] for e in entries] == [ADMIN, 1, ADMIN]


# --- the "/" menu and /help per role (bot.commands) -------------------------------------------------------------

def names(commands) -> list[str]:
    return [command.name for command in commands]


@pytest.mark.parametrize("actor, extra, absent", [
    (Actor(1), [], ["contests", "announce", "roles"]),
    (Actor(1, roles={"organiser": "三亚市"}), ["contests", "newcontest"], ["announce", "roles", "newteam"]),
    (Actor(1, roles={"bureau": PROVINCE}), ["announce", "reports"], ["newcontest", "roles"]),
    (Actor(1, roles={"bureau": "三亚市", "organiser": "三亚市"}), ["newcontest", "announce"], ["roles", "reload"]),
    (Actor(ADMIN, is_admin=True), ["newcontest", "announce", "reports", "roles", "teams", "newteam", "reload"], []),
])
def test_each_role_sees_the_worker_commands_and_its_own(actor, extra, absent):
    menu = commands_for(actor)
    check_menu(menu)  # Telegram would take it
    worker = names(default_commands())
    assert names(menu)[:len(worker)] == worker, "the worker commands come first, for everyone"
    assert set(extra) <= set(names(menu)) and not set(absent) & set(names(menu))
    assert has_own_menu(actor) == bool(extra)
    text, keyboard = help_screen(sections_for(actor))
    assert all(f"/{name} " in text for name in names(menu)), "/help lists exactly the menu"
    assert not any(f"/{name} " in text for name in absent) and keyboard


def test_a_menu_telegram_would_refuse_is_caught():
    good = Command("help", "使用说明")
    for bad in ([Command("newContest", "大写")], [Command("a" * 33, "太长")], [Command("new-contest", "连字符")],
                [Command("help", "")], [Command("help", "说" * 257)], [good, good],
                [Command(f"c{i}", "命令") for i in range(101)]):
        with pytest.raises(ValueError):
            check_menu(bad)
    check_menu([Command("a" * 32, "说" * 256)] + [Command(f"c{i}", "命令") for i in range(99)])


def test_granting_and_revoking_tell_the_listeners_and_menu_chats_remember_revocations(roles):
    changed: list[int] = []
    roles.on_change.append(changed.append)
    assert roles.menu_chats() == {ADMIN}
    roles.redeem(roles.storage.get_user(1), roles.create_invite(ADMIN, "organiser", "三亚市", 7))
    roles.redeem(roles.storage.get_user(2), roles.create_invite(ADMIN, "bureau", "海口市", 7))
    assert changed == [1, 2] and roles.menu_chats() == {ADMIN, 1, 2}
    assert roles.revoke(ADMIN, 1, "organiser") and not roles.revoke(ADMIN, 1, "organiser")
    assert changed == [1, 2, 1], "a revocation that changed nothing tells no one"
    assert roles.menu_chats() == {ADMIN, 1, 2}, "1's menu must shrink back at the next start"
    with pytest.raises(InviteError):
        roles.redeem(roles.storage.get_user(3), "no-such-code")
    assert changed == [1, 2, 1]
