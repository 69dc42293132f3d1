"""Telegram's limits in the sandbox: flood control, callback expiry, answer and keyboard sizes, "started" users.

The arithmetic is tested on bot/sandbox/limits.py directly, the rest through the Bot API and the control API,
always on a clock that moves only when the test moves it.
"""

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.sandbox.limits import LimitSettings, Limits, SlidingWindow, TokenBucket, is_counted
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState
from tests.helpers import Monotonic

TOKEN = "123:sandbox-test-token-0123456789"
USER = 42
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


# --- the arithmetic --------------------------------------------------------------------------------------


def test_private_bucket_allows_a_burst_then_one_a_second():
    clock = Monotonic()
    limits = Limits(clock=clock)
    for _ in range(5):
        assert limits.check(1, private=True) is None
        limits.record(1, True, "sendMessage")
    refusal = limits.check(1, private=True)
    assert refusal.kinds == ("private",) and refusal.retry_after == 1
    clock.advance(0.4)
    assert limits.check(1, private=True).retry_after == 1, "0.6 s to go is still 1 whole second"
    clock.advance(0.6)
    assert limits.check(1, private=True) is None
    limits.record(1, True, "sendMessage")
    assert limits.check(1, private=True) is not None
    assert limits.check(2, private=True) is None, "each private chat has its own bucket"
    assert limits.refused == {"private": 3, "group": 0, "bot": 0}


def test_bucket_refills_to_its_capacity_only():
    bucket = TokenBucket(capacity=5, rate=1.0, now=0.0)
    for _ in range(5):
        bucket.take(0.0)
    assert bucket.wait(0.0) == 1.0
    assert bucket.wait(100.0) == 0.0 and bucket.tokens == 5
    slow = TokenBucket(capacity=1, rate=0.2, now=0.0)
    slow.take(0.0)
    assert slow.wait(1.0) == pytest.approx(4.0)


def test_refused_calls_use_up_no_budget():
    clock = Monotonic()
    limits = Limits({"private_burst": 1}, clock=clock)
    limits.record(1, True, "sendMessage")
    for _ in range(10):
        assert limits.check(1, private=True) is not None
    clock.advance(1.0)
    assert limits.check(1, private=True) is None, "ten refusals did not push the next call further away"


def test_group_window_is_20_in_any_60_seconds():
    clock = Monotonic()
    limits = Limits(clock=clock)
    for _ in range(20):
        assert limits.check(-100, private=False) is None
        limits.record(-100, False, "sendMessage")
        clock.advance(1.0)
    refusal = limits.check(-100, private=False)
    assert refusal.kinds == ("group",) and refusal.retry_after == 40  # the first call leaves the window at t=60
    clock.advance(39.5)
    assert limits.check(-100, private=False).retry_after == 1
    clock.advance(0.5)
    assert limits.check(-100, private=False) is None


def test_bot_window_is_30_in_any_second_across_chats():
    clock = Monotonic()
    limits = Limits(clock=clock)
    for chat in range(30):
        assert limits.check(chat, private=True) is None
        limits.record(chat, True, "sendMessage")
        clock.advance(0.01)
    refusal = limits.check(99, private=True)
    assert refusal.kinds == ("bot",) and refusal.retry_after == 1
    clock.advance(0.71)  # the first call, made at 0.00, is now a full second old
    assert limits.check(99, private=True) is None
    window = SlidingWindow(limit=2, window=1.0)
    window.take(0.0)
    window.take(0.5)
    assert window.wait(0.9) == pytest.approx(0.1)


def test_limits_switch_off_one_by_one_or_all_at_once():
    clock = Monotonic()
    limits = Limits({"private_burst": 0, "bot_per_second": 3}, clock=clock)
    for _ in range(3):
        assert limits.check(1, private=True) is None, "no private limit"
        limits.record(1, True, "sendMessage")
    assert limits.check(1, private=True).kinds == ("bot",)
    limits.configure({"enabled": False})
    assert all(limits.check(1, private=True) is None for _ in range(5))
    limits.configure({"reset": True})
    assert limits.settings.private_burst is None, "reset restores the settings the sandbox started with"
    assert Limits().settings == LimitSettings()
    with pytest.raises(ValueError, match="unknown limit"):
        limits.configure({"per_fortnight": 3})
    with pytest.raises(ValueError, match="must be a number"):
        limits.configure({"bot_per_second": "many"})


