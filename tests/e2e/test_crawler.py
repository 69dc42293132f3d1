"""Press every button each role can reach, starting from the main menu, on a throwaway database.

Depth first: the screens a press draws are explored next, while they are fresh, so that a wizard's buttons are pressed
in the state they were drawn for. Asserted for every role: no button the bot has just drawn is answered as expired or
unknown (two features claiming one callback prefix showed up exactly so), no exception reaches the error handler,
and every screen offers a way on or back (buttons), asks for typed input, or is a final document or picture.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.accounts import TeamSpec
from bot.announcements import Draft
from bot.contests import ContestSpec
from bot.ui.menu import STALE_BUTTON
from tests.helpers import ADMIN_ID, RunningBot, make_config

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PRESS_BUDGET = 400
PASSES = 40
# A screen without buttons is fine when it asks for typed input or is a finished document or picture.
PROMPT = re.compile(r"请发送|请输入|请在 /ask|发送 /cancel|/cancel 取消")
ROLE_USERS = {"worker": 501, "organiser": 502, "bureau": 503, "province bureau": 504, "admin": ADMIN_ID}


@dataclass
class Crawl:
    presses: int = 0
    screens: set[str] = field(default_factory=set)
    stale: list[str] = field(default_factory=list)
    dead_ends: set[str] = field(default_factory=set)
    pressed: set[str] = field(default_factory=set)  # actions pressed somewhere: each is pressed once
    leads: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (screen, action) -> screens it drew
    actions: dict[str, set[str]] = field(default_factory=dict)  # screen -> the actions on it

    def open(self, key: str) -> bool:
        """A screen met before whose buttons were not all pressed."""
        return any(action not in self.pressed for action in self.actions.get(key, ()))


def shape(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def action(data: str) -> str:
    """What a press does, whatever its label: the kind and its choices, without the ids ("menu:ask", "t:*:#")."""
    parts = data.split(":")
    return ":".join([parts[0]] + ["#" if part.isdigit() else part if re.fullmatch(r"[a-z]{1,8}", part) else "*"
                                  for part in parts[1:]])


def buttons_of(bot: RunningBot, chat_id: int, message_id: int) -> list[list[str]]:
    """Each button's action, read from the sandbox ("url" for a link)."""
    markup = bot.runtime.sandbox.chats[chat_id].messages[message_id].get("reply_markup") or {}
    return [[action(button["callback_data"]) if "callback_data" in button else "url" for button in row]
            for row in markup.get("inline_keyboard", [])]


def kinds(bot: RunningBot, chat_id: int, message_id: int) -> list[list[str]]:
    return [[a.split(":", 1)[0] for a in row] for row in buttons_of(bot, chat_id, message_id)]


def signature(bot: RunningBot, chat_id: int, message: dict) -> str:
    """Screens with the same kinds of button are the same screen (every topic card is one screen)."""
    media = "photo" if message["photo"] else "document" if message["document"] else ""
    return media + "|".join(",".join(row) for row in kinds(bot, chat_id, message["message_id"]))


async def snapshot(client, chat_id: int) -> dict[int, dict]:
    return {m["message_id"]: m for m in await client.messages(chat_id)}


async def settle(client, chat_id: int, before: dict[int, dict]) -> dict[int, dict]:
    """The chat once the bot has stopped drawing (its replies may follow the answer to the press)."""
    deadline = time.monotonic() + 5
    last = await snapshot(client, chat_id)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.08)
        now = await snapshot(client, chat_id)
        if now == last and now != before:
            return now
        last = now
    return last


def drawn(before: dict[int, dict], after: dict[int, dict]) -> list[dict]:
    """Messages a press produced: new ones and edited ones, newest last."""
    return [m for mid, m in sorted(after.items()) if before.get(mid) != m]


def note_screen(bot: RunningBot, chat_id: int, crawl: Crawl, message: dict) -> bool:
    """Record a screen; False if this kind of screen was seen before."""
    text = message.get("text") or message.get("caption") or ""
    if not message["buttons"] and not message["photo"] and not message["document"] and not PROMPT.search(text):
        crawl.dead_ends.add(shape(text[:60]))
    key = signature(bot, chat_id, message) or shape(text[:30])
    crawl.actions.setdefault(key, set()).update(a for row in buttons_of(bot, chat_id, message["message_id"])
                                                for a in row if a != "url")
    if key in crawl.screens:
        return False
    crawl.screens.add(key)
    return True


