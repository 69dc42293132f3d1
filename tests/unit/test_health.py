"""When /healthz must say that updates no longer arrive."""

from __future__ import annotations

from bot.health import CONFLICT_SECONDS, STALE_SECONDS, PollingHealth
from tests.helpers import Monotonic


def test_healthy_while_polls_are_answered():
    clock = Monotonic()
    health = PollingHealth(clock)
    assert health.problem() is None
    for _ in range(20):
        clock.now += 10
        health.answered(200)
    assert health.problem() is None


def test_a_rejected_token_is_for_good_until_a_poll_succeeds():
    clock = Monotonic()
    health = PollingHealth(clock)
    health.answered(401)
    assert "token" in health.problem()
    clock.now += 3600
    assert "token" in health.problem()
    health.answered(200)  # a new token, after a restart of the polling
    assert health.problem() is None


def test_a_second_poller_makes_it_unhealthy_until_it_stops():
    clock = Monotonic()
    health = PollingHealth(clock)
    health.answered(409)
    health.answered(200)  # the copies take turns: some polls still succeed
    assert "Conflict" in health.problem()
    clock.now += CONFLICT_SECONDS + 1
    health.answered(200)
    assert health.problem() is None


def test_no_answers_for_too_long():
    clock = Monotonic()
    health = PollingHealth(clock)
    clock.now += STALE_SECONDS + 1
    assert "no answer" in health.problem()
