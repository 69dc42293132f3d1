"""The sandbox speaks Telegram's shapes and errors, so that bugs show up here as they would on Telegram."""

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.sandbox.limits import Limits
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState
from tests.helpers import Monotonic

TOKEN = "123:sandbox-test-token-0123456789"


@pytest.fixture
def api(tmp_path):
    """Telegram's limits on a clock that stands still unless a test moves it (state.limits.clock.advance)."""
    state = SandboxState(tmp_path / "journal.jsonl", limits=Limits(clock=Monotonic()))
    client = TestClient(Starlette(routes=SandboxServer(state, TOKEN).routes()))
    client.post("/sandbox/users", json={"id": 42, "first_name": "测试", "started": True})
    yield client, state
    state.close()


def call(client, method, **params):
    return client.post(f"/bot{TOKEN}/{method}", data={k: str(v) for k, v in params.items()})


def test_wrong_token_and_unknown_method(api):
    client, _ = api
    assert client.post("/botWRONG/getMe").json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert call(client, "noSuchMethod").json()["error_code"] == 404


def test_html_is_parsed_like_telegram(api):
    client, _ = api
    ok = call(client, "sendMessage", chat_id=42, text="<b>粗</b> &lt;ok&gt;", parse_mode="HTML").json()
    assert ok["ok"] and ok["result"]["text"] == "粗 <ok>"
    bad = call(client, "sendMessage", chat_id=42, text="<script>x</script>", parse_mode="HTML").json()
    assert bad["error_code"] == 400 and "can't parse entities" in bad["description"]
    assert call(client, "sendMessage", chat_id=42, text="a < b", parse_mode="HTML").json()["error_code"] == 400
    assert call(client, "sendMessage", chat_id=42, text="x" * 4097).json()["description"].endswith("too long")
    assert call(client, "sendMessage", chat_id=42, text="  ").json()["description"].endswith("text is empty")
    assert call(client, "sendMessage", chat_id=7, text="hi").json()["description"].endswith("chat not found")


def test_callback_data_over_64_bytes_is_rejected(api):
    client, _ = api
    markup = '{"inline_keyboard": [[{"text": "x", "callback_data": "' + "卫" * 22 + '"}]]}'
    response = call(client, "sendMessage", chat_id=42, text="t", reply_markup=markup).json()
    assert response["description"] == "Bad Request: BUTTON_DATA_INVALID"


def test_edit_to_identical_content_is_not_modified(api):
    client, _ = api
    sent = call(client, "sendMessage", chat_id=42, text="同样").json()["result"]
    response = call(client, "editMessageText", chat_id=42, message_id=sent["message_id"], text="同样").json()
    assert "message is not modified" in response["description"]
    edited = call(client, "editMessageText", chat_id=42, message_id=sent["message_id"], text="不同").json()
    assert edited["ok"] and "edit_date" in edited["result"]
    listed = client.get("/sandbox/messages", params={"chat_id": 42}).json()["messages"]
    assert listed == [{**listed[0], "text": "不同", "edited": True}]


def test_faults_match_method_and_chat_then_expire(api):
    client, _ = api
    client.post("/sandbox/faults", json={"method": "sendMessage", "error": "retry_after", "times": 2,
                                         "chat_id": 42, "retry_after": 3})
    first = call(client, "sendMessage", chat_id=42, text="a")
    assert first.status_code == 429 and first.json()["parameters"] == {"retry_after": 3}
    assert call(client, "sendMessage", chat_id=42, text="a").status_code == 429
    assert call(client, "sendMessage", chat_id=42, text="a").json()["ok"]
    client.post("/sandbox/faults", json={"method": "sendMessage", "error": "forbidden"})
    assert call(client, "sendMessage", chat_id=42, text="a").json()["error_code"] == 403
    assert client.post("/sandbox/faults", json={"method": "x", "error": "meteor"}).status_code == 400


def test_chaos_is_seeded_per_method_and_reported(api):
    client, state = api

    client.post("/sandbox/limits", json={"enabled": False})  # 40 messages in one instant: no flood control here

    def fates(seed: int) -> list[int]:
        assert client.post("/sandbox/chaos", json={"seed": seed, "rate": 0.5, "errors": ["server_error", "forbidden"],
                                                   "exclude": ["getMe"]}).status_code == 200
        codes = [call(client, "sendMessage", chat_id=42, text="x").json().get("error_code", 200) for _ in range(40)]
        assert call(client, "getMe").json()["ok"], "excluded methods never fail"
        report = client.delete("/sandbox/chaos").json()
        assert report["calls"] == {"sendMessage": 40}
        assert sum(report["injected"]["sendMessage"].values()) == sum(c != 200 for c in codes)
        return codes

    first = fates(7)
    assert set(first) == {200, 500, 403} and fates(7) == first, "the same seed, the same fates"
    assert fates(8) != first
    assert call(client, "sendMessage", chat_id=42, text="x").json()["ok"], "DELETE stops it"
    assert client.post("/sandbox/chaos", json={"seed": 1, "rate": 2}).status_code == 400
    assert client.post("/sandbox/chaos", json={"seed": 1, "rate": 0.1, "errors": ["meteor"]}).status_code == 400
    assert client.post("/sandbox/chaos", json={"rate": 0.1}).status_code == 400


