"""The question-answering screens: answer cards, sections, suggestions, the topic browser (Simplified Chinese)."""

from __future__ import annotations

from bot.knowledge import KnowledgeBase, Topic, render_section, render_summary
from bot.render import Button, Keyboard, callback, escape, grid
from bot.search.engine import Hit

# Short codes keep callback data within 64 bytes.
SECTION_CODES = {"sy": "symptoms", "ca": "causes", "pr": "prevention", "re": "remedy", "st": "standards",
                 "hn": "hainan", "rl": "related"}
CODE_OF = {section: code for code, section in SECTION_CODES.items()}
SECTION_LABELS = {"symptoms": "现象", "causes": "原因", "prevention": "预防措施", "remedy": "处理方法",
                  "standards": "规范依据", "hainan": "海南提示", "related": "相关问题"}

NOT_FOUND = ("知识库里暂时没有这个问题的确切答案，问题已记录，我们会尽快补充。\n"
             "您可以换个说法再问，或者按分类浏览：")
SUGGEST = "没有找到确切答案，您是不是想问："
EMPTY_HINT = "请直接打字描述您遇到的质量问题，例如“墙面砖一敲咚咚响怎么办”。"
GREETING = "您好！我是质量通，有住宅工程质量问题可以直接问我，例如“卫生间漏水漏到楼下咋办”。"
THANKS = "不客气！还有问题随时问。"
NONE_OF_THESE = "好的，已记录，我们会补充这类问题。可以换个说法再问，或按分类浏览："


def feedback_row(question_id: int | None) -> list[Button]:
    if not question_id:
        return []
    return [Button("👍 有用", callback("fb", question_id, 1)), Button("👎 没用", callback("fb", question_id, 0))]


def section_keyboard(topic: Topic, question_id: int | None) -> Keyboard:
    qid = question_id or 0
    sections = ["symptoms", "causes", "prevention", "remedy", "standards"]
    if topic.hainan:
        sections.append("hainan")
    sections.append("related")
    buttons = [Button(SECTION_LABELS[s], callback("s", topic.id, CODE_OF[s], qid)) for s in sections]
    keyboard = grid(buttons, 3)
    row = feedback_row(question_id)
    if row:
        keyboard.append(row)
    return keyboard


def answer_card(topic: Topic, question_id: int | None) -> tuple[str, Keyboard]:
    text = render_summary(topic) + "\n\n点下面的按钮查看详细内容："
    return text, section_keyboard(topic, question_id)


def section_card(kb: KnowledgeBase, topic: Topic, section: str, question_id: int | None) -> tuple[str, Keyboard]:
    header = f"<b>{escape(topic.title)}</b>\n\n"
    if section == "related":
        related = [kb.topics[r] for r in topic.related if r in kb.topics]
        keyboard = [[Button(r.title, callback("t", r.id, question_id or 0))] for r in related]
        keyboard += section_keyboard(topic, question_id)
        return header + "<b>相关问题</b>（点击查看）：", keyboard
    if section == "hainan" and not topic.hainan:
        section = "prevention"
    return header + render_section(topic, section), section_keyboard(topic, question_id)


def suggestions(hits: list[Hit], question_id: int | None) -> tuple[str, Keyboard]:
    qid = question_id or 0
    keyboard = [[Button(hit.title, callback("t", hit.id, qid))] for hit in hits[:3]]
    keyboard.append([Button("都不是", callback("nf", qid))])
    return SUGGEST, keyboard


def categories(kb: KnowledgeBase) -> tuple[str, Keyboard]:
    buttons = [Button(f"{name}（{len(kb.by_category(name))}）", callback("c", index))
               for index, name in enumerate(kb.categories) if kb.by_category(name)]
    return "<b>按分类浏览知识库</b>\n也可以直接打字提问。请选择分类：", grid(buttons, 2)


def category_topics(kb: KnowledgeBase, index: int) -> tuple[str, Keyboard] | None:
    if not 0 <= index < len(kb.categories):
        return None
    name = kb.categories[index]
    keyboard = [[Button(topic.title, callback("t", topic.id, 0))] for topic in kb.by_category(name)]
    keyboard.append([Button("« 返回分类", callback("c", "all"))])
    return f"<b>{escape(name)}</b>：请选择问题", keyboard


def not_found_keyboard() -> Keyboard:
    return [[Button("按分类浏览", callback("c", "all"))]]
