"""待发送公告 through the sandbox: schedule, list, retime, cancel with a confirmation, forged and late presses refused;
the author's report when it has gone out, once even across a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.announcements import Draft
from tests.helpers import ADMIN_ID, RunningBot, has_button, make_config

OFFICER, OTHER_OFFICER = 700, 701
RECIPIENTS = range(40_001, 40_006)


@pytest.fixture
async def fast_bot(tmp_path, knowledge_service):
    running = await RunningBot(make_config(tmp_path, broadcast_rate=400), knowledge_service).start()
    yield running
    await running.stop()


async def setup(bot) -> None:
    sandbox, storage = bot.runtime.sandbox, bot.storage
    with storage.db.atomic():
        for user_id in RECIPIENTS:
            sandbox.add_user(user_id, f"工人{user_id}", started=True)
            storage.db.execute("INSERT INTO users (id, first_name, region, role, active, created_at, updated_at) "
                               "VALUES (?, ?, '三亚市', 'worker', 1, 't', 't')", [user_id, f"工人{user_id}"])
    for user_id, name in ((OFFICER, "三亚住建局"), (OTHER_OFFICER, "三亚住建局二")):
        await bot.client.user(user_id, name, started=True)
        storage.upsert_user(user_id, name, None)
        storage.grant_role(user_id, "bureau", "三亚市", ADMIN_ID)


async def schedule_through_the_menu(client, text: str, when: str) -> dict:
    await client.send(OFFICER, "/announce")
    await client.wait_for(OFFICER, has_button("待发送公告"))
    await client.send(OFFICER, text)
    await client.wait_for(OFFICER, has_button("全部人员"))
    await client.press(OFFICER, "全部人员")
    await client.wait_for(OFFICER, has_button("定时发送"))
    await client.press(OFFICER, "定时发送")
    await client.wait_text(OFFICER, "请发送发送时间")
    await client.send(OFFICER, when)
    return await client.wait_text(OFFICER, "已安排在")


def local(stored: str) -> str:
    return datetime.fromisoformat(stored).astimezone(timezone(timedelta(hours=8))).strftime("%m-%d %H:%M")


async def test_schedule_list_retime_and_cancel_with_confirmation(fast_bot):
    bot, client = fast_bot, fast_bot.client
    await setup(bot)
    storage = bot.storage
    scheduled = await schedule_through_the_menu(client, "本周六上午全市停水检修，请各工地提前储水。", "明天上午9点")
    assert has_button("待发送公告")(scheduled) and "09:00" in scheduled["text"]
    first = storage.scheduled_announcements(OFFICER)[0]
    assert first["status"] == "scheduled"

    await client.press(OFFICER, "待发送公告")
    listing = await client.wait_text(OFFICER, "待发送公告（北京时间）")
    assert local(first["scheduled_at"]) in listing["text"] and local(first["scheduled_at"]).endswith("09:00")
    assert "三亚市" in listing["text"] and "5 人" in listing["text"] and "本周六上午全市停水" in listing["text"]
    await client.press(OFFICER, "1. ")
    await client.wait_for(OFFICER, has_button("修改时间"))

    await client.press(OFFICER, "修改时间")
    await client.wait_text(OFFICER, "请发送新的发送时间")
    await client.send(OFFICER, "找个时间")
    await client.wait_text(OFFICER, "时间格式不对")
    await client.send(OFFICER, "2020-01-01 09:00")
    await client.wait_text(OFFICER, "已经过去")
    assert storage.announcement(first["id"])["scheduled_at"] == first["scheduled_at"], "nothing changed yet"
    await client.send(OFFICER, "后天下午3点")
    changed = await client.wait_text(OFFICER, "已改为")
    after = storage.announcement(first["id"])
    assert after["status"] == "scheduled" and after["scheduled_at"] != first["scheduled_at"]
    assert local(after["scheduled_at"]).endswith("15:00") and local(after["scheduled_at"]) in changed["text"]

    await client.press(OFFICER, "修改内容")
    await client.wait_text(OFFICER, "请发送新的公告文字")
    await client.send(OFFICER, "改期：下周六上午停水检修。")
    await client.wait_text(OFFICER, "内容已修改")
    assert storage.announcement(first["id"])["text"] == "改期：下周六上午停水检修。"

    # another bureau of the same 市县 forges the confirm button: refused politely, nothing changes
    sandbox = bot.runtime.sandbox
    chat = sandbox.chat(OTHER_OFFICER)
    sandbox.store_message(chat, {"message_id": chat.next_message_id, "date": 0, "chat": chat.as_json(sandbox.users),
                                 "from": {"id": 123456, "is_bot": True, "first_name": "质量通"}, "text": "x",
                                 "reply_markup": {"inline_keyboard": [[{"text": "伪造取消",
                                                                        "callback_data": f"nq:{first['id']}:confirm"}]]}})
    answer = (await client.press(OTHER_OFFICER, "伪造取消")).json()["answer"] or {}
    assert "只有这条公告的发布者或管理员" in (answer.get("text") or "")
    assert storage.announcement(first["id"])["status"] == "scheduled"

    await client.press(OFFICER, "取消发送")
    await client.wait_for(OFFICER, has_button("确定取消发送"))
    assert storage.announcement(first["id"])["status"] == "scheduled", "one press only asks"
    await client.press(OFFICER, "确定取消发送")
    await client.wait_text(OFFICER, "已取消，这条公告不会发送")
    assert storage.announcement(first["id"])["status"] == "cancelled"
    await client.send(OFFICER, "/scheduled")  # the bureau's command for the same list
    await client.wait_text(OFFICER, "没有待发送的定时公告")

    # the scheduler fires while the author is on the confirm screen: the late confirmation is refused cleanly
    await schedule_through_the_menu(client, "第二条定时公告", "明天上午10点")
    second = storage.scheduled_announcements(OFFICER)[0]
    await client.press(OFFICER, "待发送公告")
    await client.wait_text(OFFICER, "第二条定时公告")
    await client.press(OFFICER, "1. ")
    await client.wait_for(OFFICER, has_button("修改时间"))
    await client.press(OFFICER, "取消发送")
    await client.wait_for(OFFICER, has_button("确定取消发送"))
    assert bot.runtime.services.announcements.start_scheduled(second["id"])
    await client.press(OFFICER, "确定取消发送")
    await client.wait_text(OFFICER, "已经开始发送")
    assert storage.announcement(second["id"])["status"] == "sending"
    assert bot.runtime.services.announcements.summary(second["id"]).cancelled == 0


async def test_the_author_gets_one_report_when_it_has_gone_out(fast_bot):
    bot, client = fast_bot, fast_bot.client
    await setup(bot)
    bot.runtime.sandbox.set_blocked(40_005, True)
    await schedule_through_the_menu(client, "质量月检查通知：下周一开始。", "now+1m")
    announcement_id = bot.storage.scheduled_announcements(OFFICER)[0]["id"]
    # the time comes: the minute is skipped (the stored time moved back) and the scheduler's job run at once
    bot.storage.update_announcement(announcement_id, {
        "scheduled_at": (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat(timespec="milliseconds")})
    application = bot.runtime.application
    job = next(job for job in application.job_queue.jobs() if job.name == "scheduled-announcements")
    await job.run(application)
    for user_id in range(40_001, 40_005):
        await client.wait_text(user_id, "质量月检查通知")
    report = await client.wait_text(OFFICER, "定时公告已发送完毕", timeout=20)
    assert "送达：4" in report["text"] and "已屏蔽机器人：1" in report["text"] and "失败：0" in report["text"]
    assert "质量月检查通知" in report["text"]

    def reports(messages) -> int:
        return sum(1 for m in messages if "定时公告已发送完毕" in (m.get("text") or ""))

    # finished just before a crash, its author not told yet: told at the next start, once
    other = bot.runtime.services.announcements.create(
        OFFICER, Draft("停电通知", None, ["三亚市"]), datetime.now(timezone.utc) + timedelta(hours=1))
    bot.storage.db.execute("UPDATE deliveries SET status = 'sent' WHERE announcement_id = ?", [other["id"]])
    bot.storage.update_announcement(other["id"], {"status": "done"})
    await bot.restart()
    client = bot.client
    await client.wait_for(OFFICER, lambda m: "停电通知" in (m.get("text") or "") and "发送完毕" in m["text"])
    await bot.restart()  # the reports of a start are sent before the bot takes updates
    messages = await bot.client.messages(OFFICER)
    assert reports(messages) == 2, [m.get("text") for m in messages]
    assert sum(1 for m in messages if "停电通知" in (m.get("text") or "")) == 1
    assert all(bot.storage.announcement(a)["reported_at"] for a in (announcement_id, other["id"]))
