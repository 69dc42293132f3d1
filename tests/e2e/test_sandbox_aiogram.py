"""A bot written with another client library (aiogram 3) runs against the standalone sandbox unchanged."""

import asyncio

import httpx
import pytest

from bot.config import SANDBOX_TOKEN
from bot.sandbox.standalone import serve
from tests.helpers import SandboxClient, free_port

aiogram = pytest.importorskip("aiogram", reason="aiogram is a test dependency: pip install -e '.[test]'")
from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message  # noqa: E402

USER = 5001


def tiny_bot() -> Dispatcher:
    """Echo with a button; the button answers the press and edits its message."""
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        button = InlineKeyboardButton(text="确认", callback_data="confirm")
        await message.answer(f"收到：{message.text}", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))

    @dispatcher.callback_query(F.data == "confirm")
    async def confirm(query: CallbackQuery) -> None:
        await query.answer("已确认")
        await query.message.edit_text("已确认 ✅")

    return dispatcher


async def is_up(client: SandboxClient) -> bool:
    try:
        return (await client.http.get("/sandbox/state")).status_code == 200
    except httpx.TransportError:
        return False


async def test_an_aiogram_bot_sends_answers_and_edits(tmp_path):
    port = free_port()
    stop = asyncio.Event()
    sandbox = asyncio.create_task(serve("127.0.0.1", port, SANDBOX_TOKEN, stop=stop))
    client = SandboxClient(f"http://127.0.0.1:{port}")
    bot = Bot(SANDBOX_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    dispatcher = tiny_bot()
    polling = None
    try:
        while not await is_up(client):
            assert not sandbox.done(), sandbox.result()
            await asyncio.sleep(0.05)
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
        await client.user(USER, "阿工")
        await client.send(USER, "漏水怎么办")
        reply = await client.wait_text(USER, "收到：漏水怎么办")
        assert reply["buttons"] == [["确认"]]
        press = await client.press(USER, "确认")
        assert press.json()["answer"] == {"text": "已确认", "show_alert": False}
        edited = await client.wait_text(USER, "已确认 ✅")
        assert edited["message_id"] == reply["message_id"] and edited["edited"] and edited["buttons"] == []
        state = await client.state()
        assert state["allowed_updates"] == ["callback_query", "message"], "aiogram asks only for what it handles"
        assert state["api_calls"]["answerCallbackQuery"] == 1 and state["api_calls"]["editMessageText"] == 1
    finally:
        if polling is not None:
            await dispatcher.stop_polling()
            await asyncio.wait_for(polling, 10)
        await bot.session.close()
        await client.close()
        stop.set()
        await asyncio.wait_for(sandbox, 10)
