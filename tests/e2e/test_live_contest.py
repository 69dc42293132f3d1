"""A live contest at an event: 30 participants in 4 teams, paced by the host (in chat and on the big screen's host
view), watched on the board in headless Chromium at 1920×1080; answers counted against the database."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from bot.quiz import LETTERS
from tests.browser import artifact, launch
from tests.helpers import ADMIN_ID, eventually, has_button

playwright_api = pytest.importorskip("playwright.async_api")

SECONDS = 10
EARLY = list(range(101, 127))  # join in the lobby
LATE = list(range(127, 131))   # join after the first question
SILENT = 126                   # lets the first question run out


def right_pattern(user_id: int, position: int) -> bool:
    return (user_id + position) % 3 != 0


def setup(bot) -> dict:
    services = bot.runtime.services
    teams = [services.accounts.create_team(TeamSpec(name, "三亚")) for name in
             ("海棠湾项目部", "凤凰岛二标", "崖州湾一标", "吉阳区安置房")]
    for index, user_id in enumerate(EARLY + LATE):
        services.accounts.touch(user_id, f"选手{user_id}", None)
        services.accounts.set_region(user_id, "三亚市")
        services.accounts.set_role(user_id, "worker")
        bot.storage.update_user(user_id, team_id=teams[index % 4]["id"])
    now = services.contests.clock()
    return services.contests.create(ContestSpec(
        title="三亚质量月现场赛", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=3,
        seconds_per_question=SECONDS, min_team_size=3, mode="live"), None, organiser_id=ADMIN_ID)


async def join(bot, user_id: int, contest_id: int) -> None:
    client = bot.client
    await client.user(user_id, f"选手{user_id}")
    await client.send(user_id, f"/start c_{contest_id}")
    await client.wait_for(user_id, has_button("加入现场竞赛"))
    await client.press(user_id, "加入现场竞赛")


async def answer(bot, contest_id: int, user_id: int, position: int, watch_board: bool = True) -> tuple[str, str, int]:
    """Wait for the live question on the phone and press the right or a wrong option; (toast, the last button pressed,
    the message). `watch_board`: first wait for the big screen's countdown, as the hall does."""
    client = bot.client
    message = await client.wait_for(user_id, lambda m: f"现场竞赛 · 第 {position + 1}/3 题" in m["text"]
                                    and m["buttons"], timeout=20)
    attempt = bot.storage.attempt_of(contest_id, user_id)
    shown = bot.runtime.services.contests.shown(attempt)
    assert shown.position == position
    # like the hall, wait for the big screen's countdown: answers count once the question has reached every phone
    if watch_board:
        await eventually(lambda: bot.storage.contest(contest_id)["live_deadline"] is not None, what="the countdown")
    chosen = shown.right_display if right_pattern(user_id, position) else \
        [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
    labels = [b for row in message["buttons"] for b in row]
    pick = [next(b for b in labels if b.lstrip("☐☑ ").startswith(LETTERS[i])) for i in chosen]
    last = "提交" if shown.question.type == "multiple" else pick[0]
    if shown.question.type == "multiple":
        for label in pick:
            await client.press(user_id, label, message_id=message["message_id"])
    response = await client.press(user_id, last, message_id=message["message_id"])
    return response.json()["answer"]["text"], last, message["message_id"]


async def host_press(bot, label: str) -> dict:
    """The host presses a button on the newest panel in their chat."""
    client = bot.client
    panel = await client.wait_for(ADMIN_ID, lambda m: "现场主持" in m["text"] and any(
        label in b for row in m["buttons"] for b in row), timeout=15)
    response = await client.press(ADMIN_ID, label, message_id=panel["message_id"])
    assert response.status_code == 200, response.text
    return response.json()["answer"]


async def text_of(page, selector: str) -> str:
    return (await page.locator(selector).first.text_content() or "").strip()


async def wait_state(page, name: str, timeout: float = 15_000) -> None:
    await page.wait_for_function(f"document.getElementById('live-state') && "
                                 f"document.getElementById('live-state').textContent.includes('{name}')",
                                 timeout=timeout)


async def check_distribution(page, bot, contest_id: int, position: int) -> None:
    """What the board shows per option is what the database holds."""
    view = bot.runtime.services.contests.live_view(contest_id)
    plan_order = bot.runtime.services.contests.live_plan(bot.runtime.services.contests.contest(contest_id))[position][1]
    counts = Counter()
    for row in bot.storage.contest_answers(contest_id):
        if row["position"] == position:
            for letter in row["chosen"]:
                counts[plan_order.index(LETTERS.index(letter))] += 1
    expected = [counts[i] for i in range(len(plan_order))]
    assert view["distribution"] == expected
    await page.wait_for_function(
        "expected => [...document.querySelectorAll('.live-option .live-count')].map(e => +e.textContent.trim())"
        ".join(',') === expected", arg=",".join(map(str, expected)), timeout=5000)
    right = view["question"]["right"]
    marked = [i for i, tile in enumerate(await page.locator(".live-option").all())
              if "right" in (await tile.get_attribute("class") or "")]
    assert marked == right


async def test_live_contest_in_a_hall(bot):
    services = bot.runtime.services
    client = bot.client
    contest = setup(bot)
    cid = contest["id"]
    board_url = f"{bot.runtime.url}/board/{contest['board_token']}"
    await client.user(ADMIN_ID, "主持人")

    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport={"width": 1920, "height": 1080})
        page = await context.new_page()
        await page.goto(f"{board_url}?host={contest['host_token']}")
        await wait_state(page, "等待开始")

        await asyncio.gather(*(join(bot, uid, cid) for uid in EARLY))
        for uid in EARLY[:3]:
            await client.wait_text(uid, "已加入现场竞赛")
        await page.wait_for_function(f"document.getElementById('live-joined').textContent.trim() === '{len(EARLY)}'",
                                     timeout=5000)
        assert await page.locator("#lobby-qr").evaluate("img => img.naturalWidth") > 0
        await page.screenshot(path=artifact("live-1-lobby.png"))

        # the host opens the panel in chat: /contests → the contest → 现场主持 → 开始
        await client.send(ADMIN_ID, "/contests")
        await client.wait_for(ADMIN_ID, has_button("三亚质量月现场赛"))
        await client.press(ADMIN_ID, "三亚质量月现场赛")
        await client.wait_for(ADMIN_ID, has_button("现场主持"))
        await client.press(ADMIN_ID, "现场主持")
        assert "第 1 题已发出" in (await host_press(bot, "开始"))["text"]

        # question 1: a press before the question has reached everyone is not counted (and says why)
        await wait_state(page, "答题中")
        answering = [uid for uid in EARLY if uid != SILENT]
        eager = answering.pop()  # presses as soon as the question is on the phone
        await client.wait_for(eager, lambda m: "现场竞赛 · 第 1/3 题" in m["text"], timeout=10)
        eager_question = services.contests.shown(bot.storage.attempt_of(cid, eager)).question
        if services.contests.contest(cid)["live_deadline"] is None and eager_question.type != "multiple":
            toast, _, _ = await answer(bot, cid, eager, 0, watch_board=False)
            if toast in ("回答正确", "回答错误"):  # the last send went out meanwhile: the clock had started
                print("the question had reached everyone before the eager press")
            else:
                assert "大屏幕开始倒计时后再作答" in toast, toast
                answering.append(eager)  # not counted: they answer again with the hall
        else:
            answering.append(eager)
        # everyone but one answers; the board counts them; the deadline reveals
        stem = services.contests.live_view(cid)["question"]["stem"]
        assert await text_of(page, "#live-stem") == stem
        before = int(await text_of(page, "#live-answered"))
        first = await answer(bot, cid, answering[0], 0)  # one answer is on the big screen within a second
        answered_at = time.monotonic()
        await page.wait_for_function(f"document.getElementById('live-answered').textContent.trim() === '{before + 1}'",
                                     timeout=3000)
        shown_after = time.monotonic() - answered_at
        print(f"one answer on the board after {shown_after * 1000:.0f} ms")
        assert shown_after < 1.0
        results = [first, *await asyncio.gather(*(answer(bot, cid, uid, 0) for uid in answering[1:]))]
        toasts = [toast for toast, _, _ in results]
        assert all(t in ("回答正确", "回答错误") for t in toasts), set(toasts)
        # the board shows the answers within a second or so (its event stream looks every 0.5 s)
        await page.wait_for_function(
            f"document.getElementById('live-answered').textContent.trim() === '{len(EARLY) - 1}'", timeout=1500)
        await page.screenshot(path=artifact("live-2-question.png"))
        _, label, message_id = results[0]
        again = (await client.press(answering[0], label, message_id=message_id)).json()["answer"]["text"]
        assert "已经作答" in again, "a second press changes nothing"
        await wait_state(page, "公布答案", timeout=(SECONDS + 10) * 1000)
        await check_distribution(page, bot, cid, 0)
        assert await text_of(page, "#live-no-answer") == "1"
        assert await page.locator("#live-top-people li").count() == 5
        await page.wait_for_timeout(1000)  # the bars grow for 0.8 s
        await page.screenshot(path=artifact("live-3-reveal.png"))

        # late joiners come in while the answer is shown; they get question 2 with everyone
        await asyncio.gather(*(join(bot, uid, cid) for uid in LATE))
        for uid in LATE:
            await client.wait_text(uid, "已加入现场竞赛")

        # question 2 from the board's host view; everyone answers, which reveals at once
        await page.click("#host-next")
        await wait_state(page, "答题中")
        await asyncio.gather(*(answer(bot, cid, uid, 1) for uid in EARLY + LATE))
        await wait_state(page, "公布答案", timeout=5000)
        await check_distribution(page, bot, cid, 1)

        # pause in chat, resume on the board, question 3 in chat
        assert "已暂停" in (await host_press(bot, "暂停"))["text"]
        await wait_state(page, "暂停中")
        assert await page.locator("#paused-banner").is_visible()
        await page.screenshot(path=artifact("live-4-paused.png"))
        await page.click("#host-resume")
        await wait_state(page, "公布答案")
        assert "第 3 题已发出" in (await host_press(bot, "下一题"))["text"]
        await asyncio.gather(*(answer(bot, cid, uid, 2) for uid in EARLY + LATE))
        await wait_state(page, "公布答案", timeout=5000)
        await check_distribution(page, bot, cid, 2)

        # the end: the podium on the board, each participant's result in chat
        await host_press(bot, "结束并颁奖")
        await wait_state(page, "已结束")
        board = services.contests.leaderboard(cid, with_questions=False)
        podium = [await e.text_content() for e in await page.locator("#podium .podium-person").all()]
        assert len(podium) == 3
        assert all(any(row.name in shown for shown in podium) for row in board.individuals[:3])
        assert await page.locator("#podium .podium-team").count() == 3
        await page.screenshot(path=artifact("live-5-podium.png"))
        for uid in (EARLY[0], LATE[0], SILENT):
            await client.wait_text(uid, "答题结束", timeout=15)
        await browser.close()

    # every answer recorded once, and the scores are what was pressed
    answers = bot.storage.contest_answers(cid)
    assert len(answers) == 30 * 3 and len({(a["user_id"], a["position"]) for a in answers}) == 90
    for uid in EARLY + LATE:
        mine = {a["position"]: a for a in answers if a["user_id"] == uid}
        for position in range(3):
            missed = (uid == SILENT and position == 0) or (uid in LATE and position == 0)
            assert mine[position]["timed_out"] == int(missed), (uid, position)
            assert mine[position]["correct"] == int(not missed and right_pattern(uid, position)), (uid, position)
        attempt = bot.storage.attempt_of(cid, uid)
        assert attempt["finished_at"] and attempt["correct"] == sum(a["correct"] for a in mine.values())
        assert attempt["score"] == 10 * attempt["correct"]
    # one message per participant per question (and the result at the end): nothing more reached the phones
    for uid in (EARLY[5], LATE[1]):
        texts = [m["text"] for m in await client.messages(uid)]
        assert sum("现场竞赛 · 第" in t for t in texts) == (3 if uid in EARLY else 2), texts


