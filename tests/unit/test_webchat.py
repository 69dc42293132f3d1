"""The web channel's parts in plain Python: which calls are the web's, the transport that diverts them, the signed
identity, the flood budget and the cookie secret."""

from __future__ import annotations

import json
import stat

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.webchat.channel import WEB_ID_BASE, WebChannel, is_web_id
from bot.webchat.request import ChannelRequest, is_web_call
from bot.webchat.routes import Bucket, FloodLimits, WebIdentity, web_secret
from tests.helpers import Monotonic


def test_which_calls_are_the_webs():
    web = WEB_ID_BASE + 12345
    assert is_web_id(web) and is_web_id(str(web)) and not is_web_id(2**52 - 1) and not is_web_id(-100)
    assert not is_web_id(None) and not is_web_id("@channel")
    assert is_web_call({"chat_id": web})
    assert is_web_call({"scope": json.dumps({"type": "chat", "chat_id": web})})
    assert is_web_call({"callback_query_id": "web12-ab"}) and not is_web_call({"callback_query_id": "123"})
    assert not is_web_call({"chat_id": 42}) and not is_web_call({})


class Recorder(BaseRequest):
    def __init__(self):
        self.calls = []

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    @property
    def read_timeout(self):
        return 5.0

    async def do_request(self, url, method, request_data=None, **kwargs):
        self.calls.append(url)
        return 200, b'{"ok": true, "result": true}'


def data(**params) -> RequestData:
    return RequestData([RequestParameter.from_input(key, value) for key, value in params.items()])


async def test_the_transport_sends_a_web_chats_calls_to_the_channel_and_the_rest_on():
    web = WebChannel()
    person = web.new_person("王工")
    inner = Recorder()
    request = ChannelRequest(inner, web)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    status, body = await request.do_request("https://api.telegram.org/botT/sendMessage", "POST",
                                            data(chat_id=person, text="<b>你好</b>", parse_mode="HTML",
                                                 reply_markup=markup))
    assert status == 200 and json.loads(body)["result"]["text"] == "你好" and inner.calls == []
    shown = await web.messages(person, 0, 0)
    assert shown[0]["html"] == "<b>你好</b>" and shown[0]["buttons"] == [["好"]]
    status, body = await request.do_request("https://api.telegram.org/botT/sendMessage", "POST",
                                            data(chat_id=person, text="<b>没闭合", parse_mode="HTML"))
    assert status == 400 and "parse entities" in json.loads(body)["description"], "as strict as Telegram"
    await request.do_request("https://api.telegram.org/botT/sendMessage", "POST", data(chat_id=42, text="hi"))
    assert inner.calls == ["https://api.telegram.org/botT/sendMessage"]
    status, body = await request.do_request("https://api.telegram.org/botT/sendPhoto", "POST",
                                            data(chat_id=person, photo="AgACAgUAAxkBAAI", caption="通知"))
    assert status == 200 and "Telegram 中查看" in json.loads(body)["result"]["text"], \
        "a photo kept on Telegram's side reaches a web person as its caption"


def test_the_signed_cookie_names_one_person_and_cannot_be_changed():
    identity = WebIdentity("x" * 40, secure=False)
    token = identity.serializer.dumps({"u": WEB_ID_BASE + 7})

    class FakeRequest:
        def __init__(self, cookie):
            self.cookies = {"qb_web": cookie}
            self.client = None

    assert identity.person(FakeRequest(token)) == WEB_ID_BASE + 7
    head, stamp, signature = token.split(".")
    other = WebIdentity("y" * 40, secure=False).serializer.dumps({"u": WEB_ID_BASE + 8}).split(".")[0]
    assert identity.person(FakeRequest(".".join([other, stamp, signature]))) is None
    assert identity.person(FakeRequest("garbage")) is None
    assert identity.csrf(1) != identity.csrf(2) and len(identity.csrf(1)) == 32


def test_flood_budgets_per_person_and_per_address():
    clock = Monotonic()
    limits = FloodLimits(clock=clock)
    assert all(limits.allow(1, "10.0.0.1") for _ in range(10))
    assert not limits.allow(1, "10.0.0.1"), "the person's burst is spent"
    assert limits.allow(2, "10.0.0.1"), "someone else behind the same address goes on"
    clock.advance(1.0)
    assert limits.allow(1, "10.0.0.1"), "one more a second"
    bucket = Bucket(2, 1.0)
    assert bucket.take(0) and bucket.take(0) and not bucket.take(0.5) and bucket.take(1.5)


def test_the_cookie_secret_is_made_once_and_private(tmp_path):
    db = tmp_path / "bot.db"
    first = web_secret(db)
    assert len(first) >= 32 and web_secret(db) == first
    assert stat.S_IMODE((tmp_path / "bot.db.web-secret").stat().st_mode) == 0o600


async def test_a_press_on_a_button_the_bot_never_sent_is_refused():
    web = WebChannel()
    person = web.new_person("李工")
    with pytest.raises(LookupError):
        await web.press(person, 1, 0, 0)
