"""A scripted worker asks, opens sections, follows up and gives feedback; curators see the gaps; groups stay quiet."""

from bot.cli import main
from bot.qa import find_gaps
from tests.helpers import ADMIN_ID, has_button

USER = 2001


async def test_ask_sections_followup_feedback_and_gaps(bot, monkeypatch, capsys):
    client = bot.client
    await client.user(USER, "陈工")
    await client.send(USER, "卫生间漏水漏到楼下咋办")
    card = await client.wait_for(USER, has_button("处理方法"))
    assert "卫生间厨房楼地面渗漏" in card["text"]
    assert (await client.press(USER, "原因")).status_code == 200
    causes = await client.wait_for(USER, lambda m: m["edited"] and "原因" in m["text"])
    assert causes["message_id"] == card["message_id"]
    after = await client.last_id(USER)
    await client.send(USER, "那怎么预防")
    await client.wait_text(USER, "预防措施", after=after)
    after = await client.last_id(USER)
    assert (await client.press(USER, "👎")).status_code == 200
    why = await client.wait_text(USER, "哪里不合适", after=after)
    assert why["buttons"][0] == ["答非所问", "内容有误", "看不懂"] and "主菜单" in why["buttons"][-1][-1]
    assert (await client.press(USER, "👎")).json()["answer"]["text"] == "已经评价过了"
    sandbox = bot.runtime.sandbox
    chat = sandbox.chats[USER]
    unanswered = dict(chat.messages[why["message_id"]])
    assert (await client.press(USER, "答非所问", message_id=why["message_id"])).json()["answer"]["text"] == "感谢反馈！"
    offered = await client.wait_for(USER, lambda m: m["edited"] and "已记录：答非所问" in m["text"], after=after)
    alternatives = [row[0] for row in offered["buttons"] if row[0].startswith("🔎 ")]
    assert alternatives and "卫生间厨房楼地面渗漏" not in " ".join(alternatives), "the card turned down is not offered"
    await client.press(USER, alternatives[0], message_id=offered["message_id"])
    title = alternatives[0].removeprefix("🔎 ")
    await client.wait_for(USER, lambda m: m["text"].startswith(title) and has_button("处理方法")(m),
                          after=offered["message_id"])
    sandbox.store_message(chat, unanswered)  # the question's buttons pressed again, as from a second device
    again = await client.press(USER, "内容有误", message_id=why["message_id"])
    assert again.json()["answer"]["text"] == "已经评价过了"
    row = bot.storage.db.execute("SELECT feedback, feedback_reason FROM questions WHERE feedback IS NOT NULL").fetchall()
    assert row == [(-1, "off")], "logged once, with the first reason"

    after = await client.last_id(USER)
    await client.send(USER, "股票怎么买才能赚钱")
    reply = await client.wait_for(USER, lambda m: "没有" in m["text"], after=after)
    if reply["buttons"] and any("都不是" in b for row in reply["buttons"] for b in row):
        await client.press(USER, "都不是")

    groups = find_gaps(bot.storage)
    examples = [g.example for g in groups]
    assert "卫生间漏水漏到楼下咋办" in examples and "股票怎么买才能赚钱" in examples
    logged = bot.storage.db.execute("SELECT COUNT(*), SUM(latency_ms > 0) FROM questions").fetchone()
    assert logged == (2, 2)

    monkeypatch.setenv("QB_DB", str(bot.config.db_path))
    assert main(["kb", "gaps"]) == 0
    report = capsys.readouterr().out
    line = next(line for line in report.splitlines() if "卫生间漏水漏到楼下咋办" in line)
    assert "答非所问×1" in line


async def test_suggestions_and_topic_browser(bot):
    client = bot.client
    await client.user(USER, "陈工")
    await client.send(USER, "空鼓")
    suggestions = await client.wait_text(USER, "您是不是想问")
    assert len(suggestions["buttons"]) == 4 and suggestions["buttons"][-1][0] == "都不是"
    first = suggestions["buttons"][0][0]
    await client.press(USER, first)
    await client.wait_for(USER, lambda m: m["text"].startswith(first), after=suggestions["message_id"])
    after = await client.last_id(USER)
    await client.send(USER, "/topics")
    await client.wait_text(USER, "按分类浏览知识库", after=after)
    await client.press(USER, "海南地域")
    await client.wait_for(USER, has_button("白蚁预防"))
    await client.press(USER, "白蚁预防")
    await client.wait_for(USER, lambda m: "白蚁" in m["text"] and any("海南提示" in b for r in m["buttons"] for b in r))


async def test_greetings_hostile_text_and_html_are_handled(bot):
    client = bot.client
    await client.user(USER, "陈工")
    for text, expected in [("你好", "我是质量通"), ("谢谢", "不客气"), ("😀😀😀", "请直接打字"),
                           ("<script>alert(1)</script> 卫生间漏水", ""), ("漏" * 4000, ""), ("\x00\x07", "")]:
        after = await client.last_id(USER)
        await client.send(USER, text)
        reply = await client.wait_text(USER, expected, after=after)
        assert "<script>" not in (reply["html"] or "")


async def test_group_chat_answers_only_when_addressed(bot):
    client = bot.client
    group = -100500
    await client.user(USER, "陈工")
    await client.send(USER, "卫生间漏水怎么办", chat_id=group, chat_title="海棠湾项目部群")
    await client.send(USER, "/ask 地漏返臭咋整", chat_id=group)
    answered = await client.wait_text(group, "地漏")
    await client.send(USER, "@qualitybot_sandbox_bot 外墙渗水怎么办", chat_id=group)
    await client.wait_text(group, "外墙", after=answered["message_id"])
    texts = [m["text"] for m in await client.messages(group)]
    assert not any("卫生间厨房楼地面渗漏" in t for t in texts), "an unaddressed group message was answered"


async def test_reload_refuses_a_broken_knowledge_base(bot, tmp_path):
    client = bot.client
    await client.user(ADMIN_ID, "管理员")
    await client.user(USER, "陈工")
    await client.send(USER, "/reload")
    await client.wait_text(USER, "只有管理员")
    await client.send(ADMIN_ID, "/reload")
    await client.wait_text(ADMIN_ID, "知识库已重新加载：85 个主题")
