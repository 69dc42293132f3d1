"""The real Application against the sandbox: onboarding, menu, teams, restart, errors and faults."""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import CommandHandler

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from tests.helpers import ADMIN_ID, RunningBot, has_button, make_config

USER = 1001


async def register(client, user_id: int = USER, region: str = "三亚", role: str = "一线工人") -> None:
    await client.send(user_id, "/start")
    welcome = await client.wait_for(user_id, has_button(region))
    assert "第 1 步/共 3 步" in welcome["text"]
    assert (await client.press(user_id, region)).json()["answer"]["text"] == "已保存"
    asked = await client.wait_for(user_id, has_button(role))
    assert "第 2 步/共 3 步" in asked["text"]
    assert (await client.press(user_id, role)).status_code == 200


async def test_start_registers_and_shows_menu(bot):
    client = bot.client
    await client.user(USER, "张工", "zhang")
    await register(client)
    prompt = await client.wait_for(USER, has_button("暂不加入"))
    assert "团队码" in prompt["text"] and "第 3 步/共 3 步" in prompt["text"]
    steps = [m["text"] for m in await client.messages(USER)]
    assert not any("登记完成" in text or "最后一步" in text for text in steps), "done is said once, at the end"
    await client.press(USER, "暂不加入")
    menu = await client.wait_for(USER, lambda m: has_button("答题竞赛")(m) and "登记完成" in m["text"])
    assert [label for row in menu["buttons"] for label in row] == ["问答", "答题竞赛", "每日练习", "公告", "我的"]
    assert "三亚市" in menu["text"]
    user = bot.storage.get_user(USER)
    assert (user["region"], user["role"], user["registered_at"] is not None) == ("三亚市", "worker", True)
    commands = (await client.state())["commands"]
    assert {c["command"] for c in commands} >= {"start", "me", "topics", "help"}


async def test_menu_buttons_answer(bot):
    client = bot.client
    await client.user(USER, "张工")
    await register(client)
    await client.press(USER, "暂不加入")
    await client.wait_for(USER, has_button("我的"))
    await client.press(USER, "我的")
    profile = await client.wait_text(USER, "我的信息")
    assert "三亚市" in profile["text"] and "一线工人/班组长" in profile["text"]
    await client.press(USER, "返回主菜单")
    await client.wait_for(USER, has_button("每日练习"))
    after = await client.last_id(USER)
    await client.press(USER, "问答")
    browse = await client.wait_text(USER, "按分类浏览")
    assert any("防水与渗漏" in label for row in browse["buttons"] for label in row)
    await client.send(USER, "/start")
    await client.wait_for(USER, has_button("公告"), after=after)
    await client.press(USER, "公告")
    notices = await client.wait_text(USER, "三亚市公告", after=after)
    assert any("订阅设置" in label for row in notices["buttons"] for label in row)


async def test_team_deep_link_and_restart_keeps_registration(tmp_path, knowledge_service):
    running = await RunningBot(make_config(tmp_path), knowledge_service).start()
    try:
        team = running.runtime.services.accounts.create_team(TeamSpec("海棠湾项目部", "三亚", "海建集团", 40))
        client = running.client
        await client.user(USER, "李班长")
        await client.send(USER, f"/start team_{team['code']}")
        joined = await client.wait_text(USER, "已加入团队")
        assert "海棠湾项目部" in joined["text"]
        # the team's 市县 is taken over, so only the role is asked
        await client.wait_for(USER, has_button("班组长"))
        await client.press(USER, "班组长")
        await client.wait_text(USER, "登记完成")
        await running.restart()
        client = running.client
        after = await client.last_id(USER)
        await client.send(USER, "/me")
        profile = await client.wait_text(USER, "我的信息", after=after)
        assert "海棠湾项目部" in profile["text"] and "三亚市" in profile["text"]
    finally:
        await running.stop()


async def test_team_code_typed_and_wrong_code(bot):
    client = bot.client
    team = bot.runtime.services.accounts.create_team(TeamSpec("滨海一标", "海口"))
    await client.user(USER, "王工")
    await register(client, region="海口")
    await client.wait_for(USER, has_button("输入团队码"))
    await client.press(USER, "输入团队码")
    await client.wait_text(USER, "请发送团队码")
    await client.send(USER, "ZZZZZZ")
    await client.wait_text(USER, "没有找到这个团队码")
    await client.send(USER, team["code"].lower())
    await client.wait_text(USER, "已加入团队")
    done = await client.wait_text(USER, "登记完成")
    assert "滨海一标" in done["text"] and has_button("答题竞赛")(done)
    assert bot.storage.get_user(USER)["team_id"] == team["id"]
    # from 我的, joining another team is no registration step
    other = bot.runtime.services.accounts.create_team(TeamSpec("滨海二标", "海口"))
    await client.send(USER, "/me")
    await client.wait_for(USER, has_button("加入/更换团队"))
    await client.press(USER, "加入/更换团队")
    await client.wait_text(USER, "请发送团队码")
    after = await client.last_id(USER)
    await client.send(USER, other["code"])
    await client.wait_text(USER, "已加入团队", after=after)
    await client.wait_for(USER, has_button("我的"), after=after)
    assert not any("登记完成" in m["text"] for m in await client.messages(USER, after))