def test_counted_methods():
    assert [m for m in ["sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup",
                        "copyMessage", "forwardMessage"] if is_counted(m)] == ["sendMessage", "sendPhoto",
                                                                               "sendDocument", "editMessageText",
                                                                               "editMessageReplyMarkup", "copyMessage",
                                                                               "forwardMessage"]
    assert not any(map(is_counted, ["sendChatAction", "answerCallbackQuery", "getUpdates", "getMe", "setMyCommands",
                                    "deleteMessage", "deleteWebhook"]))


def test_peaks_and_traffic_are_recorded():
    clock = Monotonic()
    limits = Limits({"enabled": False}, clock=clock)
    for step in range(8):
        limits.record(7, True, "sendMessage")
        clock.advance(0.25)
    limits.record(8, True, "editMessageText")
    assert limits.peak_per_second == 4 and limits.peak_per_chat == {7: 8, 8: 1}
    assert limits.traffic[0] == (1000.0, 7, "sendMessage") and len(limits.traffic) == 9


def test_callbacks_expire_after_the_timeout():
    clock = Monotonic()
    limits = Limits(clock=clock)
    pressed = clock()
    clock.advance(15.0)
    assert not limits.callback_expired(pressed)
    clock.advance(0.1)
    assert limits.callback_expired(pressed) and limits.expired_callbacks == 1
    limits.configure({"callback_timeout": 0})
    assert not limits.callback_expired(pressed)


# --- through the HTTP APIs ---------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path):
    clock = Monotonic()
    state = SandboxState(tmp_path / "journal.jsonl", limits=Limits(clock=clock))
    client = TestClient(Starlette(routes=SandboxServer(state, TOKEN).routes()))
    client.post("/sandbox/users", json={"id": USER, "first_name": "测试", "started": True})
    yield client, state, clock
    state.close()


def call(client, method, **params):
    return client.post(f"/bot{TOKEN}/{method}",
                       data={k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})


def inline(rows):
    return {"inline_keyboard": rows}


def test_a_private_flood_is_refused_with_retry_after(api):
    client, _, clock = api
    sent = [call(client, "sendMessage", chat_id=USER, text=f"第{n}条").json()["result"] for n in range(5)]
    assert call(client, "sendChatAction", chat_id=USER, action="typing").json()["ok"], "chat actions do not count"
    refused = call(client, "editMessageText", chat_id=USER, message_id=sent[0]["message_id"], text="改")
    assert refused.status_code == 429
    assert refused.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                              "parameters": {"retry_after": 1}}
    listed = client.get("/sandbox/messages", params={"chat_id": USER}).json()["messages"]
    assert [m["text"] for m in listed] == [f"第{n}条" for n in range(5)], "the refused edit did not take effect"
    clock.advance(1.0)
    assert call(client, "editMessageText", chat_id=USER, message_id=sent[0]["message_id"], text="改").json()["ok"]
    report = client.get("/sandbox/limits").json()
    assert report["refused"] == {"private": 1, "group": 0, "bot": 0}
    assert report["peak_per_chat_3s"] == {str(USER): 6} and report["peak_per_second"] == 5


def test_a_group_gets_20_messages_a_minute(api):
    client, _, clock = api
    client.post("/sandbox/send", json={"user_id": USER, "chat_id": -1001, "chat_type": "supergroup", "text": "hi"})
    for n in range(20):
        assert call(client, "sendMessage", chat_id=-1001, text=f"群{n}").json()["ok"]
        clock.advance(2.0)
    refused = call(client, "sendMessage", chat_id=-1001, text="多一条").json()
    assert refused["parameters"] == {"retry_after": 20} and refused["description"].endswith("retry after 20")


def test_the_bot_gets_30_messages_a_second_overall(api):
    client, _, clock = api
    for user in range(500, 531):
        client.post("/sandbox/users", json={"id": user, "first_name": f"工人{user}", "started": True})
    codes = [call(client, "sendMessage", chat_id=user, text="通知").status_code for user in range(500, 531)]
    assert codes == [200] * 30 + [429]
    assert client.get("/sandbox/limits").json()["refused"]["bot"] == 1
    calls = client.get("/sandbox/traffic").json()["calls"]
    assert len(calls) == 30 and {c[0] for c in calls} == {1000.0} and calls[0][1:] == [500, "sendMessage"]