def unpressed(bot: RunningBot, chat_id: int, crawl: Crawl, message: dict) -> bool:
    return any(action not in crawl.pressed for row in buttons_of(bot, chat_id, message["message_id"])
               for action in row if action != "url")


async def press(bot: RunningBot, user_id: int, crawl: Crawl, screen: dict, action: str) -> list[dict]:
    """Press the button with this action on the screen; the screens it drew (new messages and redrawn ones)."""
    current = await snapshot(bot.client, user_id)
    key = signature(bot, user_id, screen)
    place = next(((r, c) for r, actions in enumerate(buttons_of(bot, user_id, screen["message_id"]))
                  for c, a in enumerate(actions) if a == action), None)
    if place is None:
        return []  # the screen has been redrawn without it meanwhile (a timer's edit, say)
    row, column = place
    crawl.pressed.add(action)
    newest = screen["message_id"] == max(current)
    response = await bot.client.http.post("/sandbox/press", json={
        "user_id": user_id, "message_id": screen["message_id"], "row": row, "column": column, "wait": 10})
    crawl.presses += 1
    answer = (response.json().get("answer") or {}).get("text") if response.status_code == 200 else None
    if answer == STALE_BUTTON and newest:
        crawl.stale.append(f"{action} on {key}")
    after = await settle(bot.client, user_id, current)
    screens = drawn(current, after)
    crawl.leads.setdefault((key, action), set()).update(signature(bot, user_id, m) for m in screens)
    return screens


async def walk(bot: RunningBot, user_id: int, crawl: Crawl, stack: list[dict]) -> None:
    """Depth first: what a press draws is explored next, while it is fresh."""
    while stack and crawl.presses < PRESS_BUDGET:
        screen = (await snapshot(bot.client, user_id)).get(stack.pop()["message_id"])  # a press may redraw it
        if screen is None or not unpressed(bot, user_id, crawl, screen):
            continue
        action = next(a for row in buttons_of(bot, user_id, screen["message_id"]) for a in row
                      if a != "url" and a not in crawl.pressed)
        drawn_now = await press(bot, user_id, crawl, screen, action)
        stack.append(screen)  # its other buttons, after what this press drew
        stack.extend(m for m in drawn_now
                     if note_screen(bot, user_id, crawl, m) or unpressed(bot, user_id, crawl, m))


def route(crawl: Crawl, start: str) -> list[tuple[str, str, str]] | None:
    """The shortest known way from `start` to a screen with buttons not yet pressed: (screen, action, next screen)."""
    paths: dict[str, list[tuple[str, str, str]]] = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for key in frontier:
            if crawl.open(key):
                return paths[key]
            for (source, action), targets in crawl.leads.items():
                for target in targets if source == key else ():
                    if target not in paths:
                        paths[target] = paths[key] + [(key, action, target)]
                        following.append(target)
        frontier = following
    return None


async def crawl_role(bot: RunningBot, user_id: int) -> Crawl:
    """Depth first from /start; then, while some screen met before still has buttons nobody pressed (我的 redrawn as
    the 市县 picker before its other buttons were tried), go back to it along the presses that led there."""
    client = bot.client
    crawl = Crawl()
    for _ in range(PASSES):
        before = await snapshot(client, user_id)
        await client.send(user_id, "/start")
        screens = drawn(before, await settle(client, user_id, before))
        for message in screens:
            note_screen(bot, user_id, crawl, message)
        screen = screens[-1]
        path = route(crawl, signature(bot, user_id, screen))
        if path is None or crawl.presses >= PRESS_BUDGET:
            break
        for _, action, target in path:  # the way back there, as a person would tap it
            drawn_now = await press(bot, user_id, crawl, screen, action)
            # the screen may look a little different by now (a list grew or emptied): take what the press drew
            screen = next((m for m in reversed(drawn_now) if signature(bot, user_id, m) == target),
                          drawn_now[-1] if drawn_now else None)
            if screen is None:
                break
        if screen is not None:
            await walk(bot, user_id, crawl, [screen])
    return crawl


