"""Scripted participants take a contest through the sandbox: timeouts, double presses, a restart, exact results."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from openpyxl import load_workbook

from bot.accounts import TeamSpec
from bot.contests import ContestSpec
from bot.quiz import LETTERS
from tests.helpers import ADMIN_ID, has_button

SECONDS = 10


def register(bot, user_id: int, team_id: int | None) -> None:
    accounts = bot.runtime.services.accounts
    accounts.touch(user_id, f"选手{user_id}", None)
    accounts.set_region(user_id, "三亚市")
    accounts.set_role(user_id, "worker")
    if team_id:
        bot.storage.update_user(user_id, team_id=team_id)


def current(bot, contest_id: int, user_id: int):
    attempt = bot.storage.attempt_of(contest_id, user_id)
    return attempt, bot.runtime.services.contests.shown(attempt)


async def question_message(client, user_id: int, position: int, after: int = 0) -> dict:
    return await client.wait_for(user_id, lambda m: f"第 {position + 1}/" in m["text"] and "限时" in m["text"]
                                 and m["buttons"] and not m["edited"], after=after, timeout=15)


def labels_for(message: dict, letters: list[int]) -> list[str]:
    buttons = [label for row in message["buttons"] for label in row]
    return [next(b for b in buttons if b.lstrip("☐☑ ").startswith(LETTERS[i])) for i in letters]


async def answer(bot, contest_id: int, user_id: int, right: bool, after: int = 0) -> dict:
    """Answer the current question (right or wrong) by pressing its buttons as the participant would."""
    client = bot.client
    attempt, shown = current(bot, contest_id, user_id)
    message = await question_message(client, user_id, shown.position, after)
    wrong = [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
    chosen = shown.right_display if right else wrong
    labels = labels_for(message, chosen)
    if shown.question.type == "multiple":
        for label in labels:
            await client.press(user_id, label, message_id=message["message_id"])
        response = await client.press(user_id, "提交", message_id=message["message_id"])
    else:
        response = await client.press(user_id, labels[0], message_id=message["message_id"])
    assert response.status_code == 200, response.text
    return message


async def start_contest(bot, user_id: int, contest_id: int) -> None:
    client = bot.client
    await client.send(user_id, "/contest")
    await client.wait_for(user_id, has_button("质量月"))
    await client.press(user_id, "质量月")
    await client.wait_for(user_id, has_button("开始答题"))
    await client.press(user_id, "开始答题")


async def test_contest_with_timeout_double_press_restart_and_export(bot):
    services = bot.runtime.services
    client = bot.client
    team_a = services.accounts.create_team(TeamSpec("海棠湾项目部", "三亚", "海建集团", 4))
    team_b = services.accounts.create_team(TeamSpec("凤凰岛<b>二标</b>", "三亚"))
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title="质量月知识竞赛", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), questions=3,
        seconds_per_question=SECONDS, min_team_size=2), None, organiser_id=ADMIN_ID)
    cid = contest["id"]
    players = {1: team_a["id"], 2: team_a["id"], 3: team_b["id"], 4: team_b["id"]}
    for user_id, team_id in players.items():
        await client.user(user_id, f"选手{user_id}")
        register(bot, user_id, team_id)

    # player 1: all right; flags question 1 from the feedback above question 2, and opens its topic
    await start_contest(bot, 1, cid)
    first = await answer(bot, cid, 1, right=True)
    second = await question_message(client, 1, 1, after=first["message_id"])
    assert second["text"].startswith("上一题 ✅ 回答正确") and "第 2/3 题" in second["text"], second["text"]
    flagged = await client.press(1, "上一题纠错", message_id=second["message_id"])
    assert "已提交纠错" in flagged.json()["answer"]["text"]
    again = await client.press(1, "上一题纠错", message_id=second["message_id"])
    assert "已经提交过" in again.json()["answer"]["text"]
    first_question = services.knowledge.bank.questions[bot.storage.contest_answers(cid)[0]["question_id"]]
    assert [row["question_id"] for row in bot.storage.flags(cid)] == [first_question.id]
    await client.press(1, "📖 上一题知识", message_id=second["message_id"])
    topic = services.knowledge.kb.get(first_question.topic)
    await client.wait_text(1, topic.title, after=second["message_id"])
    option_a = labels_for(first, [0])[0].lstrip("☐☑ ")  # a 多选 tick has changed its mark since
    stale = await client.press(1, option_a, message_id=first["message_id"])
    assert "已经作答" in stale.json()["answer"]["text"], "question 1's buttons stay but change nothing"
    for _ in range(2):
        await answer(bot, cid, 1, right=True)
    await client.wait_text(1, "答题结束")

    # player 4: all wrong, while Telegram throttles and fails: the bot waits out RetryAfter, survives a 500
    await start_contest(bot, 4, cid)
    await client.fault(method="sendMessage", error="retry_after", times=2, chat_id=4, retry_after=1)
    await answer(bot, cid, 4, right=False)
    await client.fault(method="answerCallbackQuery", error="server_error", times=1)
    await answer(bot, cid, 4, right=False)
    await answer(bot, cid, 4, right=False)
    await client.wait_text(4, "答题结束")

    # player 3: lets question 1 run out, then answers the rest right
    await start_contest(bot, 3, cid)
    await question_message(client, 3, 0)
    await client.wait_text(3, "时间到", timeout=SECONDS + 10)
    await answer(bot, cid, 3, right=True)
    await answer(bot, cid, 3, right=True)

    # player 2: a double press on question 1 (two taps before the bot answers), then wrong, then a restart
    await start_contest(bot, 2, cid)
    attempt, shown = current(bot, cid, 2)
    message = await question_message(client, 2, 0)
    label = labels_for(message, shown.right_display)[0] if shown.question.type != "multiple" else None
    if label is not None:
        first, second = await asyncio.gather(client.press(2, label, message_id=message["message_id"]),
                                             client.press(2, label, message_id=message["message_id"]))
        answers = sorted(r.json()["answer"]["text"] for r in (first, second))
        assert answers[0] == "回答正确" and "已经作答" in answers[1], answers
    else:
        await answer(bot, cid, 2, right=True)
    await answer(bot, cid, 2, right=False)
    await question_message(client, 2, 2)

    await bot.restart()  # player 2 is in the middle of question 3
    client = bot.client
    resumed = await client.wait_text(2, "系统刚刚重启")
    assert resumed["text"].count("第 3/3 题") == 1
    await answer(bot, cid, 2, right=True, after=resumed["message_id"] - 1)
    await client.wait_text(2, "答题结束")

    storage = bot.storage
    answers = storage.contest_answers(cid)
    assert len(answers) == 12 and len({(a["user_id"], a["position"]) for a in answers}) == 12
    timed_out = [(a["user_id"], a["position"]) for a in answers if a["timed_out"]]
    assert timed_out == [(3, 0)]
    board = bot.runtime.services.contests.leaderboard(cid)
    scores = {row.user_id: row.score for row in board.individuals}
    assert scores == {1: 30.0, 2: 20.0, 3: 20.0, 4: 0.0}
    assert [row.user_id for row in board.individuals][0] == 1 and board.individuals[-1].user_id == 4
    tie = [row for row in board.individuals if row.score == 20.0]
    assert tie[0].time_ms <= tie[1].time_ms, "equal scores are ordered by total time"
    teams = {row.name: row for row in board.teams}
    assert teams["海棠湾项目部"].mean_score == 25.0 and teams["海棠湾项目部"].participation_rate == 0.5
    assert teams["凤凰岛<b>二标</b>"].mean_score == 10.0 and teams["凤凰岛<b>二标</b>"].rank == 2

    # /rank shows the standings with names escaped
    after = await client.last_id(4)
    await client.send(4, "/rank")
    ranking = await client.wait_text(4, "排行榜", after=after)
    assert "凤凰岛<b>二标</b>" in ranking["text"] and "&lt;b&gt;" in ranking["html"]

    # the organiser exports the workbook in chat; it matches the database answer by answer
    await client.user(ADMIN_ID, "组织者")
    await client.send(ADMIN_ID, "/contests")
    await client.wait_for(ADMIN_ID, has_button("质量月知识竞赛"))
    await client.press(ADMIN_ID, "质量月知识竞赛")
    await client.wait_for(ADMIN_ID, has_button("导出 Excel"))
    await client.press(ADMIN_ID, "导出 Excel")
    document = await client.wait_for(ADMIN_ID, lambda m: m["document"] == f"contest-{cid}.xlsx")
    content = (await client.http.get(f"/sandbox/files/{document['file_id']}")).content
    sheets = load_workbook(io.BytesIO(content))
    people = list(sheets["个人排名"].iter_rows(min_row=2, values_only=True))
    assert [(row[1], row[4], row[5], row[6]) for row in people] == [
        (f"选手{r.user_id}", r.score, r.correct, r.answered) for r in board.individuals]
    stats = list(sheets["题目统计"].iter_rows(min_row=2, values_only=True))
    assert sum(row[3] for row in stats) == 12
    for row in stats:
        rows = [a for a in answers if a["question_id"] == row[0]]
        assert abs(row[4] - sum(a["correct"] for a in rows) / len(rows)) < 1e-6


async def test_organiser_creates_and_closes_a_contest_in_chat(bot):
    client = bot.client
    await client.user(ADMIN_ID, "组织者")
    await client.send(ADMIN_ID, "/newcontest")
    await client.wait_text(ADMIN_ID, "竞赛名称")
    await client.send(ADMIN_ID, "海口防水专项竞赛")
    await client.wait_for(ADMIN_ID, has_button("跳过"))
    await client.press(ADMIN_ID, "跳过")
    await client.wait_for(ADMIN_ID, has_button("全省"))
    await client.press(ADMIN_ID, "海口")
    await client.wait_for(ADMIN_ID, has_button("立即开始"))
    await client.press(ADMIN_ID, "立即开始")
    await client.wait_for(ADMIN_ID, has_button("1 天"))
    await client.press(ADMIN_ID, "1 天")
    await client.wait_for(ADMIN_ID, has_button("20"))
    await client.send(ADMIN_ID, "15")
    await client.wait_for(ADMIN_ID, has_button("防水与渗漏"))
    await client.press(ADMIN_ID, "防水与渗漏")
    await client.wait_for(ADMIN_ID, has_button("☑ 防水与渗漏"))
    await client.press(ADMIN_ID, "完成")
    await client.wait_for(ADMIN_ID, has_button("30 秒"))
    await client.press(ADMIN_ID, "30 秒")
    await client.wait_for(ADMIN_ID, has_button("3 人"))
    await client.press(ADMIN_ID, "3 人")  # the minimum team size, asked since it decides who is ranked
    await client.wait_for(ADMIN_ID, has_button("不开启"))
    await client.press(ADMIN_ID, "不开启")
    await client.wait_for(ADMIN_ID, has_button("现场模式"))
    await client.press(ADMIN_ID, "自主答题")
    preview = await client.wait_text(ADMIN_ID, "请确认新建竞赛")
    assert "海口市" in preview["text"] and "防水与渗漏" in preview["text"] and "每人 15 题" in preview["text"]
    assert "达到 3 人的团队才排名" in preview["text"] and "模式：自主答题" in preview["text"]
    await client.press(ADMIN_ID, "确认创建")
    await client.wait_text(ADMIN_ID, "已创建")
    contest = bot.storage.contests()[0]
    assert (contest["title"], contest["question_count"], contest["regions"]) == ("海口防水专项竞赛", 15, '["海口市"]')

    await client.press(ADMIN_ID, "竞赛管理")
    await client.wait_for(ADMIN_ID, has_button("提前结束"))
    await client.press(ADMIN_ID, "提前结束")
    await client.wait_text(ADMIN_ID, "不可撤销")
    assert bot.storage.contest(contest["id"])["closed_at"] is None, "nothing happens before the confirmation"
    await client.press(ADMIN_ID, "确定结束")
    await client.wait_text(ADMIN_ID, "已结束")
    assert bot.storage.contest(contest["id"])["closed_at"] is not None


async def test_participants_cannot_manage_or_answer_for_others(bot):
    client = bot.client
    services = bot.runtime.services
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(title="质量月知识竞赛", starts_at=now, ends_at=now + timedelta(hours=1),
                                                   questions=2), None, organiser_id=ADMIN_ID)
    for user_id in (7, 8):
        await client.user(user_id, f"选手{user_id}")
        register(bot, user_id, None)
    await client.send(7, "/contests")
    await client.wait_text(7, "只有竞赛组织者")
    await start_contest(bot, 7, contest["id"])
    attempt, shown = current(bot, contest["id"], 7)
    await question_message(client, 7, 0)
    # user 8 replays user 7's button data in their own chat
    sandbox = bot.runtime.sandbox
    chat = sandbox.chat(8)
    forged = {"message_id": chat.next_message_id, "date": 0, "chat": chat.as_json(sandbox.users),
              "from": {"id": 123456, "is_bot": True, "first_name": "质量通"}, "text": "x",
              "reply_markup": {"inline_keyboard": [[{"text": "偷答", "callback_data": f"ca:{attempt['id']}:0:0"},
                                                    {"text": "偷关", "callback_data": f"oK:{contest['id']}"}]]}}
    sandbox.store_message(chat, forged)
    assert (await client.press(8, "偷答")).json()["answer"]["text"] == "该按钮已失效"
    assert "只有该竞赛的组织者" in (await client.press(8, "偷关")).json()["answer"]["text"]
    assert bot.storage.answers_of_attempt(attempt["id"]) == []
    assert bot.storage.contest(contest["id"])["closed_at"] is None
