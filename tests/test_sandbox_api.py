"""The sandbox speaks Telegram's shapes and errors, so that bugs show up here as they would on Telegram."""

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.sandbox.server import SandboxServer
from bot.sandbox.state import SandboxState

TOKEN = "123:sandbox-test-token-0123456789"


@pytest.fixture
def api(tmp_path):
    state = SandboxState(tmp_path / "journal.jsonl")
    client = TestClient(Starlette(routes=SandboxServer(state, TOKEN).routes()))
    client.post("/sandbox/users", json={"id": 42, "first_name": "测试"})
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
    call(client, "sendMessage", chat_id=42, text="记住我")
    state.close()
    again = SandboxState(tmp_path / "j.jsonl")
    client = TestClient(Starlette(routes=SandboxServer(again, TOKEN).routes()))
    assert [m["text"] for m in client.get("/sandbox/messages", params={"chat_id": 42}).json()["messages"]] == ["记住我"]
    assert call(client, "sendMessage", chat_id=42, text="新消息").json()["result"]["message_id"] == 2
    client.post("/sandbox/reset")
    assert client.get("/sandbox/state").json()["users"] == 0