async def world(bot: RunningBot) -> None:
    """Something on every screen: a team, a contest running now, an announcement, a report request."""
    services = bot.runtime.services
    storage = bot.storage
    team = services.accounts.create_team(TeamSpec("海棠湾项目部", "三亚", "海建集团", 10))
    now = services.contests.clock()
    services.contests.create(ContestSpec(title="质量月知识竞赛", starts_at=now - timedelta(minutes=1),
                                         ends_at=now + timedelta(hours=2), questions=2, seconds_per_question=10,
                                         min_team_size=1), None, organiser_id=ROLE_USERS["organiser"])
    services.contests.create(ContestSpec(title="现场知识竞赛", starts_at=now - timedelta(minutes=1),  # the host panel
                                         ends_at=now + timedelta(hours=2), questions=2, seconds_per_question=10,
                                         min_team_size=1, mode="live"), None, organiser_id=ROLE_USERS["organiser"])
    for role, user_id in ROLE_USERS.items():
        bot.runtime.sandbox.add_user(user_id, f"{role}用户", started=True)
        services.accounts.touch(user_id, f"{role}用户", None)
        services.accounts.set_region(user_id, "三亚市")
        services.accounts.set_role(user_id, "manager" if role != "worker" else "worker")
        services.accounts.join_team(user_id, team["code"])
    storage.grant_role(ROLE_USERS["organiser"], "organiser", "三亚市", ADMIN_ID)
    storage.grant_role(ROLE_USERS["bureau"], "bureau", "三亚市", ADMIN_ID)
    storage.grant_role(ROLE_USERS["province bureau"], "bureau", "全省", ADMIN_ID)
    services.announcements.create(ROLE_USERS["bureau"], Draft("三亚市质量月活动通知", None, ["三亚市"]))
    services.announcements.create(ROLE_USERS["bureau"], Draft("三亚市停水检修通知", None, ["三亚市"]),
                                  now + timedelta(days=1))  # 待发送公告: retime, reword, cancel
    services.reports.create(ROLE_USERS["province bureau"], "质量月活动总结", "总结和照片", now + timedelta(days=5),
                            ["三亚市", "海口市"])


async def crawl_as(tmp_path, knowledge_service, role: str) -> tuple[Crawl, list[BaseException]]:
    errors: list[BaseException] = []

    def record(application) -> None:
        async def on_error(update, context):
            errors.append(context.error)
        application.add_error_handler(on_error)

    config = replace(make_config(tmp_path / role.replace(" ", "_")), rate_limit=False)  # navigation is judged here
    bot = await RunningBot(config, knowledge_service, customise=record).start()
    try:
        await bot.client.http.post("/sandbox/limits", json={"enabled": False})  # the bot does not pace itself here
        await world(bot)
        return await crawl_role(bot, ROLE_USERS[role]), errors
    finally:
        await bot.stop()


async def test_every_reachable_button_works_for_every_role(tmp_path, knowledge_service):
    """The five roles crawl at once, each with its own bot and database (their waits overlap)."""
    results = await asyncio.gather(*(crawl_as(tmp_path, knowledge_service, role) for role in ROLE_USERS))
    ARTIFACTS.mkdir(exist_ok=True)
    reports = []
    with open(ARTIFACTS / "crawler.txt", "w", encoding="utf-8") as out:
        for role, (crawl, errors) in zip(ROLE_USERS, results):
            report = (f"{role}: {crawl.presses} presses, {len(crawl.screens)} kinds of screen, "
                      f"{len(crawl.pressed)} kinds of button, "
                      f"{len(crawl.stale)} stale, {len(crawl.dead_ends)} dead ends, {len(errors)} errors")
            print(report)
            reports.append(report)
            out.write(report + "\n" + "".join(f"  dead end: {d}\n" for d in sorted(crawl.dead_ends))
                      + "  pressed: " + " ".join(sorted(crawl.pressed)) + "\n")
    for role, (crawl, errors) in zip(ROLE_USERS, results):
        assert crawl.presses >= 40 and len(crawl.screens) >= 20, reports
        assert crawl.stale == [], (role, crawl.stale)
        assert errors == [], (role, errors)
        assert crawl.dead_ends == set(), (role, sorted(crawl.dead_ends))
    privileged = {"worker": set(), "organiser": {"org", "om:#", "on"}, "bureau": {"nn", "rq", "rb:#"},
                  "province bureau": {"nn", "rn", "rs:#"}, "admin": {"tl", "rm", "ri:bureau", "re:bureau:#"}}
    for role, (crawl, _) in zip(ROLE_USERS, results):
        reached = crawl.pressed
        assert privileged[role] <= reached, (role, privileged[role] - reached)
