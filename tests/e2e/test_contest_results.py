"""After a contest, through the sandbox: certificates go out once when it ends (a restart sends none again), a
participant fetches theirs from the result and reviews their answers once it has ended, and the organiser reads
per-question statistics in chat."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from bot.quiz import LETTERS
from bot.ui.contest import ContestReview
from bot.ui.results import QuestionStats
from handlers.results import CERTIFICATE_SWEEP_SECONDS, deliver_certificates
from tests.e2e.test_e2e_contest import answer, current, register, start_contest
from tests.helpers import ADMIN_ID, has_button

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def take_part(bot, contest_id: int, user_id: int, rights: list[bool], team_id: int | None = None) -> None:
    """A registered participant (who has opened the chat) answers through the core, as the buttons would."""
    services = bot.runtime.services
    await bot.client.user(user_id, f"选手{user_id}", started=True)
    services.accounts.touch(user_id, f"选手{user_id}", None)
    services.accounts.set_region(user_id, "三亚市")
    services.accounts.set_role(user_id, "worker")
    if team_id:
        bot.storage.update_user(user_id, team_id=team_id)
    contests = services.contests
    attempt = contests.start(contest_id, services.accounts.get(user_id))
    for right in rights:
        shown, _ = contests.ask(attempt["id"], bot.storage.attempt(attempt["id"])["position"])
        wrong = [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
        outcome = contests.answer(attempt["id"], user_id, shown.position, shown.right_display if right else wrong)
        assert outcome.status == "recorded"


def make_contest(bot, title: str, questions: int = 3) -> dict:
    services = bot.runtime.services
    now = services.contests.clock()
    return services.contests.create(ContestSpec(title=title, starts_at=now, ends_at=now + timedelta(hours=1),
                                                questions=questions, min_team_size=2), None, organiser_id=ADMIN_ID)


def certificates(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["photo"] and "证书" in (m.get("caption") or "")]


async def open_contest_as_organiser(client, title: str) -> None:
    await client.user(ADMIN_ID, "王工")
    await client.send(ADMIN_ID, "/contests")
    await client.wait_for(ADMIN_ID, has_button(title))
    await client.press(ADMIN_ID, title)


async def test_certificates_go_out_once_when_the_contest_ends(bot):
    client = bot.client
    team = bot.runtime.services.accounts.create_team(TeamSpec("凤凰岛二标", "三亚"))
    contest = make_contest(bot, "三亚质量月竞赛")
    await take_part(bot, contest["id"], 1, [True, True, True], team["id"])
    await take_part(bot, contest["id"], 2, [True, False], team["id"])
    await take_part(bot, contest["id"], 3, [])  # joined, answered nothing: on the board once closed, no certificate

    # while it runs, 我的证书 says when it comes; nothing is sent by itself
    await client.send(1, "/contest")
    await client.wait_for(1, has_button("三亚质量月竞赛"))
    await client.press(1, "三亚质量月竞赛")
    await client.wait_for(1, has_button("排行榜"))
    assert certificates(await client.messages(1)) == []

    await open_contest_as_organiser(client, "三亚质量月竞赛")
    await client.wait_for(ADMIN_ID, has_button("提前结束"))
    await client.press(ADMIN_ID, "提前结束")
    await client.wait_for(ADMIN_ID, has_button("确定结束"))
    await client.press(ADMIN_ID, "确定结束")

    first = await client.wait_for(1, lambda m: bool(certificates([m])), timeout=CERTIFICATE_SWEEP_SECONDS + 10)
    assert "荣誉证书" in first["caption"] and "个人第 1 名（共 3 人）" in first["caption"] and "30 分" in first["caption"]
    second = await client.wait_for(2, lambda m: bool(certificates([m])), timeout=10)
    assert "个人第 2 名" in second["caption"] and "10 分" in second["caption"]
    content = (await client.http.get(f"/sandbox/files/{first['file_id']}")).content
    assert content.startswith(PNG_MAGIC)
    sent = {row["user_id"]: row["certificate_sent_at"] for row in bot.storage.contest_attempts(contest["id"])}
    assert sent[1] and sent[2] and sent[3] is None

    await bot.restart()  # the record survives: a new sweep sends nothing again
    client = bot.client
    assert await deliver_certificates(bot.runtime.application) == 0, "a sweep after the restart sends nothing"
    for user_id in (1, 2):
        assert len(certificates(await client.messages(user_id))) == 1, f"user {user_id} got a second certificate"
    assert certificates(await client.messages(3)) == []


async def test_participant_asks_for_a_certificate_from_the_result(bot):
    client = bot.client
    contest = make_contest(bot, "琼海质量月竞赛", questions=1)
    await client.user(5, "选手5")
    register(bot, 5, None)
    await start_contest(bot, 5, contest["id"])
    await answer(bot, contest["id"], 5, right=True)
    result = await client.wait_text(5, "答题结束")
    assert has_button("🏅 我的证书")(result)
    early = await client.press(5, "🏅 我的证书", message_id=result["message_id"])
    assert "竞赛结束后" in early.json()["answer"]["text"]

    await open_contest_as_organiser(client, "琼海质量月竞赛")
    await client.wait_for(ADMIN_ID, has_button("提前结束"))
    await client.press(ADMIN_ID, "提前结束")
    await client.wait_for(ADMIN_ID, has_button("确定结束"))
    await client.press(ADMIN_ID, "确定结束")
    await client.wait_for(5, lambda m: bool(certificates([m])), timeout=CERTIFICATE_SWEEP_SECONDS + 10)
    after = await client.last_id(5)
    await client.press(5, "🏅 我的证书", message_id=result["message_id"])
    again = await client.wait_for(5, lambda m: bool(certificates([m])), after=after)
    assert "您在“琼海质量月竞赛”的荣誉证书" in again["caption"]


async def test_organiser_reads_question_statistics(bot):
    client = bot.client
    services = bot.runtime.services
    contest = make_contest(bot, "海口防水竞赛", questions=2)
    await take_part(bot, contest["id"], 11, [True, True])
    await take_part(bot, contest["id"], 12, [False, True])
    await take_part(bot, contest["id"], 13, [False, False])

    await open_contest_as_organiser(client, "海口防水竞赛")
    await client.wait_for(ADMIN_ID, has_button("题目统计"))
    await client.press(ADMIN_ID, "📊 题目统计（正确率、选项分布）")
    screen = await client.wait_text(ADMIN_ID, "题目统计")
    answers = bot.storage.contest_answers(contest["id"])
    asked = {a["question_id"] for a in answers}
    assert f"{len(asked)} 道题有人作答" in screen["text"]
    rates = {}
    for qid in asked:
        rows = [a for a in answers if a["question_id"] == qid]
        rates[qid] = sum(a["correct"] for a in rows), len(rows)
    weakest = min(rates.values(), key=lambda pair: pair[0] / pair[1])
    assert f"1. 正确率 {weakest[0] / weakest[1]:.0%}（{weakest[0]}/{weakest[1]} 人答对" in screen["text"]
    assert "✅" in screen["text"]

    bank = services.knowledge.bank.questions
    # weakest first; equal rates: the most answered, then by id
    first_id = min(asked, key=lambda qid: (rates[qid][0] / rates[qid][1], -rates[qid][1], qid))
    first_question = bank[first_id]
    assert first_question.stem[:20] in screen["text"].split("\n1. ")[1].split("\n2. ")[0]
    topic = services.knowledge.kb.get(first_question.topic)
    label = next(b for row in screen["buttons"] for b in row if b.startswith("📖 第1题"))
    await client.press(ADMIN_ID, label, message_id=screen["message_id"])
    await client.wait_text(ADMIN_ID, topic.title)

    # someone who does not manage the contest cannot read them, even with the button's data
    injected = await client.http.post("/sandbox/inject", json={
        "chat_id": 12, "text": "x", "buttons": [[{"text": "题目统计", "callback_data": QuestionStats(contest["id"]).pack()}]]})
    forged = await client.press(12, "题目统计", message_id=injected.json()["message_id"])
    assert forged.status_code == 200 and "只有" in forged.json()["answer"]["text"]


async def test_participant_reviews_their_own_answers_once_the_contest_ends(bot):
    client = bot.client
    bank = bot.runtime.services.knowledge.bank.questions
    kb = bot.runtime.services.knowledge.kb
    contest = make_contest(bot, "儋州质量月竞赛", questions=6)
    await client.user(7, "选手7")
    register(bot, 7, None)
    await take_part(bot, contest["id"], 8, [True])  # someone else, who will try 7's review with a forged button
    await start_contest(bot, 7, contest["id"])
    attempt, first = current(bot, contest["id"], 7)
    wrong = next(i for i in range(len(first.options)) if i not in first.right_display)
    for position in range(6):
        await answer(bot, contest["id"], 7, right=position > 0)  # the first wrong, as 7 saw its options
    result = await client.wait_text(7, "答题结束")
    assert has_button("📝 答题回顾")(result)

    early = await client.press(7, "📝 答题回顾", message_id=result["message_id"])
    assert "竞赛结束" in early.json()["answer"]["text"], "no answers while others may still be answering"
    assert not any("· 答题回顾" in (m.get("text") or "") for m in await client.messages(7))

    await open_contest_as_organiser(client, "儋州质量月竞赛")
    await client.wait_for(ADMIN_ID, has_button("提前结束"))
    await client.press(ADMIN_ID, "提前结束")
    await client.wait_for(ADMIN_ID, has_button("确定结束"))
    await client.press(ADMIN_ID, "确定结束")
    await client.wait_text(ADMIN_ID, "”已结束。")

    after = await client.last_id(7)
    await client.press(7, "📝 答题回顾", message_id=result["message_id"])
    review = await client.wait_text(7, "答题回顾", after=after)
    assert review["message_id"] != result["message_id"], "the result stays; the review comes as a message of its own"
    assert "答对 5/6 题（第 1/2 页）" in review["text"]
    one = review["text"].split("第 1 题")[1].split("第 2 题")[0]
    yours, right = LETTERS[wrong], LETTERS[first.right_display[0]]
    assert "❌ 回答错误" in one and first.question.stem[:15] in one
    assert f"您选了：{yours}. {first.options[wrong][:10]}" in one, one
    assert f"正确答案：{right}. {first.options[first.right_display[0]][:10]}" in one, one
    assert f"解析：{first.question.explanation[:15]}" in one
    assert "第 6 题" not in review["text"]

    await client.press(7, "下一页 ›", message_id=review["message_id"])
    second = await client.wait_for(7, lambda m: m["message_id"] == review["message_id"] and "第 2/2 页" in m["text"])
    assert "第 6 题" in second["text"] and "第 1 题" not in second["text"]
    sixth = bank[json.loads(attempt["plan"])[5][0]]
    label = next(b for row in second["buttons"] for b in row if b.startswith("📖 第6题"))
    after = await client.last_id(7)
    await client.press(7, label, message_id=review["message_id"])
    await client.wait_text(7, kb.get(sixth.topic).title, after=after)
    await client.press(7, "‹ 上一页", message_id=review["message_id"])
    await client.wait_for(7, lambda m: m["message_id"] == review["message_id"] and "第 1/2 页" in m["text"])

    # another participant's forged button for 7's review is refused
    injected = await client.http.post("/sandbox/inject", json={
        "chat_id": 8, "text": "x", "buttons": [[{"text": "答题回顾",
                                                 "callback_data": ContestReview(attempt["id"], new=True).pack()}]]})
    forged = await client.press(8, "答题回顾", message_id=injected.json()["message_id"])
    assert forged.status_code == 200 and "只有参赛者本人" in forged.json()["answer"]["text"]
    assert not any("· 答题回顾" in (m.get("text") or "") for m in await client.messages(8))

    # the contest's card leads to the review and the certificate too
    await client.press(7, "« 返回竞赛", message_id=review["message_id"])
    card = await client.wait_for(7, lambda m: m["message_id"] == review["message_id"] and "（已结束）" in m["text"])
    assert has_button("📝 答题回顾")(card) and has_button("🏅 我的证书")(card)