def test_limits_are_loosened_through_the_control_api(api):
    client, _, _ = api
    loosened = client.post("/sandbox/limits", json={"enabled": False}).json()
    assert loosened["settings"]["enabled"] is False
    assert all(call(client, "sendMessage", chat_id=USER, text="x").json()["ok"] for _ in range(12))
    assert client.post("/sandbox/limits", json={"reset": True}).json()["settings"]["enabled"] is True
    assert call(client, "sendMessage", chat_id=USER, text="x").status_code == 200, "budgets start afresh"
    client.post("/sandbox/limits", json={"private_burst": 1})
    assert call(client, "sendMessage", chat_id=USER, text="x").status_code == 200
    assert call(client, "sendMessage", chat_id=USER, text="x").status_code == 429
    assert client.post("/sandbox/limits", json={"private_burst": "lots"}).status_code == 400
    assert client.post("/sandbox/limits", json={"meteors": 1}).status_code == 400
    client.post("/sandbox/reset")
    assert client.get("/sandbox/limits").json()["settings"]["private_burst"] == 5


def test_a_late_answer_to_a_press_is_refused(api):
    client, state, clock = api
    sent = call(client, "sendMessage", chat_id=USER, text="选", reply_markup=inline([[{"text": "好", "callback_data": "ok"}]]))
    assert sent.json()["ok"]
    for delay, expected in [(15.5, TOO_OLD), (14.0, None)]:
        client.post("/sandbox/press", json={"user_id": USER, "text": "好", "wait": 0})
        query = call(client, "getUpdates").json()["result"][-1]["callback_query"]
        clock.advance(delay)
        answer = call(client, "answerCallbackQuery", callback_query_id=query["id"], text="收到").json()
        assert answer.get("description") == expected
    again = call(client, "answerCallbackQuery", callback_query_id=query["id"]).json()
    assert again["description"] == TOO_OLD, "a query is answered once"
    assert call(client, "answerCallbackQuery", callback_query_id="cb-forged").json()["description"] == TOO_OLD
    assert client.get("/sandbox/limits").json()["expired_callbacks"] == 1
    client.post("/sandbox/limits", json={"callback_timeout": 0})
    client.post("/sandbox/press", json={"user_id": USER, "text": "好", "wait": 0})
    query = call(client, "getUpdates").json()["result"][-1]["callback_query"]
    clock.advance(3600)
    assert call(client, "answerCallbackQuery", callback_query_id=query["id"]).json()["ok"]


def test_answer_text_is_at_most_200_characters(api):
    client, _, _ = api
    call(client, "sendMessage", chat_id=USER, text="选", reply_markup=inline([[{"text": "好", "callback_data": "ok"}]]))
    client.post("/sandbox/press", json={"user_id": USER, "text": "好", "wait": 0})
    query_id = call(client, "getUpdates").json()["result"][-1]["callback_query"]["id"]
    too_long = call(client, "answerCallbackQuery", callback_query_id=query_id, text="长" * 201).json()
    assert too_long == {"ok": False, "error_code": 400, "description": "Bad Request: MESSAGE_TOO_LONG"}
    assert call(client, "answerCallbackQuery", callback_query_id=query_id, text="长" * 200).json()["ok"]


@pytest.mark.parametrize("markup, description", [
    (inline([[{"text": str(n), "callback_data": str(n)} for n in range(row * 8, row * 8 + 8)] for row in range(13)]),
     "reply markup is too long"),
    (inline([[{"text": str(n), "callback_data": str(n)} for n in range(9)]]),
     "reply markup is too long: more than 8 buttons in a row"),
    (inline([[{"text": "只有字"}]]), "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"),
    (inline([[{"text": "空", "callback_data": ""}]]),
     "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"),
    (inline([[{"text": "两个", "callback_data": "a", "url": "https://example.org"}]]),
     "can't parse inline keyboard button: exactly one action is allowed, got url and callback_data"),
    (inline([[{"callback_data": "a"}]]), "can't parse inline keyboard button: Can't find field \"text\""),
    (inline([["字符串"]]), "can't parse inline keyboard button: InlineKeyboardButton must be an Object"),
    (inline([{"text": "a", "callback_data": "a"}]),
     'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'),
    (inline("bad"), 'field "inline_keyboard" must be of type Array'),
    ([1, 2], "object expected as reply markup"),
    ("{not json", "can't parse reply keyboard markup JSON object"),
    ({"keyboard": [[7]]}, "can't parse keyboard button: KeyboardButton must be a String or an Object"),
    ({"remove_keyboard": "yes"}, 'field "remove_keyboard" must be of type Boolean'),
])
def test_keyboards_are_checked_like_telegram(api, markup, description):
    client, _, _ = api
    response = call(client, "sendMessage", chat_id=USER, text="键盘", reply_markup=markup)
    assert response.status_code == 400 and response.json()["description"] == f"Bad Request: {description}"


