"""Bureaus through the sandbox: invites, announcements to many users with faults, unsubscribe, roles enforced."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import ADMIN_ID, RunningBot, eventually, has_button, make_config

OFFICER = 700
RECIPIENTS = range(10_000, 11_500)
BLOCKED = {10_003, 10_500, 11_234}


@pytest.fixture
async def fast_bot(tmp_path, knowledge_service):
    running = await RunningBot(make_config(tmp_path, broadcast_rate=400), knowledge_service).start()
    yield running
    await running.stop()


def populate(bot, user_ids, region="三亚市") -> None:
    sandbox = bot.runtime.sandbox
    storage = bot.storage
    with storage.db.atomic():
        for user_id in user_ids:
            sandbox.add_user(user_id, f"工人{user_id}", started=True)
            storage.db.execute("INSERT INTO users (id, first_name, region, role, active, created_at, updated_at) "
                               "VALUES (?, ?, ?, 'worker', 1, 't', 't')", [user_id, f"工人{user_id}", region])


async def invite(bot, role: str, scope: str, days: int = 7) -> str:
    return bot.runtime.services.roles.create_invite(ADMIN_ID, role, scope, days)


async def test_invites_expired_reused_and_bound_to_their_scope(fast_bot):
    bot = fast_bot
    client = bot.client
    roles = bot.runtime.services.roles
    for user_id, region in ((701, "三亚"), (702, "海口"), (703, "三亚")):
        await client.user(user_id, f"官员{user_id}")
        await client.send(user_id, "/start")
        await client.wait_for(user_id, has_button(region))
        await client.press(user_id, region)
    code = await invite(bot, "bureau", "三亚市")
    await client.send(701, f"/start inv_{code}")
    await client.wait_text(701, "已获得权限：三亚市 住建局")
    await client.send(703, f"/start inv_{code}")
    await client.wait_text(703, "已经被使用过")
    # the invite binds the scope: a person registered in 海口 who redeems a 三亚 invite holds the role for 三亚 (no
    # check on the registered 市县, which anyone can change in 我的)
    other = await invite(bot, "bureau", "三亚市")
    await client.send(702, f"/start inv_{other}")
    await client.wait_text(702, "已获得权限：三亚市 住建局")
    assert roles.scope(702, "bureau") == "三亚市" and bot.storage.get_user(702)["region"] == "海口市"
    expired = await invite(bot, "organiser", "海口市", days=1)
    bot.storage.db.execute("UPDATE invites SET expires_at = '2000-01-01T00:00:00+00:00' WHERE code = ?", [expired])
    bot.storage.db.conn.commit()
    await client.send(702, f"/start inv_{expired}")
    await client.wait_text(702, "已过期")
    await client.send(702, "/start inv_forgedcode123")
    await client.wait_text(702, "邀请链接无效")
    assert roles.is_bureau(701) and not roles.is_organiser(702) and not roles.is_bureau(703)
    actions = [entry["action"] for entry in bot.storage.audit_entries()]
    assert actions.count("invite.create") == 3 and actions.count("role.grant") == 2


async def test_broadcast_to_many_with_faults_exactly_once(fast_bot):
    bot = fast_bot
    client = bot.client
    populate(bot, RECIPIENTS)
    for user_id in BLOCKED:
        bot.runtime.sandbox.set_blocked(user_id, True)  # blocked before: Telegram answers 403
    await client.user(OFFICER, "三亚住建局", started=True)
    bot.storage.upsert_user(OFFICER, "三亚住建局", None)
    bot.storage.update_user(OFFICER, region="三亚市", role="manager")
    bot.storage.grant_role(OFFICER, "bureau", "三亚市", ADMIN_ID)

    await client.send(OFFICER, "/announce")
    await client.wait_text(OFFICER, "请发送公告内容")
    await client.send(OFFICER, "<b>紧急通知</b>：台风“摩羯”将于明天登陆，各工地今晚 18:00 前完成塔吊、脚手架加固。")
    await client.wait_for(OFFICER, has_button("全部人员"))
    await client.press(OFFICER, "全部人员")
    preview = await client.wait_text(OFFICER, "公告预览")
    assert "接收人数：1,501 人" in preview["text"]  # the officer is a 三亚市 user too
    assert "<b>紧急通知</b>" in preview["text"], "the author's text is shown literally"

    await client.fault(method="sendMessage", error="retry_after", times=3, retry_after=1, chat_id=10_010)
    for chat_id in (10_020, 10_021, 10_022, 10_023, 10_024):
        await client.fault(method="sendMessage", error="server_error", times=2, chat_id=chat_id)
    await client.fault(method="sendMessage", error="timeout", times=1, delay=1, chat_id=10_030)
    await client.fault(method="sendMessage", error="forbidden", times=1, chat_id=10_777)
    await client.press(OFFICER, "立即发送")

    # while the broadcast runs, a worker's question is still answered promptly
    await client.user(99, "提问者")
    started = time.monotonic()
    await client.send(99, "卫生间漏水怎么办")
    await client.wait_text(99, "卫生间")
    assert time.monotonic() - started < 3.0

    done = await client.wait_text(OFFICER, "公告发送完毕", timeout=120)  # ~24 a second
    counts = {}
    for user_id in RECIPIENTS:
        messages = bot.runtime.sandbox.chats[user_id].messages.values()
        counts[user_id] = sum(1 for m in messages if "台风" in (m.get("text") or ""))
    assert {u for u, n in counts.items() if n > 1} == set(), "nobody gets it twice"
    assert {u for u, n in counts.items() if n == 0} == BLOCKED | {10_777}
    summary = bot.runtime.services.announcements.summary(bot.storage.announcements_with_status("done")[0]["id"])
    assert (summary.sent, summary.blocked, summary.failed, summary.ambiguous) == (1497, 4, 0, 0)
    assert "送达：1,497" in done["text"] and "已屏蔽机器人：4" in done["text"]
    assert all(bot.storage.get_user(u)["active"] == 0 for u in BLOCKED | {10_777})
    sample = next(m for m in bot.runtime.sandbox.chats[10_001].messages.values() if "台风" in (m.get("text") or ""))
    assert "&lt;b&gt;紧急通知&lt;/b&gt;" in sample["_html"]
    # counted where Telegram counts, at the Bot API: never over 30 a second, so never a 429 that was not scripted
    limits = (await client.http.get("/sandbox/limits")).json()
    print("sandbox limits after the broadcast:", limits["peak_per_second"], limits["refused"])
    assert limits["settings"]["enabled"] and limits["peak_per_second"] <= 30
    assert sum(limits["refused"].values()) == 0


async def test_unsubscribe_block_and_notice_list(fast_bot):
    bot = fast_bot
    client = bot.client
    populate(bot, [20_001, 20_002])
    bot.storage.upsert_user(OFFICER, "三亚住建局", None)
    bot.storage.update_user(OFFICER, region="三亚市", role="manager")
    bot.storage.grant_role(OFFICER, "bureau", "三亚市", ADMIN_ID)
    await client.user(OFFICER, "三亚住建局", started=True)
    announcements = bot.runtime.services.announcements
    from bot.announcements import Draft

    first = announcements.create(OFFICER, Draft("第一条公告", None, ["三亚市"]))
    await bot.runtime.application.bot_data.broadcasting.launch(first["id"])
    await client.wait_text(20_001, "第一条公告")
    await client.press(20_001, "退订公告")
    await client.wait_for(20_001, has_button("确定退订公告"))
    assert bot.storage.get_user(20_001)["notify_announcements"] == 1, "one tap asks, and changes nothing yet"
    await client.press(20_001, "确定退订公告")
    assert bot.storage.get_user(20_001)["notify_announcements"] == 0
    await client.http.post("/sandbox/block", json={"user_id": 20_002})
    # my_chat_member(kicked) marks the user inactive at once
    await eventually(lambda: bot.storage.get_user(20_002)["active"] == 0, what="the blocked user marked inactive")
    second = announcements.create(OFFICER, Draft("第二条公告", None, ["三亚市"]))
    await bot.runtime.application.bot_data.broadcasting.launch(second["id"])
    await client.wait_for(OFFICER, lambda m: "第二条公告" in (m.get("text") or ""))
    assert not any("第二条公告" in (m.get("text") or "") for m in await client.messages(20_001))
    await client.send(20_001, "/notices")
    listing = await client.wait_text(20_001, "三亚市公告")
    assert any("第二条公告" in label for row in listing["buttons"] for label in row)
    await client.press(20_001, "订阅设置")
    await client.wait_for(20_001, has_button("公告 ⬜ 关"))
    await client.press(20_001, "公告 ⬜ 关")
    await client.wait_for(20_001, has_button("公告 ✅ 开"))
    assert bot.storage.get_user(20_001)["notify_announcements"] == 1


async def test_scheduled_announcement_is_sent_when_due(fast_bot):
    bot = fast_bot
    client = bot.client
    populate(bot, [30_001])
    bot.storage.grant_role(OFFICER, "bureau", "三亚市", ADMIN_ID)
    bot.storage.upsert_user(OFFICER, "三亚住建局", None)
    from bot.announcements import Draft

    soon = datetime.now(timezone.utc) + timedelta(seconds=2)
    announcement = bot.runtime.services.announcements.create(OFFICER, Draft("定时公告", None, ["三亚市"]), soon)
    assert announcement["status"] == "scheduled"
    await client.wait_text(30_001, "定时公告", timeout=45)


@pytest.mark.parametrize("command", ["/announce", "/roles", "/newteam", "/newcontest", "/contests", "/reload", "/reports",
                                     ])
async def test_every_privileged_command_refuses_ordinary_users(fast_bot, command):
    client = fast_bot.client
    await client.user(800, "普通用户")
    await client.send(800, command)
    reply = await client.wait_for(800, lambda m: "只有" in (m.get("text") or ""))
    assert reply


async def test_forged_privileged_buttons_are_refused(fast_bot):
    bot = fast_bot
    client = bot.client
    await client.user(800, "普通用户")
    from bot.announcements import Draft
    from bot.contests import ContestSpec

    populate(bot, [31_000])
    services = bot.runtime.services
    announcement = services.announcements.create(ADMIN_ID, Draft("管理员公告", None, ["三亚市"]),
                                                 datetime.now(timezone.utc) + timedelta(days=1))
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=2), None, organiser_id=ADMIN_ID)
    assert (announcement["id"], contest["id"]) == (1, 1)
    sandbox = bot.runtime.sandbox
    chat = sandbox.chat(800)
    buttons = [("rc:bureau:1:7", "伪造邀请"), ("rV:700:bureau", "伪造撤销"), ("nx:1", "伪造取消"), ("oK:1", "伪造结束"),
               ("ox:1:x", "伪造导出"), ("admin:newteam", "伪造建队")]
    sandbox.store_message(chat, {"message_id": chat.next_message_id, "date": 0, "chat": chat.as_json(sandbox.users),
                                 "from": {"id": 123456, "is_bot": True, "first_name": "质量通"}, "text": "x",
                                 "reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": data}]
                                                                      for data, label in buttons]}})
    for _, label in buttons:
        response = (await client.press(800, label)).json()
        text = (response["answer"] or {}).get("text") or ""
        reply = [m["text"] for m in await client.messages(800)][-1]
        assert "只有" in text or "失效" in text or "只有" in reply, (label, text, reply)
    assert bot.storage.db.execute("SELECT COUNT(*) FROM invites").fetchone()[0] == 0
    assert bot.storage.list_teams() == []
    assert bot.storage.announcement(1)["status"] == "scheduled" and bot.storage.contest(1)["closed_at"] is None
