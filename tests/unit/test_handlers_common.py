"""Small rules of how handlers talk to Telegram."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError

from handlers.common import show_buttons, toast


class Query:
    def __init__(self, error: Exception | None):
        self.error = error
        self.calls = 0

    async def edit_message_reply_markup(self, reply_markup):
        self.calls += 1
        if self.error:
            raise self.error

    async def answer(self, text=None):
        self.calls += 1
        if self.error:
            raise self.error


async def test_buttons_already_shown_are_fine_other_refusals_are_not():
    await show_buttons(Query(BadRequest("Message is not modified: specified new message content ...")), [])
    with pytest.raises(BadRequest):
        await show_buttons(Query(BadRequest("Chat not found")), [])


async def test_a_lost_toast_does_not_stop_the_work_that_follows():
    query = Query(NetworkError("connection reset"))
    await toast(query, "回答正确")
    assert query.calls == 1
