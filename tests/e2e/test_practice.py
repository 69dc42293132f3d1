"""Practice, the 错题本 and 每日一题: unit rules with a fake clock, and a session through the sandbox."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.practice import Practice, PracticeError
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
        session = bot.storage.db.execute("SELECT id FROM practice_sessions WHERE user_id = 5001").fetchone()[0]
        item = bot.runtime.services.practice.current(bot.storage.practice(session))
        wrong = position < 2
        choice = [i for i in range(len(item.options)) if (i in item.right_display) != wrong]
        labels = [label for row in message["buttons"] for label in row]
        for index in (choice if item.question.type == "multiple" else choice[:1]):
            label = next(b for b in labels if b.lstrip("☐☑ ").startswith("ABCD"[index]))
            await client.press(5001, label, message_id=message["message_id"])
        if item.question.type == "multiple":
            await client.press(5001, "提交", message_id=message["message_id"])
    summary = await client.wait_text(5001, "练习完成")
    assert "答对 8/10" in summary["text"]
    assert len(bot.storage.wrongbook(5001)) == 2
    await client.press(5001, "我的统计")
    stats = await client.wait_text(5001, "我的练习统计")
    assert "给水排水：10 题，正确率 80%" in stats["text"]

    await client.press(5001, "返回每日练习")
    await client.wait_for(5001, has_button("每日一题设置"))
    await client.press(5001, "每日一题设置")
    await client.wait_for(5001, has_button("07:00"))
    await client.press(5001, "07:00")
    assert bot.storage.daily_subscription(5001)["at_time"] == "07:00"
    bot.storage.db.execute("UPDATE daily_subscriptions SET at_time = '00:00' WHERE user_id = 5001")  # due now
    bot.storage.db.conn.commit()
    application = bot.runtime.application
    await application.job_queue.get_jobs_by_name("daily-questions")[0].run(application)  # the minute's check, now
    daily = await client.wait_text(5001, "每日一题 · ", timeout=20)
    assert daily["buttons"]