async def test_admin_creates_team_in_chat(bot):
    client = bot.client
    await client.user(ADMIN_ID, "省厅管理员")
    await client.send(ADMIN_ID, "/newteam")
    await client.wait_text(ADMIN_ID, "团队（项目部）名称")
    await client.send(ADMIN_ID, "<b>椰城</b>项目部")
    await client.wait_for(ADMIN_ID, has_button("文昌"))
    await client.press(ADMIN_ID, "文昌")
    await client.wait_text(ADMIN_ID, "施工单位")
    await client.send(ADMIN_ID, "海南某建工")
    await client.wait_text(ADMIN_ID, "申报人数")
    await client.send(ADMIN_ID, "35")
    preview = await client.wait_text(ADMIN_ID, "请确认新建团队")
    assert "<b>椰城</b>项目部" in preview["text"], "names are shown as text, not markup"
    await client.press(ADMIN_ID, "确认创建")
    created = await client.wait_text(ADMIN_ID, "团队已创建")
    team = bot.storage.team_by_name("文昌市", "<b>椰城</b>项目部")
    assert team["headcount"] == 35 and team["code"] in created["text"]
    assert f"start=team_{team['code']}" in created["text"]


async def test_non_admin_cannot_create_team(bot):
    client = bot.client
    await client.user(USER, "张工")
    await client.send(USER, "/newteam")
    await client.wait_text(USER, "只有管理员")
    assert bot.storage.list_teams() == []


async def test_forged_and_stale_buttons_change_nothing(bot):
    client = bot.client
    await client.user(USER, "张工")
    await register(client)
    await client.wait_for(USER, has_button("暂不加入"))
    # an old registration message is still in the chat: pressing its region button again is harmless
    sandbox = bot.runtime.sandbox
    chat = sandbox.chats[USER]
    old = min(i for i, m in chat.messages.items() if "reply_markup" in m)
    forged = {**chat.messages[old], "reply_markup": {"inline_keyboard": [[
        {"text": "伪造", "callback_data": "reg:region:999"}, {"text": "乱码", "callback_data": "zz:%%:<script>"},
        {"text": "越权", "callback_data": "fb:1:1"}]]}}
    sandbox.store_message(chat, forged)
    for label in ("伪造", "乱码", "越权"):
        answer = (await client.press(USER, label, message_id=old)).json()["answer"]
        assert answer["text"] == "该按钮已失效", label
    assert bot.storage.get_user(USER)["region"] == "三亚市"


async def test_non_text_messages_get_a_hint(bot):
    client = bot.client
    await client.user(USER, "张工")
    for kind in ("sticker", "photo", "voice"):
        after = await client.last_id(USER)
        await client.send(USER, kind=kind)
        await client.wait_text(USER, "只能看懂文字", after=after)


async def test_handler_error_apologises_and_bot_keeps_serving(tmp_path, knowledge_service):
    async def boom(update, context):
        raise RuntimeError("internal detail that must not leak")

    running = await RunningBot(make_config(tmp_path), knowledge_service,
                               customise=lambda app: app.add_handler(CommandHandler("boom", boom), group=-1)).start()
    try:
        client = running.client
        await client.user(USER, "张工")
        await client.send(USER, "/boom")
        apology = await client.wait_text(USER, "出了点问题")
        assert "internal detail" not in apology["text"] and "RuntimeError" not in apology["text"]
        after = await client.last_id(USER)
        await client.send(USER, "/help")
        await client.wait_text(USER, "使用说明", after=after)
    finally:
        await running.stop()


async def test_bot_recovers_from_injected_faults(bot):
    client = bot.client
    await client.user(USER, "张工")
    await client.fault(method="getUpdates", error="server_error", times=2)
    await client.fault(method="sendMessage", error="retry_after", times=2, chat_id=USER, retry_after=1)
    await client.send(USER, "/help")
    await client.wait_text(USER, "使用说明", timeout=20)
    await client.fault(method="sendMessage", error="server_error", times=1, chat_id=USER)
    await client.send(USER, "/help")  # this reply is lost to the 500 ...
    after = await client.last_id(USER)
    await client.send(USER, "/me")    # ... but the bot keeps serving the next update
    await client.wait_for(USER, lambda m: m["buttons"], after=after, timeout=20)
    assert (await client.state())["faults"] == 0