def test_reset_after_takes_effect_but_cuts_the_answer(api):
    client, state = api
    client.post("/sandbox/faults", json={"method": "sendMessage", "error": "reset_after"})
    client.post("/sandbox/faults", json={"method": "sendMessage", "error": "connection_reset"})
    for _ in range(2):
        with pytest.raises(Exception):
            call(client, "sendMessage", chat_id=42, text="半路断线")
    listed = client.get("/sandbox/messages", params={"chat_id": 42}).json()["messages"]
    assert [m["text"] for m in listed] == ["半路断线"], "reset_after delivered it once; connection_reset did not"


def test_updates_flow_and_offsets(api):
    client, _ = api
    client.post("/sandbox/send", json={"user_id": 42, "text": "/start"})
    updates = call(client, "getUpdates", timeout=0).json()["result"]
    message = updates[0]["message"]
    assert message["from"]["id"] == 42 and message["entities"][0]["type"] == "bot_command"
    assert call(client, "getUpdates", offset=updates[0]["update_id"] + 1).json()["result"] == []


def test_press_needs_a_matching_button(api):
    client, _ = api
    assert client.post("/sandbox/press", json={"user_id": 42, "text": "不存在"}).status_code == 404
    assert client.post("/sandbox/press", json={"user_id": 4242, "text": "x"}).status_code == 404


def test_blocked_user_gives_forbidden_and_my_chat_member(api):
    client, _ = api
    client.post("/sandbox/block", json={"user_id": 42})
    update = call(client, "getUpdates").json()["result"][-1]
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    assert call(client, "sendMessage", chat_id=42, text="hi").json()["error_code"] == 403


def test_state_survives_a_restart_through_the_journal(tmp_path):
    state = SandboxState(tmp_path / "j.jsonl")
    client = TestClient(Starlette(routes=SandboxServer(state, TOKEN).routes()))
    client.post("/sandbox/users", json={"id": 42, "first_name": "测试"})
    client.post("/sandbox/send", json={"user_id": 42, "text": "/start"})  # the user opens the chat
    call(client, "sendMessage", chat_id=42, text="记住我")
    state.close()
    again = SandboxState(tmp_path / "j.jsonl")
    client = TestClient(Starlette(routes=SandboxServer(again, TOKEN).routes()))
    assert [m["text"] for m in client.get("/sandbox/messages", params={"chat_id": 42}).json()["messages"]] == ["记住我"]
    assert call(client, "sendMessage", chat_id=42, text="新消息").json()["result"]["message_id"] == 3, \
        "the user started the chat before the restart"
    client.post("/sandbox/reset")
    assert client.get("/sandbox/state").json()["users"] == 0


def test_entities_count_utf16_code_units(api):
    client, _ = api
    client.post("/sandbox/send", json={"user_id": 42, "chat_id": -7, "text": "👷 @qualitybot_sandbox_bot 漏水"})
    client.post("/sandbox/send", json={"user_id": 42, "text": "/start@qualitybot_sandbox_bot c_1"})
    client.post("/sandbox/send", json={"user_id": 42, "text": "🏗️看 /help"})
    group, command, later = (u["message"] for u in call(client, "getUpdates").json()["result"])
    assert group["entities"] == [{"type": "mention", "offset": 3, "length": 23}]
    assert command["entities"] == [{"type": "bot_command", "offset": 0, "length": 29}]
    assert later["entities"] == [{"type": "bot_command", "offset": 5, "length": 5}]  # 🏗️ is 3 UTF-16 units


