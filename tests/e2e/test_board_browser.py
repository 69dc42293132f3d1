"""The big-screen board in a real browser: live updates within 3 s, escaping, 404, reconnection."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from tests.browser import artifact, launch

playwright_api = pytest.importorskip("playwright.async_api")


def make_contest(bot):
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="三亚质量月竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=3, min_team_size=1), None, organiser_id=9000)
    team = services.accounts.create_team(TeamSpec("凤凰岛<img src=x onerror=alert(1)>二标", "三亚"))
    for user_id in (1, 2):
        services.accounts.touch(user_id, f"<b>选手{user_id}</b>", None)
        services.accounts.set_region(user_id, "三亚市")
        services.accounts.set_role(user_id, "worker")
        bot.storage.update_user(user_id, team_id=team["id"])
    return contest


def answer_one(bot, contest_id, user_id, right=True):
    contests = bot.runtime.services.contests
    attempt = contests.start(contest_id, bot.runtime.services.accounts.get(user_id))
    shown, _ = contests.ask(attempt["id"], attempt["position"])
    choice = shown.right_display if right else [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
    return contests.answer(attempt["id"], user_id, shown.position, choice)


async def test_board_updates_live_and_escapes_names(bot):
    contest = make_contest(bot)
    url = f"{bot.runtime.url}/board/{contest['board_token']}"
    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport={"width": 1920, "height": 1080})
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_function("document.getElementById('participants').textContent === '0'")
        answer_one(bot, contest["id"], 1)
        started = time.monotonic()
        await page.wait_for_function("document.querySelector('#people li .score') && "
                                     "document.querySelector('#people li .score').textContent.includes('10')",
                                     timeout=3000)
        assert time.monotonic() - started < 3.0
        assert await page.locator("#people li").count() == 1
        assert await page.locator("#teams img").count() == 0 and await page.locator("#people b").count() == 0
        assert "<img src=x onerror=alert(1)>" in await page.locator("#teams .name").first.text_content()
        # a name with a right-to-left override cannot turn its neighbours around
        assert await page.locator("#teams .name").first.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
        assert await page.locator("#qr").evaluate("img => img.naturalWidth") > 0

        await context.set_offline(True)  # the hall's network drops ...
        answer_one(bot, contest["id"], 2)
        await page.wait_for_timeout(4000)
        await context.set_offline(False)  # ... and comes back: the board catches up by itself
        await page.wait_for_function("document.querySelectorAll('#people li').length === 2", timeout=15000)
        await page.screenshot(path=artifact("board.png"))
        await browser.close()


async def test_unknown_board_is_a_plain_404(bot):
    async with httpx.AsyncClient(base_url=bot.runtime.url) as client:
        for path in ("/board/not-a-token", "/board/not-a-token/data", "/board/not-a-token/events"):
            response = await client.get(path)
            assert response.status_code == 404
        assert "页面不存在" in (await client.get("/board/not-a-token")).text
