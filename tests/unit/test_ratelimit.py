"""One send budget per token: Telegram's limits kept, replies before broadcasts, a 429 costs only its chat."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import ARRIVAL_SPREAD, SendBudget, SlidingWindow, counted
from bot.sandbox import limits as telegram
from tests.helpers import Monotonic


def drain(budget: SendBudget, clock: Monotonic, requests: list[tuple[int, bool]], seconds: float,
          step: float = 0.001) -> list[tuple[float, int, bool]]:
    """Grant (chat, bulk) requests as the limiter allows, in order of asking, for `seconds` of fake time."""
    granted, waiting = [], list(requests)
    end = clock.now + seconds
    while clock.now < end and waiting:
        budget.replies_waiting = sum(1 for _, bulk in waiting if not bulk)
        for request in list(waiting):
            if budget.try_acquire(*request) == 0:
                granted.append((clock.now, *request))
                waiting.remove(request)
        clock.now += step
    return granted


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)), default=0)


def test_never_more_than_the_overall_rate_in_any_second():
    clock = Monotonic(0.0)
    budget = SendBudget(per_second=28, bulk_per_second=20, clock=clock)
    granted = drain(budget, clock, [(chat, False) for chat in range(1, 400)], 10)
    assert most_in_any_window([t for t, _, _ in granted], 1.0) == 28
    assert len(granted) >= 28 * 10 / (1 + ARRIVAL_SPREAD) - 1, "and it keeps up with the rate, less the margin"


def test_broadcasts_take_what_replies_leave_and_never_more_than_their_rate():
    clock = Monotonic(0.0)
    budget = SendBudget(per_second=28, bulk_per_second=20, clock=clock)
    requests = [(10_000 + i, True) for i in range(200)] + [(i, False) for i in range(1, 61)]
    granted = drain(budget, clock, requests, 5)
    replies = [t for t, _, bulk in granted if not bulk]
    bulk = [t for t, _, bulk in granted if bulk]
    assert len(replies) == 60 and max(replies) < 2 * (1 + ARRIVAL_SPREAD) + 0.01, "replies are not kept waiting behind the broadcast"
    assert most_in_any_window(bulk, 1.0) <= 20
    assert most_in_any_window(replies + bulk, 1.0) <= 28


def test_a_private_chat_gets_a_burst_then_about_one_a_second():
    clock = Monotonic(0.0)
    budget = SendBudget(private_burst=4, private_per_second=0.9, clock=clock)
    granted = [t for t, _, _ in drain(budget, clock, [(7, False)] * 10, 8)]
    assert len([t for t in granted if t < 0.01]) == 4
    assert all(b - a >= 1 / 0.9 - 0.002 for a, b in zip(granted[4:], granted[5:]))
    sandbox = telegram.TokenBucket(5, 1.0, 0.0)  # what the sandbox (and Telegram, about) allows a private chat
    for moment in granted:
        assert sandbox.wait(moment) == 0, moment
        sandbox.take(moment)


def test_a_group_gets_at_most_19_a_minute():
    clock = Monotonic(0.0)
    budget = SendBudget(clock=clock)
    granted = drain(budget, clock, [(-100500, False)] * 40, 120, step=0.05)
    assert most_in_any_window([t for t, _, _ in granted], 60.0) == 19


def test_only_sends_and_edits_count():
    assert counted("sendMessage") and counted("editMessageText") and counted("sendPhoto")
    assert not counted("answerCallbackQuery") and not counted("sendChatAction") and not counted("getFile")


async def test_a_429_holds_back_its_chat_only_and_is_retried():
    budget = SendBudget()
    calls: list[tuple[int, float]] = []

    async def send(chat: int):
        calls.append((chat, budget.clock()))
        if chat == 1 and len([c for c, _ in calls if c == 1]) == 1:
            raise RetryAfter(timedelta(seconds=1))
        return chat

    started = budget.clock()
    results = await asyncio.gather(
        budget.process_request(send, (1,), {}, "sendMessage", {"chat_id": 1}, None),
        budget.process_request(send, (2,), {}, "sendMessage", {"chat_id": 2}, None))
    assert results == [1, 2]
    first_try, second_try = [t for c, t in calls if c == 1]
    assert second_try - first_try >= 1.0, "chat 1 waited as told"
    assert [t for c, t in calls if c == 2][0] - started < 0.5, "chat 2 did not wait with it"

    async def refused(*args):
        raise RetryAfter(timedelta(seconds=0))

    with pytest.raises(RetryAfter):
        await SendBudget(max_retries=1).process_request(refused, (), {}, "getFile", {}, None)


def test_sliding_window():
    window = SlidingWindow(2, 1.0)
    window.record(0.0)
    window.record(0.5)
    assert window.wait(0.9) == pytest.approx(0.1) and window.wait(1.0) == 0.0


def test_sends_that_arrive_late_still_keep_any_second_under_the_limit():
    clock = Monotonic(0.0)
    budget = SendBudget(per_second=28, bulk_per_second=20, clock=clock)
    granted = [t for t, _, _ in drain(budget, clock, [(chat, False) for chat in range(1, 400)], 10)]
    # the first send of each window arrives as late as the spread allows, the others at once: still 28 at most
    arrivals = [t + (ARRIVAL_SPREAD if i % 28 == 0 else 0) for i, t in enumerate(granted)]
    assert most_in_any_window(arrivals, 1.0) <= 28
    assert len(granted) >= 28 * 10 / (1 + ARRIVAL_SPREAD) - 28, "the margin costs little throughput"


async def test_a_repeated_send_waits_its_turn_like_a_first_try():
    clock = Monotonic(0.0)
    budget = SendBudget(per_second=2, bulk_per_second=2, clock=clock)
    assert budget.try_acquire(1, False) == 0 and budget.try_acquire(2, False) == 0
    repeat = asyncio.create_task(budget.pace_repeat("sendmessage", 3))
    await asyncio.sleep(0.05)
    assert not repeat.done(), "the budget for this second is spent: the repeat waits"
    clock.now += 1 + ARRIVAL_SPREAD
    await asyncio.wait_for(repeat, 2)
    assert budget.try_acquire(4, False) == 0 and budget.try_acquire(5, False) > 0, "the repeat used a slot"
    await asyncio.wait_for(budget.pace_repeat("getMe", None), 0.1)  # not counted: no wait at all