async def test_a_second_poller_ends_the_waiting_one_with_409(tmp_path):
    state = SandboxState()
    app = Starlette(routes=SandboxServer(state, TOKEN).routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        waiting = asyncio.create_task(client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "5"}))
        while state.polls == 0:
            await asyncio.sleep(0.01)
        second = await client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "0"})
        first = await asyncio.wait_for(waiting, 2)
        assert second.json() == {"ok": True, "result": []}
        assert first.status_code == 409 and first.json()["description"] == (
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
        waiting = asyncio.create_task(client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "5"}))
        while state.polls == 2:
            await asyncio.sleep(0.01)
        await client.post(f"/bot{TOKEN}/setWebhook", data={"url": "https://bot.example.org/hook"})
        assert (await asyncio.wait_for(waiting, 2)).json()["description"] == \
            "Conflict: terminated by setWebhook request"
        refused = await client.post(f"/bot{TOKEN}/getUpdates")
        assert refused.status_code == 409 and refused.json()["description"] == (
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook "
            "first")
        await client.post(f"/bot{TOKEN}/deleteWebhook")
        assert (await client.post(f"/bot{TOKEN}/getUpdates")).json()["ok"]


def test_allowed_updates_drop_other_kinds(api):
    client, _ = api
    call(client, "sendMessage", chat_id=42, text="选", reply_markup='{"inline_keyboard": [[{"text": "好", '
                                                                     '"callback_data": "ok"}]]}')
    assert call(client, "getUpdates", allowed_updates='["message"]').json()["result"] == []
    press = client.post("/sandbox/press", json={"user_id": 42, "text": "好", "wait": 1}).json()
    assert press["update_id"] is None and press["answer"] is None, "dropped at once, not waited for"
    client.post("/sandbox/send", json={"user_id": 42, "text": "文字"})
    assert [list(u)[1] for u in call(client, "getUpdates").json()["result"]] == ["message"], "the choice is kept"
    call(client, "getUpdates", allowed_updates="[]")  # an empty list: Telegram's default again
    client.post("/sandbox/press", json={"user_id": 42, "text": "好", "wait": 0})
    assert "callback_query" in call(client, "getUpdates").json()["result"][-1]


def test_drop_pending_updates(api):
    client, state = api
    for text in ("一", "二"):
        client.post("/sandbox/send", json={"user_id": 42, "text": text})
    assert call(client, "deleteWebhook", drop_pending_updates="false").json()["ok"] and len(state.updates) == 2
    call(client, "deleteWebhook", drop_pending_updates="true")
    assert call(client, "getUpdates").json()["result"] == []
    client.post("/sandbox/send", json={"user_id": 42, "text": "三"})
    call(client, "setWebhook", url="https://bot.example.org/hook", drop_pending_updates="true")
    assert state.updates == [] and state.webhook["url"] == "https://bot.example.org/hook"


def test_query_string_parameters_are_decoded_like_form_fields(api):
    client, _ = api
    markup = '{"inline_keyboard": [[{"text": "查", "callback_data": "q"}]]}'
    sent = client.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": "42", "text": "123", "reply_markup": markup})
    assert sent.json()["result"]["text"] == "123" and sent.json()["result"]["reply_markup"]["inline_keyboard"]
    client.post(f"/bot{TOKEN}/getUpdates", params={"allowed_updates": '["message"]'})
    assert client.get("/sandbox/state").json()["allowed_updates"] == ["message"]


def test_edits_need_the_right_kind_of_message(api):
    client, _ = api
    photo = client.post(f"/bot{TOKEN}/sendPhoto", data={"chat_id": "42", "caption": "图"},
                        files={"photo": ("p.jpg", b"\xff\xd8\xff\xd9", "image/jpeg")}).json()["result"]
    text = call(client, "sendMessage", chat_id=42, text="字").json()["result"]
    assert call(client, "editMessageText", chat_id=42, message_id=photo["message_id"], text="新").json()[
        "description"] == "Bad Request: there is no text in the message to edit"
    assert call(client, "editMessageCaption", chat_id=42, message_id=text["message_id"], caption="新").json()[
        "description"] == "Bad Request: there is no caption in the message to edit"
    same = call(client, "editMessageCaption", chat_id=42, message_id=photo["message_id"], caption="图").json()
    assert same["description"].startswith("Bad Request: message is not modified")
    assert call(client, "editMessageCaption", chat_id=42, message_id=photo["message_id"], caption="新图").json()["ok"]


@pytest.mark.parametrize("method, params", [
    ("getUpdates", {"offset": "x", "timeout": "soon"}),
    ("sendMessage", {"chat_id": "[1, 2]", "text": "x"}),
    ("sendMessage", {"chat_id": "42", "text": "x", "reply_markup": '{"inline_keyboard": [[{"text": 5, "url": 7}]]}'}),
    ("editMessageText", {"chat_id": "42", "message_id": '{"a": 1}', "text": "x"}),
    ("answerCallbackQuery", {"callback_query_id": "[1]"}),
    ("getFile", {"file_id": "{}"}),
    ("sendPhoto", {"chat_id": "42", "photo": "[]"}),
    ("setMyCommands", {"commands": '"none"'}),
])
def test_malformed_requests_are_400_never_500(api, method, params):
    client, _ = api
    response = call(client, method, **params)
    assert response.status_code == 400 and response.json()["description"].startswith("Bad Request: ")


