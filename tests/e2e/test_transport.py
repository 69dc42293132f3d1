"""Which failed Bot API calls are repeated: never a send that may have arrived, always a refused or unsent one."""

from __future__ import annotations

import pytest
from telegram.error import Forbidden, NetworkError

from bot.transport import DeliveryUnknown

USER = 4242


async def texts(client, fragment: str) -> list[str]:
    return [m["text"] for m in await client.messages(USER) if fragment in (m["text"] or "")]


@pytest.fixture
async def sandbox_user(bot):
    await bot.client.user(USER, "测试")
    await bot.client.send(USER, "/start")
    await bot.client.wait_text(USER, "")
    return bot


async def test_a_send_whose_answer_was_lost_is_not_repeated(sandbox_user):
    bot = sandbox_user
    telegram = bot.runtime.application.bot
    for kind in ("reset_after", "connection_reset"):
        await bot.client.fault(method="sendMessage", error=kind, chat_id=USER)
        with pytest.raises(DeliveryUnknown):
            await telegram.send_message(USER, f"通知-{kind}")
    assert await texts(bot.client, "通知-reset_after") == ["通知-reset_after"], "took effect once, not repeated"
    assert await texts(bot.client, "通知-connection_reset") == [], "dropped before it took effect: lost, not doubled"


async def test_server_errors_are_repeated_until_they_pass_or_the_tries_run_out(sandbox_user):
    bot = sandbox_user
    telegram = bot.runtime.application.bot
    await bot.client.fault(method="sendMessage", error="server_error", times=2, chat_id=USER)
    await telegram.send_message(USER, "第三次成功")
    assert await texts(bot.client, "第三次成功") == ["第三次成功"]

    before = (await bot.client.state())["api_calls"].get("sendMessage", 0)
    await bot.client.fault(method="sendMessage", error="server_error", times=5, chat_id=USER)
    with pytest.raises(NetworkError):
        await telegram.send_message(USER, "一直失败")
    assert (await bot.client.state())["api_calls"]["sendMessage"] - before == 3, "one call and two repeats"
    assert await texts(bot.client, "一直失败") == []
    await bot.client.http.delete("/sandbox/faults")


async def test_an_edit_whose_answer_was_lost_is_repeated_and_found_done(sandbox_user):
    bot = sandbox_user
    telegram = bot.runtime.application.bot
    message = await telegram.send_message(USER, "原文")
    await bot.client.fault(method="editMessageText", error="reset_after", chat_id=USER)
    await telegram.edit_message_text("改过", USER, message.message_id)  # the repeat is told "not modified": done
    await bot.client.fault(method="editMessageText", error="connection_reset", chat_id=USER)
    await telegram.edit_message_text("又改过", USER, message.message_id)  # dropped before: the repeat does it
    edited = [m for m in await bot.client.messages(USER) if m["message_id"] == message.message_id]
    assert edited[-1]["text"] == "又改过"


async def test_file_lookups_get_through_every_kind_of_fault_but_a_refusal(sandbox_user):
    """getFile (report attachments) is a read: repeated after a 500, a 504, a reset before or after; waits out
    RetryAfter; a Forbidden is Telegram's answer and is not repeated."""
    bot = sandbox_user
    telegram = bot.runtime.application.bot
    sent = await telegram.send_document(USER, b"weekly report", filename="report.txt")
    for kind in ("server_error", "timeout", "connection_reset", "reset_after", "retry_after"):
        await bot.client.fault(method="getFile", error=kind, delay=1, retry_after=1)
        found = await telegram.get_file(sent.document.file_id)
        assert found.file_id == sent.document.file_id, kind
    await bot.client.fault(method="getFile", error="forbidden")
    with pytest.raises(Forbidden):
        await telegram.get_file(sent.document.file_id)
