"""The web channel at /m/ through its JSON API, as the page uses it: registration, questions, a live contest with a
web and a Telegram participant together, and attacks on identity (forged cookies, CSRF, replays, floods)."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import timedelta

import httpx

from bot.contests import ContestSpec
from tests.helpers import ADMIN_ID, eventually, has_button


class WebPerson:
    """A phone browser: its own cookie jar, the CSRF token the page carries, a fresh request id per POST."""

    def __init__(self, base_url: str):
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.csrf = ""

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, path: str, body: dict, **headers) -> httpx.Response:
        return await self.http.post(path, json={"request_id": secrets.token_hex(8), **body},
                                    headers={"X-CSRF-Token": self.csrf, **headers})

    async def hello(self, name: str, start: str = "") -> None:
        response = await self.post("/m/api/hello", {"name": name, "start": start})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf"]

    async def messages(self, after: int = 0, wait: float = 0) -> list[dict]:
        response = await self.http.get("/m/api/messages", params={"after": after, "wait": wait})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    async def wait_for(self, predicate, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(await self.messages()):
                if predicate(message):
                    return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such message; saw {[m.get('text') for m in await self.messages()]}")

    async def press(self, label: str, message: dict | None = None) -> dict:
        """Press the button whose label contains `label` (on the given message, else the newest that has it)."""
        if message is None:
            message = await self.wait_for(has_button(label))
        for row, labels in enumerate(message["buttons"]):
            for column, text in enumerate(labels):
                if label in text:
                    response = await self.post("/m/api/press", {"message_id": message["message_id"], "row": row,
                                                                "column": column})
                    assert response.status_code == 200, response.text
                    return response.json()
        raise AssertionError(f"no button {label!r} in {message['buttons']}")

    async def say(self, text: str) -> int:
        response = await self.post("/m/api/say", {"text": text})
        assert response.status_code == 200, response.text
        return response.json()["message_id"]


async def register(person: WebPerson, name: str, start: str = "") -> None:
    await person.hello(name, start)
    await person.press("三亚")
    await person.press("一线工人")
    await person.wait_for(lambda m: "团队" in (m.get("text") or ""))


async def test_a_web_person_registers_and_asks_like_a_telegram_user(bot):
    person = WebPerson(bot.runtime.url)
    try:
        await register(person, "王工")
        user = next(u for u in bot.storage.db["users"].rows if u["first_name"] == "王工")
        assert (user["region"], user["role"]) == ("三亚市", "worker")
        assert user["id"] > 2**52, "web people get ids that Telegram never gives"

        question = "卫生间地面渗水到楼下怎么办"
        asked = await person.say(question)
        web_card = await person.wait_for(lambda m: m["message_id"] > asked and m["buttons"])
        await bot.client.user(77, "李工")
        await bot.client.send(77, question)
        chat_card = await bot.client.wait_for(77, lambda m: m["buttons"] and "👍" in str(m["buttons"]))
        assert web_card["text"].splitlines()[0] == chat_card["text"].splitlines()[0], "the same topic either way"

        # practice, by the same buttons
        await person.say("/practice")
        await person.wait_for(lambda m: "练习" in (m.get("text") or "") and m["buttons"])
    finally:
        await person.close()


async def test_forged_cookies_csrf_replays_and_floods_are_refused(bot):
    person = WebPerson(bot.runtime.url)
    stranger = WebPerson(bot.runtime.url)
    try:
        await register(person, "赵工")
        cookie = person.http.cookies.get("qb_web")
        # the same POST twice
        body = {"text": "屋面漏水", "request_id": "a1b2c3d4e5f6a7b8"}
        first = await person.http.post("/m/api/say", json=body, headers={"X-CSRF-Token": person.csrf})
        again = await person.http.post("/m/api/say", json=body, headers={"X-CSRF-Token": person.csrf})
        assert first.status_code == 200 and again.status_code == 409
        # a cookie whose signed id was changed is nobody's
        payload, stamp, signature = cookie.split(".")
        stranger.http.cookies.set("qb_web", ".".join(["eyJ1Ijo0NTAzNTk5NjI3MzcwNDk3fQ", stamp, signature]),
                                  domain="127.0.0.1", path="/m")
        assert (await stranger.http.get("/m/api/messages")).status_code == 401
        stranger.csrf = person.csrf
        assert (await stranger.post("/m/api/say", {"text": "你好"})).status_code == 401
        # the right cookie without the page's token: a request from another site
        no_token = await person.http.post("/m/api/say", json={"text": "hi", "request_id": secrets.token_hex(8)})
        assert no_token.status_code == 403 and "刷新" in no_token.json()["error"]
        as_form = await person.http.post("/m/api/say", data={"text": "hi"}, headers={"X-CSRF-Token": person.csrf})
        assert as_form.status_code == 415
        # a forged button: not one the bot sent in this chat
        forged = await person.post("/m/api/press", {"message_id": 99999, "row": 0, "column": 0})
        assert forged.status_code == 404
        # a flood: the person's budget runs out, with a Chinese message
        codes = [(await person.post("/m/api/say", {"text": f"第{i}条"})).status_code for i in range(15)]
        assert 429 in codes
        refused = await person.post("/m/api/say", {"text": "再来"})
        assert refused.status_code == 429 and "频繁" in refused.json()["error"]
        # nothing of this reached the bot as someone else
        assert all(u["first_name"] in ("赵工",) for u in bot.storage.db["users"].rows)
    finally:
        await person.close()
        await stranger.close()


async def test_a_live_contest_with_a_web_and_a_telegram_participant(bot):
    services = bot.runtime.services
    client = bot.client
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="现场赛", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=2,
        seconds_per_question=10, min_team_size=1, mode="live"), None, organiser_id=ADMIN_ID)
    cid = contest["id"]
    assert services.contest_links(cid)[1].endswith(f"/m/join/c_{cid}")

    web = WebPerson(bot.runtime.url)
    try:
        joined = await web.http.get(f"/m/join/c_{cid}")  # the board's QR code: the page, which sends the deep link
        assert joined.status_code == 303 and joined.headers["location"] == f"/m/?start=c_{cid}"
        await register(web, "网页选手", start=f"c_{cid}")
        await web.say(f"/start c_{cid}")
        await web.press("加入现场竞赛")
        await web.wait_for(lambda m: "已加入现场竞赛" in (m.get("text") or ""))

        services.accounts.touch(501, "电报选手", None)
        services.accounts.set_region(501, "三亚市")
        services.accounts.set_role(501, "worker")
        await client.user(501, "电报选手")
        await client.send(501, f"/start c_{cid}")
        await client.wait_for(501, has_button("加入现场竞赛"))
        await client.press(501, "加入现场竞赛")
        await client.wait_text(501, "已加入现场竞赛")

        services.contests.host(cid, "start", 0, host_token=contest["host_token"])
        await eventually(lambda: services.contests.contest(cid)["live_deadline"] is not None, what="the clock")
        web_question = await web.wait_for(lambda m: "现场竞赛 · 第 1/2 题" in (m.get("text") or ""))
        chat_question = await client.wait_for(501, lambda m: "现场竞赛 · 第 1/2 题" in m["text"])
        assert web_question["buttons"] == chat_question["buttons"], "one question, the same options for both"
        toast = await web.press(web_question["buttons"][0][0].split(".")[0], web_question)
        assert toast["answer"]["text"] in ("回答正确", "回答错误", "已选：A。选好后按“提交”。")
        if "已选" in toast["answer"]["text"]:
            await web.press("提交", web_question)
        await client.press(501, chat_question["buttons"][0][0], message_id=chat_question["message_id"])
        if "提交" in str(chat_question["buttons"]):
            await client.press(501, "提交", message_id=chat_question["message_id"])
        await eventually(lambda: services.contests.contest(cid)["live_state"] == "reveal", what="both answered")
        async with httpx.AsyncClient(base_url=bot.runtime.url) as screen:  # what the big screen reads
            live = (await screen.get(f"/board/{contest['board_token']}/data")).json()["live"]
        assert live["joined"] == 2 and live["answered"] == 2 and live["state"] == "reveal"
        assert {p["name"] for p in live["top_people"]} == {"网页选手", "电报选手"}, "both on the board"
    finally:
        await web.close()


async def test_a_telegram_user_links_a_phone_browser_once(bot):
    client = bot.client
    services = bot.runtime.services
    await client.user(88, "陈工")
    services.accounts.touch(88, "陈工", None)
    services.accounts.set_region(88, "海口市")
    services.accounts.set_role(88, "worker")
    await client.send(88, "/me")
    await client.wait_for(88, has_button("在手机浏览器里也用这个账号"))
    await client.press(88, "在手机浏览器里也用这个账号")
    offer = await client.wait_text(88, "/m/link/")
    assert "只能用一次" in offer["text"]
    url = next(word for word in offer["text"].split() if "/m/link/" in word)
    token = url.rsplit("/", 1)[-1]

    web = WebPerson(bot.runtime.url)
    other = WebPerson(bot.runtime.url)
    try:
        opened = await web.http.get(f"/m/link/{token}")  # a link preview fetching it uses nothing up
        assert opened.status_code == 303 and opened.headers["location"] == f"/m/?link={token}"
        linked = await web.post("/m/api/link", {"token": token})
        assert linked.status_code == 200, linked.text
        web.csrf = linked.json()["csrf"]
        profile = await web.wait_for(lambda m: "我的信息" in (m.get("text") or ""))
        assert "海口市" in profile["text"], "the web page shows the Telegram account"
        # what is done on the web is the account's: a practice question answered there counts for user 88
        await web.say("/practice")
        await web.press("随机 10 题")
        question = await web.wait_for(lambda m: "练习 1/10" in (m.get("text") or "") and m["buttons"])
        await web.press(question["buttons"][0][0], question)
        await eventually(lambda: bot.storage.db.execute(
            "SELECT COUNT(*) FROM practice_answers WHERE user_id = 88").fetchone()[0] >= 1, what="a practice answer")
        # the link works once
        again = await other.post("/m/api/link", {"token": token})
        assert again.status_code == 410 and "/web" in again.json()["error"]
        assert (await other.post("/m/api/link", {"token": "nonsense-token-123"})).status_code == 410
    finally:
        await web.close()
        await other.close()


async def test_a_web_person_gets_their_bureaus_announcements(bot):
    from bot.announcements import Draft

    officer = 700
    bot.storage.upsert_user(officer, "三亚住建局", None)
    bot.storage.update_user(officer, region="三亚市", role="manager")
    bot.storage.grant_role(officer, "bureau", "三亚市", ADMIN_ID)
    await bot.client.user(officer, "三亚住建局", started=True)
    person = WebPerson(bot.runtime.url)
    try:
        await register(person, "刘工")
        announcement = bot.runtime.services.announcements.create(officer, Draft("三亚市质量月活动通知", None, ["三亚市"]))
        await bot.runtime.application.bot_data.broadcasting.launch(announcement["id"])
        notice = await person.wait_for(lambda m: "三亚市质量月活动通知" in (m.get("text") or ""))
        assert any("退订" in label for row in notice["buttons"] for label in row), "with its one-tap 退订"
    finally:
        await person.close()