async def test_host_moves_need_the_host_link_or_the_organiser(bot):
    services = bot.runtime.services
    client = bot.client
    contest = setup(bot)
    cid = contest["id"]
    base = f"{bot.runtime.url}/board/{contest['board_token']}/host"
    async with httpx.AsyncClient() as http:
        refused = await http.post(base, json={"token": contest["board_token"], "action": "start", "position": -1})
        assert refused.status_code == 403 and refused.json()["message"] == "主持链接无效。"
        malformed = await http.post(base, json={"token": contest["host_token"], "action": "explode", "position": -1})
        assert malformed.status_code == 400
        assert (await http.post(base, content=b"not json")).status_code == 400
    assert services.contests.contest(cid)["live_state"] == "lobby", "nothing moved"
    # a participant forging the host's button is refused in chat
    await client.user(101, "选手101")
    injected = await client.http.post("/sandbox/inject", json={"chat_id": 101, "text": "x", "buttons": [[
        {"text": "开始", "callback_data": f"lc:{cid}:start:0"}]]})
    answer = (await client.press(101, "开始", message_id=injected.json()["message_id"])).json()["answer"]
    assert "只有该竞赛的组织者" in answer["text"]
    assert services.contests.contest(cid)["live_state"] == "lobby"
    async with httpx.AsyncClient() as http:
        opened = await http.post(base, json={"token": contest["host_token"], "action": "start", "position": -1})
    assert opened.status_code == 200 and opened.json()["message"] == "第 1 题已发出。"
    await eventually(lambda: services.contests.contest(cid)["live_deadline"] is not None, what="the clock starts")


async def test_a_restart_during_a_question_keeps_its_deadline_and_reveals(bot):
    contest = setup(bot)
    cid = contest["id"]
    for uid in (101, 102):
        await join(bot, uid, cid)
        await bot.client.wait_text(uid, "已加入现场竞赛")
    services = bot.runtime.services
    services.contests.host(cid, "start", 0, host_token=contest["host_token"])
    await eventually(lambda: services.contests.contest(cid)["live_deadline"] is not None, what="the clock starts")
    deadline = services.contests.contest(cid)["live_deadline"]
    toast, _, _ = await answer(bot, cid, 101, 0)
    assert toast in ("回答正确", "回答错误")

    await bot.restart()
    services = bot.runtime.services
    assert services.contests.contest(cid)["live_deadline"] == deadline, "the restart did not move the deadline"
    await eventually(lambda: services.contests.contest(cid)["live_state"] == "reveal", timeout=SECONDS + 10,
                     what="the reveal at the deadline, scheduled again after the restart")
    rows = {(a["user_id"], a["position"]): a for a in bot.storage.contest_answers(cid)}
    assert set(rows) == {(101, 0), (102, 0)} and rows[(102, 0)]["timed_out"] == 1