async def test_html_in_names_is_escaped(bot):
    client = bot.client
    await client.user(USER, "<script>alert(1)</script>")
    await client.send(USER, "/start")
    welcome = await client.wait_text(USER, "欢迎使用")
    assert "<script>alert(1)</script>" in welcome["text"]
    assert "&lt;script&gt;" in welcome["html"]


async def test_asker_who_never_registered_is_asked_to_register_before_contests(bot):
    services = bot.runtime.services
    now = services.contests.clock()
    services.contests.create(ContestSpec(title="质量月知识竞赛", starts_at=now - timedelta(minutes=1),
                                         ends_at=now + timedelta(hours=1), questions=3), None, organiser_id=ADMIN_ID)
    client = bot.client
    await client.user(USER, "陈工")
    await client.send(USER, "卫生间漏水漏到楼下咋办")
    await client.wait_for(USER, has_button("处理方法"))
    for ask in ("/contest", "答题竞赛"):
        after = await client.last_id(USER)
        if ask.startswith("/"):
            await client.send(USER, ask)
        else:
            await client.send(USER, "您好")  # a greeting is answered with the main menu
            await client.wait_for(USER, has_button(ask), after=after)
            await client.press(USER, ask)
        prompt = await client.wait_text(USER, "请先完成登记", after=after)
        assert has_button("开始登记")(prompt) and not has_button("质量月知识竞赛")(prompt)
    await client.press(USER, "开始登记", message_id=prompt["message_id"])
    welcome = await client.wait_for(USER, lambda m: m["edited"] and has_button("三亚")(m), after=after)
    assert "第 1 步/共 3 步" in welcome["text"]
    await client.press(USER, "三亚", message_id=welcome["message_id"])
    await client.wait_for(USER, has_button("一线工人"), after=after)
    await client.press(USER, "一线工人")
    await client.wait_for(USER, has_button("暂不加入"), after=after)
    after = await client.last_id(USER)
    await client.send(USER, "/contest")
    listing = await client.wait_for(USER, has_button("质量月知识竞赛"), after=after)
    assert "进行中的竞赛" in listing["text"]


async def test_me_shows_practice_streak_contests_and_ways_on(bot):
    services = bot.runtime.services
    client = bot.client
    await client.user(USER, "张工")
    await register(client)
    await client.press(USER, "暂不加入")
    await client.wait_text(USER, "登记完成")
    after = await client.last_id(USER)
    await client.send(USER, "/me")
    empty = await client.wait_text(USER, "我的信息", after=after)
    assert "还没有做过练习" in empty["text"] and "还没有参加过竞赛" in empty["text"]
    assert has_button("返回主菜单")(empty) and not has_button("错题本")(empty)

    practice = services.practice
    item = practice.start(USER)
    for position in range(4):  # three right, one wrong
        right = item.right_display if position else [i for i in range(len(item.options))
                                                     if i not in item.right_display][:1]
        item = practice.answer(item.session_id, USER, position, right).following
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="质量月知识竞赛", starts_at=now - timedelta(minutes=1),
                                                   ends_at=now + timedelta(hours=1), questions=2), None,
                                       organiser_id=ADMIN_ID)
    attempt = services.contests.start(contest["id"], services.accounts.get(USER))
    for position in range(2):
        shown, _ = services.contests.ask(attempt["id"], position)
        services.contests.answer(attempt["id"], USER, position, shown.right_display)

    after = await client.last_id(USER)
    await client.send(USER, "/start")
    await client.wait_for(USER, has_button("我的"), after=after)
    await client.press(USER, "我的")
    profile = await client.wait_for(USER, lambda m: m["edited"] and "我的信息" in m["text"], after=after)
    for fragment in ("市县：三亚市", "身份：一线工人/班组长", "团队：未加入", "已答 4 题，答对 3 题，正确率 75%",
                     "连续练习：1 天（今天已练习）", "错题本：1 题待复习", "质量月知识竞赛：第 1 名/共 1 人，得分 20"):
        assert fragment in profile["text"], fragment
    for label in ("错题本", "答题竞赛", "返回主菜单", "📋 质量月知识竞赛", "🏆 排行榜"):
        assert has_button(label)(profile), label
    await client.press(USER, "🏆 排行榜", message_id=profile["message_id"])
    board = await client.wait_text(USER, "质量月知识竞赛", after=profile["message_id"])
    assert "张工" in board["text"]
