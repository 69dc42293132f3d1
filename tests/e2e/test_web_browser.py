"""The web channel's page in headless Chromium at phone sizes: register, ask, practise, join a live contest from the
board's QR link; a screenshot of each screen at 360 px in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.contests import ContestSpec
from tests.browser import artifact, launch
from tests.helpers import ADMIN_ID, eventually

playwright_api = pytest.importorskip("playwright.async_api")


async def press(page, label: str) -> None:
    """Tap the newest button with this label."""
    await page.locator(".buttons button", has_text=label).last.click()


async def newest_bot_text(page) -> str:
    return await page.locator(".msg.bot").last.text_content() or ""


async def test_a_phone_registers_asks_and_practises(bot):
    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        strict = await browser.new_page(viewport={"width": 390, "height": 844})  # with the page's own CSP
        console = []
        strict.on("console", lambda message: console.append(message.text))
        await strict.goto(f"{bot.runtime.url}/m/")
        assert await strict.locator("#welcome").is_visible() and await strict.locator("#start-button").is_visible()
        assert not [text for text in console if "Content Security Policy" in text], console
        await strict.close()
        context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                            bypass_csp=True)  # the page forbids eval; the test's waits use it
        page = await context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{bot.runtime.url}/m/")
        await page.wait_for_selector("#welcome")
        await page.screenshot(path=artifact("web-1-welcome-360.png"))
        await page.fill("#name", "王工<b>")
        await page.click("#start-button")
        await page.wait_for_selector(".buttons button:has-text('三亚')")
        await page.screenshot(path=artifact("web-2-registration-360.png"))
        await press(page, "三亚")
        await page.wait_for_selector(".buttons button:has-text('一线工人')")
        await press(page, "一线工人")
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('团队'))")
        user = next(u for u in bot.storage.db["users"].rows if u["first_name"].startswith("王工"))
        assert (user["region"], user["role"]) == ("三亚市", "worker")
        assert await page.locator("b:has-text('王工')").count() == 0, "a name is text, not markup"

        await page.fill("#input", "卫生间地面渗水到楼下怎么办")
        await page.click("#send")
        await page.wait_for_selector(".msg.me:has-text('卫生间地面渗水')")
        await page.wait_for_function("[...document.querySelectorAll('.buttons button')].some(b => b.textContent.includes('👍'))",
                                     timeout=10_000)
        await page.screenshot(path=artifact("web-3-answer-360.png"), full_page=True)

        await page.fill("#input", "/practice")
        await page.click("#send")
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('练习'))")
        await page.screenshot(path=artifact("web-4-practice-360.png"))
        # nothing runs off the side of a small phone
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
        assert not errors, errors
        await browser.close()


async def test_a_phone_joins_a_live_contest_from_the_board_link(bot):
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="现场赛", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=1,
        seconds_per_question=20, min_team_size=1, mode="live"), None, organiser_id=ADMIN_ID)
    cid = contest["id"]
    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                            bypass_csp=True)
        page = await context.new_page()
        await page.goto(services.contest_links(cid)[1])  # what the board's QR code opens
        await page.wait_for_selector("#welcome")
        assert await page.locator(f"a[href*='start=c_{cid}']").count() == 1, "Telegram is offered too"
        await page.fill("#name", "网页选手")
        await page.click("#start-button")
        await press_when(page, "三亚")
        await press_when(page, "一线工人")
        await press_when(page, "暂不加入")  # no team: the contest card follows
        await press_when(page, "加入现场竞赛")
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('已加入现场竞赛'))")
        services.contests.host(cid, "start", 0, host_token=contest["host_token"])
        await eventually(lambda: services.contests.contest(cid)["live_deadline"] is not None, what="the clock")
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('第 1/1 题'))")
        await page.screenshot(path=artifact("web-5-live-question-390.png"))
        question = page.locator(".msg.bot").last
        await question.locator(".buttons button").first.click()
        await page.wait_for_selector("#toast", state="visible")
        if await question.locator(".buttons button", has_text="提交").count():  # 多选: the tick was told, now submit
            await page.wait_for_timeout(700)  # the page holds a pressed button back briefly against double taps
            await question.locator(".buttons button", has_text="提交").click()
        await eventually(lambda: len(bot.storage.contest_answers(cid)) == 1 or
                         services.contests.live_view(cid)["state"] == "reveal", what="the answer")
        await browser.close()


async def press_when(page, label: str) -> None:
    await page.wait_for_selector(f".buttons button:has-text('{label}')", timeout=10_000)
    await press(page, label)


async def test_a_phone_takes_over_a_telegram_account_with_the_link(bot):
    services = bot.runtime.services
    services.accounts.touch(88, "陈工", None)
    services.accounts.set_region(88, "海口市")
    services.accounts.set_role(88, "worker")
    token = services.accounts.web_link(88)
    async with playwright_api.async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                            bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{bot.runtime.url}/m/link/{token}")
        await page.wait_for_selector("#link-button")
        await page.screenshot(path=artifact("web-6-link-360.png"))
        assert bot.storage.db.execute("SELECT used_at FROM web_links").fetchone()[0] is None, \
            "opening the page uses nothing up: only the confirmation does"
        await page.click("#link-button")
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('海口市'))")
        await page.reload()  # the cookie keeps the account
        await page.wait_for_function("[...document.querySelectorAll('.msg.bot')].some(m => m.textContent.includes('海口市'))")
        await browser.close()
