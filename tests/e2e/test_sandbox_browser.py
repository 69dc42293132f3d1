"""The sandbox chat page and the board together in Chromium: a participant answers in the page, the board follows."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
import pytest

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from tests.browser import artifact, launch
from tests.helpers import eventually, make_config

playwright_api = pytest.importorskip("playwright.async_api")


def option_label(letter: str) -> re.Pattern:
    """The option's own button: "B. 45dB", "☐ B. …" or "B" alone; never another option that mentions dB."""
    return re.compile(rf"^[☐☑ ]*{letter}(\.|$)")


async def test_participant_answers_in_the_chat_page_and_the_board_follows(bot):
    services = bot.runtime.services
    team = services.accounts.create_team(TeamSpec("海棠湾项目部", "三亚"))
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="质量月现场竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=2, seconds_per_question=60, min_team_size=1), None, organiser_id=9000)
    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        board = await browser.new_page(viewport={"width": 1600, "height": 900})
        await board.goto(f"{bot.runtime.url}/board/{contest['board_token']}")
        await board.wait_for_function("document.getElementById('participants').textContent === '0'")

        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.goto(f"{bot.runtime.url}/sandbox")
        await phone.fill("#persona-name", "李班长")
        await phone.select_option("#persona-region", "三亚市")
        await phone.select_option("#persona-role", "worker")
        await phone.select_option("#persona-team", team["code"])
        await phone.click("#persona-create")
        await phone.wait_for_selector(".msg.bot .buttons button:has-text('答题竞赛')")
        await phone.click(".msg.bot .buttons button:has-text('答题竞赛')")
        await phone.click(".msg.bot .buttons button:has-text('质量月现场竞赛')")
        await phone.click(".msg.bot .buttons button:has-text('开始答题')")
        question = phone.locator(".msg.bot", has_text="第 1/2 题").last
        await question.wait_for()

        user_id = next(u for u in bot.runtime.sandbox.users if bot.runtime.sandbox.users[u]["first_name"] == "李班长")
        attempt = bot.storage.attempt_of(contest["id"], user_id)
        shown = services.contests.shown(attempt)
        letter = "ABCD"[shown.right_display[0]]
        if shown.question.type == "multiple":
            for index in shown.right_display:
                await question.locator(".buttons button", has_text=option_label("ABCD"[index])).click()
            await question.locator(".buttons button", has_text="提交").click()
        else:
            await question.locator(".buttons button", has_text=option_label(letter)).click()
        # from the moment the answer is recorded (the verdict's message may wait for the chat's send budget)
        await eventually(lambda: len(bot.storage.contest_answers(contest["id"])) == 1, what="the answer recorded")
        recorded = time.monotonic()
        await board.wait_for_function("document.querySelector('#people li .score') && "
                                      "document.querySelector('#people li .score').textContent.startsWith('10')",
                                      timeout=3000)
        assert time.monotonic() - recorded < 3.0
        await phone.wait_for_selector(".msg.bot:has-text('回答正确')")
        team = board.locator("#teams .name").first  # the name, then its head count in a span of its own
        assert await team.evaluate("e => e.firstChild.textContent") == "海棠湾项目部"
        assert await team.locator(".count").text_content() == "1人"
        await phone.screenshot(path=artifact("sandbox-chat.png"))
        await board.screenshot(path=artifact("board-live.png"))
        await browser.close()


async def test_the_sandbox_page_is_not_served_with_a_real_token(tmp_path, knowledge_service):
    """With a token (here pointed at an unreachable Bot API) the process must not expose the sandbox page."""
    from bot.runtime import Runtime

    config = make_config(tmp_path, token="123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ",
                         bot_api_url="http://127.0.0.1:9")
    runtime = Runtime(config, knowledge=knowledge_service)
    with pytest.raises(Exception):
        await runtime.start()  # getMe cannot succeed; the web server is already up at this point
    try:
        async with httpx.AsyncClient(base_url=runtime.url) as client:
            assert (await client.get("/sandbox")).status_code == 404
            assert (await client.get("/sandbox/api/personas")).status_code == 404
            assert (await client.get("/healthz")).status_code == 503
    finally:
        await runtime.stop()
