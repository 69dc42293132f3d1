"""Callback data: declared kinds, one prefix per kind across every feature, and handlers only for declared kinds."""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields
from typing import Literal, get_args, get_origin

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

import handlers  # noqa: F401  (imports every feature, so that every kind is declared)
from bot.callbacks import CALLBACK_LIMIT, REGISTRY, Callback, CallbackClash, check_handlers
from bot.ui.ask import OpenTopic
from bot.ui.contest import AnswerOption
from bot.ui.roles import CreateInvite


def sample(kind: type[Callback]) -> Callback:
    """A value of every field, as long as it will get in practice."""
    hints = typing.get_type_hints(kind)
    values = {}
    for field in fields(kind):
        hint = hints[field.name]
        if hint is int:
            values[field.name] = 10**12
        elif hint is bool:
            values[field.name] = True
        elif get_origin(hint) is Literal:
            values[field.name] = max(get_args(hint), key=len)
        else:
            values[field.name] = "fin.door_window_install" if "topic" in field.name else "all"
    return kind(**values)


@pytest.mark.parametrize("prefix", sorted(REGISTRY))
def test_every_kind_round_trips_within_64_bytes(prefix):
    kind = REGISTRY[prefix]
    button = sample(kind)
    data = button.pack()
    assert len(data.encode()) <= CALLBACK_LIMIT and kind.unpack(data) == button
    assert all(other.unpack(data) is None for other in REGISTRY.values() if other is not kind), \
        "no other kind reads this data"


def test_the_features_declare_many_kinds_with_distinct_prefixes():
    assert len(REGISTRY) >= 60
    assert len({kind.__qualname__ for kind in REGISTRY.values()}) == len(REGISTRY)


def test_a_second_claim_on_a_prefix_is_refused_at_once():
    with pytest.raises(CallbackClash, match="'rs'.*reports.*roles"):
        @dataclass(frozen=True)
        class ChooseExpiry(Callback, prefix="rs", feature="roles"):  # what broke /roles invites in chat
            role: str
            scope: int


@pytest.mark.parametrize("data", ["ca:1:2", "ca:1:2:3:4", "ca:1:²:3", "ca:1:2:-3", "ca::2:3", "ca:1:2:" + "9" * 19,
                                  "rc:admin:1:7", "cax:1:2:3", "", "ca"])
def test_malformed_data_is_no_button_at_all(data):
    assert AnswerOption.unpack(data) is None and CreateInvite.unpack(data) is None


def test_values_that_cannot_travel_are_refused():
    with pytest.raises(ValueError):
        OpenTopic("a:b").pack()
    with pytest.raises(ValueError):
        OpenTopic("").pack()


async def noop(update, context):
    pass


def test_start_up_check_refuses_undeclared_and_doubled_handlers():
    with pytest.raises(CallbackClash, match="undeclared"):
        check_handlers([CallbackQueryHandler(noop, pattern=r"^rs:")])
    twice = [CallbackQueryHandler(noop, pattern=OpenTopic.matches), CallbackQueryHandler(noop, pattern=OpenTopic.matches)]
    with pytest.raises(CallbackClash, match="handled twice"):
        check_handlers(twice)
    inside = ConversationHandler(entry_points=twice[:1], states={1: twice}, fallbacks=[])
    with pytest.raises(CallbackClash, match="state 1"):
        check_handlers([inside])
    check_handlers([CallbackQueryHandler(noop), *twice[:1]])  # the catch-all for stale buttons is allowed
