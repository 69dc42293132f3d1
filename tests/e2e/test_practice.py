"""Practice, the 错题本 and 每日一题: unit rules with a fake clock, and a session through the sandbox."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.practice import Practice, PracticeError
from bot.quiz import options_fit_buttons
from bot.storage import Storage
from tests.helpers import Clock, has_button

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def practice(knowledge_service):
    storage = Storage.memory()
    storage.upsert_user(5, "张工", None)
    clock = Clock(datetime(2025, 9, 10, 0, 30, tzinfo=timezone.utc))  # 08:30 Beijing
    return Practice(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=clock,
                    rng=random.Random(3)), clock


def wrong_choice(item):
    return [next(i for i in range(len(item.options)) if i not in item.right_display)]


def test_wrongbook_keeps_a_question_until_right_twice_in_a_row(practice):
    service, _ = practice
    item = service.start(5, "防水与渗漏")
    assert item.total == 10
    assert service.kb_provider().get(item.question.topic).category == "防水与渗漏"
    missed = item.question.id
    assert service.answer(item.session_id, 5, 0, wrong_choice(item)).status == "recorded"
    assert service.answer(item.session_id, 5, 0, item.right_display).status == "already"
    assert service.storage.wrongbook(5) == [missed]
    for attempt in range(3):
        review = service.start_wrongbook(5)
        right = attempt != 1  # right, wrong, right, right: only the last two in a row count
        chosen = review.right_display if right else wrong_choice(review)
        service.answer(review.session_id, 5, 0, chosen)
        assert service.storage.wrongbook(5) == [missed]
    review = service.start_wrongbook(5)
    service.answer(review.session_id, 5, 0, review.right_display)
    assert service.storage.wrongbook(5) == []
    with pytest.raises(PracticeError):
        service.start_wrongbook(5)
    answered, correct, per_category, waiting = service.statistics(5)
    assert (answered, correct, waiting) == (5, 3, 0) and per_category[0].category == "防水与渗漏"


def test_answers_for_someone_else_are_refused(practice):
    service, _ = practice
    item = service.start(5)
    assert service.answer(item.session_id, 6, 0, item.right_display).status == "not_yours"


def test_daily_question_once_a_day_and_streaks(practice):
    service, clock = practice
    clock.now = datetime(2025, 9, 9, 22, 0, tzinfo=timezone.utc)  # 06:00 Beijing: today's 07:00 is still ahead
    service.subscribe(5, "07:00")
    with pytest.raises(PracticeError):
        service.subscribe(5, "03:17")
    streaks = []
    for day in range(3):
        clock.now = datetime(2025, 9, 10 + day, 0, 30, tzinfo=timezone.utc)
        assert service.due_daily() == [5]
        item = service.daily_question(5)
        assert service.daily_question(5) is None, "never twice a day"
        assert service.due_daily() == []
        streaks.append(service.answer(item.session_id, 5, 0, item.right_display).streak)
    clock.now += timedelta(days=2)  # a day missed
    item = service.daily_question(5)
    streaks.append(service.answer(item.session_id, 5, 0, wrong_choice(item)).streak)
    assert streaks == [1, 2, 3, 1]
    clock.now = datetime(2025, 9, 20, 22, 0, tzinfo=timezone.utc)  # 06:00 next morning in Beijing: not yet
    assert service.due_daily() == []
    service.subscribe(5, None)
    clock.now += timedelta(hours=3)
    assert service.due_daily() == []


async def test_practice_session_in_chat_and_daily_question(bot):
    client = bot.client
    await client.user(5001, "练习者")
    await client.send(5001, "/practice")
    await client.wait_for(5001, has_button("随机 10 题"))
    await client.press(5001, "按分类练习")
    await client.wait_for(5001, has_button("给水排水"))
    await client.press(5001, "给水排水")
    for position in range(10):
        message = await client.wait_for(5001, lambda m: f"练习 {position + 1}/10" in m["text"] and not m["edited"])
        await press_answer(bot, 5001, message, right=position >= 2)
    summary = await client.wait_text(5001, "练习完成")
    assert "答对 8/10" in summary["text"] and "答错的题" in summary["text"]
    assert len(bot.storage.wrongbook(5001)) == 2
    await client.press(5001, "返回每日练习", message_id=summary["message_id"])
    await client.wait_for(5001, has_button("我的统计"))
    await client.press(5001, "我的统计")
    stats = await client.wait_text(5001, "我的练习统计")
    assert "给水排水：10 题，正确率 80%" in stats["text"]

    await client.press(5001, "返回每日练习")
    await client.wait_for(5001, has_button("每日一题设置"))
    await client.press(5001, "每日一题设置")
    await client.wait_for(5001, has_button("07:00"))
    await client.press(5001, "07:00")
    chosen = await client.wait_for(5001, has_button("✅ 07:00"))
    assert "下一次推送：" in chosen["text"] and has_button("返回每日练习")(chosen), "back on the settings screen"
    assert bot.storage.daily_subscription(5001)["at_time"] == "07:00"
    bot.storage.db.execute("UPDATE daily_subscriptions SET at_time = '00:00', last_sent_on = NULL "
                           "WHERE user_id = 5001")  # due now
    bot.storage.db.conn.commit()
    application = bot.runtime.application
    await application.job_queue.get_jobs_by_name("daily-questions")[0].run(application)  # the minute's check, now
    daily = await client.wait_text(5001, "每日一题 · ", timeout=20)
    assert daily["buttons"] and not has_button("结束")(daily)


async def press_answer(bot, user_id: int, message: dict, right: bool) -> list[int]:
    """Answer the practice question in `message` by pressing its buttons (right or wrong); the options chosen."""
    client = bot.client
    session = bot.storage.db.execute("SELECT id FROM practice_sessions WHERE user_id = ? ORDER BY id DESC LIMIT 1",
                                     [user_id]).fetchone()[0]
    item = bot.runtime.services.practice.current(bot.storage.practice(session))
    choice = [i for i in range(len(item.options)) if (i in item.right_display) == right]
    choice = choice if item.question.type == "multiple" and right else choice[:1]
    labels = [label for row in message["buttons"] for label in row]
    for index in choice:
        label = next(b for b in labels if b.lstrip("☐☑ ").startswith("ABCD"[index]))
        await client.press(user_id, label, message_id=message["message_id"])
    if item.question.type == "multiple":
        await client.press(user_id, "提交", message_id=message["message_id"])
    return choice


async def test_round_ended_early_summary_topics_and_wrongbook(bot):
    """A round: a wrong answer shows the option chosen, 结束 brings the summary with the wrong question and its
    topic, the 错题本 lists it before any drill, 开始练习 drills it."""
    client = bot.client
    await client.user(5002, "练习者")
    await client.send(5002, "/practice")
    await client.wait_for(5002, has_button("随机 10 题"))
    await client.press(5002, "随机 10 题")
    first = await client.wait_for(5002, lambda m: "练习 1/10" in m["text"] and not m["edited"])
    assert has_button("结束")(first)
    session = bot.storage.db.execute("SELECT id FROM practice_sessions WHERE user_id = 5002").fetchone()[0]
    missed = bot.runtime.services.practice.current(bot.storage.practice(session)).question
    if options_fit_buttons(missed.options):
        assert not any(option in first["text"] for option in missed.options), "options shown twice"
        assert all(has_button(f"{letter}. {option}")(first) for letter, option in zip("ABCD", missed.options))
    else:
        assert all(f"{letter}. {option}" in first["text"] for letter, option in zip("ABCD", missed.options))
    chosen = await press_answer(bot, 5002, first, right=False)
    feedback = await client.wait_for(5002, lambda m: m["message_id"] == first["message_id"] and "回答错误" in m["text"])
    letter = "ABCD"[chosen[0]]
    assert f"您选了：{letter}. {missed.options[chosen[0]]}" in feedback["text"]
    assert f"正确答案：{missed.answer_letters[0]}. " in feedback["text"]

    second = await client.wait_for(5002, lambda m: "练习 2/10" in m["text"] and not m["edited"])
    await press_answer(bot, 5002, second, right=True)
    third = await client.wait_for(5002, lambda m: "练习 3/10" in m["text"] and not m["edited"])
    await client.press_exactly(5002, "结束", third)
    summary = await client.wait_for(5002, lambda m: m["message_id"] == third["message_id"] and "练习结束" in m["text"])
    assert "已答 2 题，答对 1 题" in summary["text"]
    assert missed.stem[:12] in summary["text"] and f"您选 {letter}. " in summary["text"]
    assert all(has_button(label)(summary) for label in ("📖 第1题", "再练一组", "错题本", "主菜单"))
    topic = bot.runtime.services.knowledge.kb.get(missed.topic)
    before = await client.last_id(5002)
    await client.press(5002, "📖 第1题", message_id=summary["message_id"])
    await client.wait_text(5002, topic.title, after=before)

    await client.press(5002, "错题本", message_id=summary["message_id"])
    book = await client.wait_for(5002, lambda m: m["message_id"] == summary["message_id"] and "共 1 题" in m["text"])
    assert missed.stem[:12] in book["text"] and not has_button("结束")(book), "a list, not a drill"
    before = await client.last_id(5002)
    await client.press(5002, "开始练习", message_id=book["message_id"])
    drill = await client.wait_text(5002, "错题重练 1/1", after=before)
    assert missed.stem in drill["text"] and has_button("结束")(drill)


async def test_daily_time_from_subscription_settings_comes_back_there_and_pushes_nothing_now(bot):
    client = bot.client
    await client.user(5003, "订阅者")
    await client.send(5003, "/notices")
    await client.wait_for(5003, has_button("订阅设置"))
    await client.press(5003, "订阅设置")
    await client.wait_for(5003, has_button("每日一题 ⬜ 关"))
    await client.press(5003, "每日一题")
    await client.wait_for(5003, has_button("返回订阅设置"))
    await client.press(5003, "07:00")
    chosen = await client.wait_for(5003, has_button("✅ 07:00"))
    assert has_button("返回订阅设置")(chosen) and "下一次推送：" in chosen["text"]
    application = bot.runtime.application
    before = await client.last_id(5003)
    await application.job_queue.get_jobs_by_name("daily-questions")[0].run(application)
    # before 07:00 Beijing it is not due yet; after it, today counts as done: either way nothing now
    assert not [m for m in await client.messages(5003, before) if "每日一题 · " in m["text"]]
    await client.press(5003, "返回订阅设置")
    await client.wait_for(5003, has_button("每日一题 ✅ 开"))
