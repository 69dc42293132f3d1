"""Updates of different users run at the same time; one user's updates run in the order they came."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.app import PerUserUpdateProcessor


def update_from(update_id: int, user_id: int) -> Update:
    user = User(user_id, f"u{user_id}", is_bot=False)
    message = Message(update_id, None, Chat(user_id, Chat.PRIVATE), from_user=user, text="hi")
    return Update(update_id, message=message)


async def test_one_user_in_order_others_alongside():
    processor = PerUserUpdateProcessor(64)
    events: list[str] = []
    release = asyncio.Event()

    async def work(name: str, wait: bool) -> None:
        events.append(f"{name} start")
        if wait:
            await release.wait()
        events.append(f"{name} end")

    first = asyncio.create_task(processor.process_update(update_from(1, 7), work("a1", wait=True)))
    second = asyncio.create_task(processor.process_update(update_from(2, 7), work("a2", wait=False)))
    other = asyncio.create_task(processor.process_update(update_from(3, 8), work("b1", wait=False)))
    await asyncio.wait_for(other, 2)
    assert events == ["a1 start", "b1 start", "b1 end"], "user 8 must not wait for user 7"
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert events[3:] == ["a1 end", "a2 start", "a2 end"], "user 7's second update waits for the first"
    assert processor._locks == {} and processor._queued == {}, "idle users are forgotten"


async def test_a_failing_update_releases_its_user():
    processor = PerUserUpdateProcessor(8)

    async def boom() -> None:
        raise RuntimeError("handler failed")

    async def fine() -> str:
        return "ok"

    try:
        await processor.process_update(update_from(1, 9), boom())
    except RuntimeError:
        pass
    await asyncio.wait_for(processor.process_update(update_from(2, 9), fine()), 2)
    assert processor._locks == {}