def test_malformed_bodies_are_400_never_500(api):
    client, _ = api
    for body, content_type in [(b"[1, 2]", "application/json"), (b"{", "application/json"),
                               (b"--x\r\ngarbage", "multipart/form-data; boundary=x")]:
        response = client.post(f"/bot{TOKEN}/sendMessage", content=body, headers={"content-type": content_type})
        assert response.status_code == 400, body


def commands_json(*names: str) -> str:
    return json.dumps([{"command": name, "description": f"说明{name}"} for name in names])


def test_set_my_commands_is_checked_like_telegram(api):
    client, state = api
    refused = {
        "BOT_COMMAND_INVALID": [commands_json("NewContest"), commands_json("a" * 33), commands_json("new-team"),
                                json.dumps([{"command": "", "description": "空"}])],
        "BOT_COMMAND_DESCRIPTION_INVALID": [json.dumps([{"command": "help", "description": ""}]),
                                            json.dumps([{"command": "help", "description": "说" * 257}]),
                                            json.dumps([{"command": "help"}])],
        "BOT_COMMANDS_TOO_MUCH": [commands_json(*(f"c{i}" for i in range(101)))],
    }
    for description, lists in refused.items():
        for commands in lists:
            answer = call(client, "setMyCommands", commands=commands).json()
            assert answer["description"] == f"Bad Request: {description}", commands
    for scope, description in [('{"type": "everyone"}', "unsupported bot command scope type"),
                               ('{"type": "chat", "chat_id": 777}', "chat not found"),
                               ('{"type": "chat"}', "chat not found"), ('"chat"', "can't parse BotCommandScope JSON object"),
                               ('{"type": "chat_member", "chat_id": 42}', "invalid user_id specified")]:
        answer = call(client, "setMyCommands", commands=commands_json("help"), scope=scope).json()
        assert answer["description"] == f"Bad Request: {description}", scope
    assert call(client, "setMyCommands", commands=commands_json("help"), language_code="chinese").status_code == 400
    assert state.command_menus.report() == [], "nothing refused was kept"
    assert call(client, "setMyCommands", commands=commands_json(*(f"c{i}" for i in range(100)))).json()["ok"]
    assert call(client, "setMyCommands", commands=commands_json("a" * 32)).json()["ok"]


def test_each_chat_shows_the_most_specific_menu(api):
    client, state = api
    client.post("/sandbox/users", json={"id": 43, "first_name": "组织者", "started": True})
    assert call(client, "setMyCommands", commands=commands_json("start", "help")).json()["ok"]
    assert call(client, "setMyCommands", commands=commands_json("start", "help", "newcontest"),
                scope='{"type": "chat", "chat_id": 43}').json()["ok"]
    assert call(client, "setMyCommands", commands=commands_json("kaishi"), language_code="zh",
                scope='{"type": "chat", "chat_id": 43}').json()["ok"]

    def shown(chat_id, **extra):
        response = client.get("/sandbox/commands", params={"chat_id": chat_id, **extra})
        return [c["command"] for c in response.json()["shown"]]

    assert shown(42) == ["start", "help"] and shown(43) == ["start", "help", "newcontest"]
    assert shown(43, language_code="zh") == ["kaishi"] and shown(42, language_code="zh") == ["start", "help"]
    assert [c["command"] for c in state.commands] == ["start", "help"], "state.commands is the default menu"
    scoped = call(client, "getMyCommands", scope='{"type": "chat", "chat_id": 43}').json()["result"]
    assert [c["command"] for c in scoped] == ["start", "help", "newcontest"]
    assert call(client, "getMyCommands", scope='{"type": "all_private_chats"}').json()["result"] == []
    scopes = client.get("/sandbox/commands").json()["scopes"]
    assert {(s["scope"]["type"], s["scope"].get("chat_id"), s["language_code"]) for s in scopes} == \
        {("default", None, ""), ("chat", 43, ""), ("chat", 43, "zh")}

    assert call(client, "setMyCommands", commands=commands_json("start"),
                scope='{"type": "all_private_chats"}').json()["ok"]
    assert shown(42) == ["start"], "all_private_chats comes before default in a private chat"
    assert call(client, "deleteMyCommands", scope='{"type": "chat", "chat_id": 43}').json()["ok"]
    assert shown(43) == ["start"], "after deletion the wider menu shows again"
    assert client.get("/sandbox/commands", params={"chat_id": 777}).status_code == 404
