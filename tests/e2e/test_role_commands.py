"""Each role's "/" menu and /help through the sandbox: granted by an invite, shrunk by a revocation, set again at
start; the organiser's 纠错反馈 screens; the end of /newteam leads on."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.commands import default_commands
from bot.contests import ContestSpec
from tests.helpers import ADMIN_ID, has_button

ORGANISER, WORKER = 801, 802
WORKER_MENU = [command.name for command in default_commands()]


async def menu_of(client, chat_id: int) -> list[str]:
    """The commands this chat's "/" menu shows, as the sandbox resolves Telegram's scopes."""
    response = await client.http.get("/sandbox/commands", params={"chat_id": chat_id})
    response.raise_for_status()
    return [command["command"] for command in response.json()["shown"]]


async def menu_becomes(client, chat_id: int, wanted, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        menu = await menu_of(client, chat_id)
        if wanted(menu) or time.monotonic() > deadline:
            return menu
        await asyncio.sleep(0.05)


async def invite_organiser(bot, user_id: int, name: str) -> None:
    client = bot.client
    await client.user(user_id, name)
    code = bot.runtime.services.roles.create_invite(ADMIN_ID, "organiser", "三亚市", 7)
    await client.send(user_id, f"/start inv_{code}")
    granted = await client.wait_text(user_id, "已获得权限")
    assert "/help" in granted["text"], "the new commands are pointed out"


async def test_an_invite_brings_the_organiser_menu_and_help_a_revocation_takes_them_back(bot):
    client = bot.client
    assert [c["command"] for c in (await client.state())["commands"]] == WORKER_MENU, "the default menu: workers'"
    await client.user(ADMIN_ID, "省厅管理员")
    await client.user(WORKER, "李工")
    await invite_organiser(bot, ORGANISER, "王组织")

    menu = await menu_becomes(client, ORGANISER, lambda m: "newcontest" in m)
    assert menu[:len(WORKER_MENU)] == WORKER_MENU and {"contests", "newcontest"} <= set(menu[len(WORKER_MENU):])
    assert not {"roles", "announce"} & set(menu)
    assert await menu_of(client, WORKER) == WORKER_MENU, "someone else's menu is untouched"

    after = await client.last_id(ORGANISER)
    await client.send(ORGANISER, "/help")
    help_text = (await client.wait_text(ORGANISER, "使用说明", after=after))["text"]
    assert "竞赛组织者" in help_text and "/newcontest" in help_text and "/contests" in help_text
    assert "/roles" not in help_text and "/announce" not in help_text
    await client.send(WORKER, "/help")
    worker_help = (await client.wait_text(WORKER, "使用说明"))["text"]
    assert "/practice" in worker_help and "/newcontest" not in worker_help and "竞赛组织者" not in worker_help

    await client.send(ADMIN_ID, "/roles")
    await client.wait_for(ADMIN_ID, has_button("角色列表"))
    await client.press(ADMIN_ID, "角色列表")
    await client.wait_for(ADMIN_ID, has_button("撤销 王组织"))
    await client.press(ADMIN_ID, "撤销 王组织")
    await client.wait_for(ADMIN_ID, has_button("确定撤销"))
    await client.press(ADMIN_ID, "确定撤销")
    await client.wait_text(ADMIN_ID, "已撤销")
    assert await menu_becomes(client, ORGANISER, lambda m: m == WORKER_MENU) == WORKER_MENU

    # at start: the administrator (whose chat the bot did not know at the first start) gets theirs
    await bot.restart()
    client = bot.client
    admin_menu = await menu_becomes(client, ADMIN_ID, lambda m: "roles" in m)
    assert {"roles", "teams", "newteam", "reload", "newcontest", "announce", "reports"} <= set(admin_menu)
    assert await menu_of(client, ORGANISER) == WORKER_MENU, "revoked, still the worker menu after a restart"


async def test_an_organiser_reads_a_flagged_question_and_resolves_it(bot):
    client = bot.client
    services = bot.runtime.services
    await invite_organiser(bot, ORGANISER, "王组织")
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="质量月纠错演练", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=3,
        seconds_per_question=30, regions=["三亚市"]), services.roles.actor(ORGANISER))
    first, second = sorted(services.knowledge.bank.questions)[:2]
    for user_id in (1, 2):
        bot.storage.add_flag(contest["id"], first, user_id)
    bot.storage.add_flag(contest["id"], second, 1)
    question = services.knowledge.bank.questions[first]

    await client.send(ORGANISER, "/contests")
    await client.wait_for(ORGANISER, has_button("质量月纠错演练"))
    await client.press(ORGANISER, "质量月纠错演练")
    manage = await client.wait_for(ORGANISER, has_button("纠错反馈"))
    assert "纠错反馈 3 条" in manage["text"]
    await client.press(ORGANISER, "纠错反馈")
    listing = await client.wait_for(ORGANISER, has_button("2 人 · "))
    await client.press(ORGANISER, "2 人 · ", message_id=listing["message_id"])
    detail = await client.wait_for(ORGANISER, has_button("标记已处理"))
    assert question.stem[:12] in detail["text"] and f"正确答案：{question.answer_letters}" in detail["text"]
    assert all(option[:8] in detail["text"] for option in question.options)
    assert has_button("返回")(detail) and has_button("主菜单")(detail)
    answer = (await client.press(ORGANISER, "标记已处理")).json()["answer"]
    assert answer["text"] == "已标记为已处理"
    remaining = await client.wait_for(ORGANISER, lambda m: "纠错反馈" in m["text"] and not has_button("2 人 · ")(m))
    assert has_button("1 人 · ")(remaining)
    assert [row["question_id"] for row in bot.storage.flags(contest["id"])] == [second]
    assert bot.storage.audit_entries(1)[0]["action"] == "flag.resolve"


async def test_a_worker_cannot_open_or_resolve_flags(bot):
    client = bot.client
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="质量月", starts_at=now, ends_at=now + timedelta(hours=1), questions=3, seconds_per_question=30),
        None, organiser_id=ADMIN_ID)
    first = sorted(services.knowledge.bank.questions)[0]
    bot.storage.add_flag(contest["id"], first, 1)
    await client.user(WORKER, "李工")
    await client.send(WORKER, "/start")
    await client.wait_text(WORKER, "欢迎")
    for data in (f"ofq:{contest['id']}:{first}", f"ofr:{contest['id']}:{first}"):
        injected = await client.http.post("/sandbox/inject", json={
            "chat_id": WORKER, "text": "伪造", "buttons": [[{"text": "伪造纠错", "callback_data": data}]]})
        answer = (await client.press(WORKER, "伪造纠错", message_id=injected.json()["message_id"])).json()["answer"]
        assert "组织者或管理员" in answer["text"]
    assert [row["question_id"] for row in bot.storage.flags(contest["id"])] == [first], "nothing resolved"


async def test_after_creating_a_team_the_admin_can_create_another_or_go_on(bot):
    client = bot.client
    await client.user(ADMIN_ID, "省厅管理员")
    await client.send(ADMIN_ID, "/newteam")
    await client.wait_text(ADMIN_ID, "团队（项目部）名称")
    await client.send(ADMIN_ID, "椰城项目部")
    await client.wait_for(ADMIN_ID, has_button("文昌"))
    await client.press(ADMIN_ID, "文昌")
    await client.wait_for(ADMIN_ID, has_button("跳过"))
    await client.press(ADMIN_ID, "跳过")
    await client.wait_text(ADMIN_ID, "申报人数")
    await client.press(ADMIN_ID, "跳过")
    await client.wait_for(ADMIN_ID, has_button("确认创建"))
    await client.press(ADMIN_ID, "确认创建")
    created = await client.wait_text(ADMIN_ID, "团队已创建")
    assert [label for row in created["buttons"] for label in row] == ["再建一个", "团队列表", "« 主菜单"]
    await client.press(ADMIN_ID, "再建一个", message_id=created["message_id"])
    await client.wait_text(ADMIN_ID, "团队（项目部）名称", after=created["message_id"])
    await client.send(ADMIN_ID, "/cancel")
    await client.wait_text(ADMIN_ID, "已取消", after=created["message_id"])


async def test_a_mistyped_command_gets_the_help_of_the_person_s_roles(bot):
    client = bot.client
    await client.user(ADMIN_ID, "省厅管理员")
    await client.user(WORKER, "李工")
    await invite_organiser(bot, ORGANISER, "王组织")
    for user_id, expected, absent in ((ORGANISER, "/newcontest", "/roles"), (WORKER, "/practice", "/newcontest")):
        after = await client.last_id(user_id)
        await client.send(user_id, "/newcontset")
        answer = (await client.wait_text(user_id, "没有这个命令", after=after))["text"]
        assert expected in answer and absent not in answer, (user_id, answer)
