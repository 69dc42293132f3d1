"""Private things stay private in groups, and the sandbox's persona API refuses bad ids without harm (issue 14)."""

from __future__ import annotations

import httpx

from bot.accounts import TeamSpec
from bot.ui import teams as team_screens
from handlers.privacy import PRIVATE_ONLY
from tests.helpers import ADMIN_ID

GROUP = -100_777


async def test_team_codes_never_reach_a_group(bot):
    client = bot.client
    team = bot.runtime.services.accounts.create_team(TeamSpec("凤凰岛二标", "三亚"))
    await client.user(ADMIN_ID, "管理员", started=True)
    await client.send(ADMIN_ID, "/teams", chat_id=GROUP, chat_title="海棠湾项目部群")
    refusal = await client.wait_text(GROUP, PRIVATE_ONLY)
    assert refusal["text"].count("\n") == 0, "one line in the group"
    await client.send(ADMIN_ID, "/teams")  # the same command in private does show the codes
    await client.wait_text(ADMIN_ID, team["code"])
    texts = " ".join(m.get("text") or "" for m in await client.messages(GROUP))
    assert team["code"] not in texts and "start=" not in texts


async def test_a_private_button_pressed_in_a_group_gets_an_alert(bot):
    client = bot.client
    await client.user(ADMIN_ID, "管理员", started=True)
    await client.send(ADMIN_ID, "大家好", chat_id=GROUP, chat_title="海棠湾项目部群")  # not addressed: no answer
    forged = team_screens.TeamList().pack()  # a 团队管理 button, as if copied from a private chat
    injected = await client.http.post("/sandbox/inject", json={
        "chat_id": GROUP, "text": "x", "buttons": [[{"text": "团队管理", "callback_data": forged}]]})
    injected_id = injected.json()["message_id"]
    pressed = await client.http.post("/sandbox/press", json={
        "user_id": ADMIN_ID, "chat_id": GROUP, "message_id": injected_id, "row": 0, "column": 0,
        "wait": 10})
    answer = pressed.json()["answer"]
    assert answer == {"text": PRIVATE_ONLY, "show_alert": True}
    assert await client.messages(GROUP, after=injected_id, wait=1) == [], "nothing is drawn in the group"


async def test_persona_api_refuses_bad_ids_and_goes_on_working(bot):
    async with httpx.AsyncClient(base_url=bot.runtime.url) as http:
        for bad in ("abc", 10**30, -5, "1e3", True, None):
            body = {"name": "李班长", "region": "三亚市", "role": "worker", "id": bad}
            if bad is None:
                body = {"name": "李班长", "region": "三亚市"}  # no role
            response = await http.post("/sandbox/api/personas", json=body)
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["error"]
        for malformed in (b"[1, 2]", b"not json", b'{"name": null, "region": "\\u4e09", "role": 7}'):
            response = await http.post("/sandbox/api/personas", content=malformed)
            assert response.status_code == 400, malformed
        assert (await http.get("/sandbox/api/personas")).json()["personas"] == [], "nothing stored"
        made = await http.post("/sandbox/api/personas", json={"name": "\u202e王五", "region": "三亚市", "role": "worker"})
        assert made.status_code == 200
        personas = (await http.get("/sandbox/api/personas")).json()["personas"]
        assert [(p["name"], p["region"]) for p in personas] == [("王五", "三亚市")], "direction controls removed"