def test_keyboard_sizes_can_be_loosened(api):
    client, _, _ = api
    wide = inline([[{"text": str(n), "callback_data": str(n)} for n in range(9)]])
    exactly = inline([[{"text": str(n), "callback_data": str(n)} for n in range(r * 8, r * 8 + 8)] for r in range(12)]
                     + [[{"text": "100", "url": "https://example.org"}, {"text": "99", "callback_data": "99"},
                         {"text": "98", "callback_data": "98"}, {"text": "97", "callback_data": "97"}]])
    assert call(client, "sendMessage", chat_id=USER, text="100个", reply_markup=exactly).json()["ok"]
    client.post("/sandbox/limits", json={"keyboard_max_row": 0})
    assert call(client, "sendMessage", chat_id=USER, text="宽", reply_markup=wide).json()["ok"]


def test_users_who_never_started_the_bot_cannot_be_messaged(api):
    client, _, _ = api
    client.post("/sandbox/users", json={"id": 7, "first_name": "新人"})
    refused = call(client, "sendMessage", chat_id=7, text="你好")
    assert refused.status_code == 403
    assert refused.json()["description"] == "Forbidden: bot can't initiate conversation with a user"
    client.post("/sandbox/send", json={"user_id": 7, "chat_id": -5, "text": "群里说话"})
    assert call(client, "sendMessage", chat_id=7, text="你好").status_code == 403, "a group message starts nothing"
    assert call(client, "sendMessage", chat_id=-5, text="群里回复").json()["ok"]
    client.post("/sandbox/send", json={"user_id": 7, "text": "/start"})
    assert call(client, "sendMessage", chat_id=7, text="你好").json()["ok"]
    started = {u["id"]: u["started"] for u in client.get("/sandbox/users").json()["users"]}
    assert started == {USER: True, 7: True}
    client.post("/sandbox/users", json={"id": 8, "first_name": "旧人"})
    client.post("/sandbox/limits", json={"require_start": False})
    assert call(client, "sendMessage", chat_id=8, text="你好").json()["ok"]


def test_a_press_in_the_private_chat_starts_it_and_the_flag_is_journalled(api, tmp_path):
    client, state, _ = api
    client.post("/sandbox/users", json={"id": 9, "first_name": "按钮"})
    client.post("/sandbox/inject", json={"chat_id": 9, "text": "旧消息", "buttons": [[{"text": "按", "callback_data": "x"}]]})
    assert client.post("/sandbox/press", json={"user_id": 9, "text": "按", "wait": 0}).json()["ok"]
    assert 9 in state.started
    state.close()
    assert 9 in SandboxState(tmp_path / "journal.jsonl").started


def test_writing_to_the_bot_again_unblocks_it_with_my_chat_member_first(api):
    client, _, _ = api
    client.post("/sandbox/block", json={"user_id": USER})
    assert call(client, "sendMessage", chat_id=USER, text="hi").json()["description"] == \
        "Forbidden: bot was blocked by the user"
    client.post("/sandbox/send", json={"user_id": USER, "text": "我回来了"})
    updates = call(client, "getUpdates").json()["result"]
    kinds = [next(key for key in update if key != "update_id") for update in updates]
    assert kinds == ["my_chat_member", "my_chat_member", "message"]
    comeback = updates[1]["my_chat_member"]
    assert (comeback["old_chat_member"]["status"], comeback["new_chat_member"]["status"]) == ("kicked", "member")
    assert call(client, "sendMessage", chat_id=USER, text="欢迎回来").json()["ok"]
