"""The question-answering screens: answer cards, sections, suggestions, the topic browser (Simplified Chinese)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.callbacks import Callback
from bot.knowledge import KnowledgeBase, Topic, render_section, render_summary
from bot.qa import FEEDBACK_REASONS, Answer
from bot.render import Button, Keyboard, escape, grid
from bot.search.engine import Hit
from bot.ui.menu import HOME, home_row, main_menu_keyboard

# Short codes keep callback data within 64 bytes.
SectionCode = Literal["sy", "ca", "pr", "re", "st", "hn", "rl"]
SECTION_CODES: dict[str, str] = {"sy": "symptoms", "ca": "causes", "pr": "prevention", "re": "remedy",
                                 "st": "standards", "hn": "hainan", "rl": "related"}
CODE_OF = {section: code for code, section in SECTION_CODES.items()}


@dataclass(frozen=True)
class OpenTopic(Callback, prefix="t", feature="ask"):
    """A suggestion, a related topic or a browsed topic; `question` is the logged question it answers (0: none)."""
    topic: str
    question: int = 0


@dataclass(frozen=True)
class OpenSection(Callback, prefix="s", feature="ask"):
    topic: str
    section: SectionCode
    question: int = 0


@dataclass(frozen=True)
class Feedback(Callback, prefix="fb", feature="ask"):
    """👍 or 👎 under the card of `topic`, for the logged question it answers."""
    question: int
    helpful: bool
    topic: str


FeedbackReasonCode = Literal["off", "wrong", "unclear"]  # the keys of bot.qa.FEEDBACK_REASONS


@dataclass(frozen=True)
class FeedbackReason(Callback, prefix="fbr", feature="ask"):
    """Why the 👎: 答非所问, 内容有误 or 看不懂."""
    question: int
    reason: FeedbackReasonCode
    topic: str


@dataclass(frozen=True)
class NoneOfThese(Callback, prefix="nf", feature="ask"):
    question: int


@dataclass(frozen=True)
class Categories(Callback, prefix="cl", feature="ask"):
    """The list of categories."""


@dataclass(frozen=True)
class Category(Callback, prefix="c", feature="ask"):
    index: int
    page: int = 0
SECTION_LABELS = {"symptoms": "现象", "causes": "原因", "prevention": "预防措施", "remedy": "处理方法",
                  "standards": "规范依据", "hainan": "海南提示", "related": "相关问题"}

NOT_FOUND = ("知识库里暂时没有这个问题的确切答案，问题已记录，我们会尽快补充。\n"
             "您可以换个说法再问，或者按分类浏览。")
SUGGEST = "没有找到确切答案，您是不是想问："
PROBABLE = "如果说的不是这个，您是不是想问下面的问题？"
EMPTY_HINT = "请直接打字描述您遇到的质量问题，例如“墙面砖一敲咚咚响怎么办”。"
GREETING = "您好！我是质量通，有住宅工程质量问题可以直接问我，例如“卫生间漏水漏到楼下咋办”。"
THANKS = "不客气！还有问题随时问。"
NONE_OF_THESE = "好的，已记录，我们会补充这类问题。可以换个说法再问，或按分类浏览："


FEEDBACK_THANKS = "感谢反馈！"
FEEDBACK_ASK = "这条答案哪里不合适？请选一项，我们会据此改进："
FEEDBACK_ALREADY = "已经评价过了"


def feedback_row(question_id: int | None, topic_id: str) -> list[Button]:
    if not question_id:
        return []
    return [Button("👍 有用", Feedback(question_id, True, topic_id)),
            Button("👎 没用", Feedback(question_id, False, topic_id))]


def feedback_reasons(question_id: int, topic_id: str) -> tuple[str, Keyboard]:
    """The one question after a 👎."""
    buttons = [Button(label, FeedbackReason(question_id, code, topic_id)) for code, label in FEEDBACK_REASONS.items()]
    return FEEDBACK_ASK, [buttons, home_row()]


def feedback_alternatives(reason: str, hits: list[Hit], question_id: int) -> tuple[str, Keyboard]:
    """After the reason: thanks, and the other topics the matcher found for the question."""
    text = f"感谢反馈，已记录：{FEEDBACK_REASONS[reason]}。"
    if not hits:
        return text + "\n可以换个说法再问，或按分类浏览：", not_found_keyboard()
    keyboard = [[Button("🔎 " + hit.title, OpenTopic(hit.id, question_id))] for hit in hits]
    return text + "\n您要找的可能是下面的问题：", keyboard + not_found_keyboard()


def section_keyboard(topic: Topic, question_id: int | None) -> Keyboard:
    qid = question_id or 0
    sections = ["symptoms", "causes", "prevention", "remedy", "standards"]
    if topic.hainan:
        sections.append("hainan")
    sections.append("related")
    buttons = [Button(SECTION_LABELS[s], OpenSection(topic.id, CODE_OF[s], qid)) for s in sections]
    keyboard = grid(buttons, 3)
    row = feedback_row(question_id, topic.id)
    if row:
        keyboard.append(row)
    return keyboard


def answer_card(topic: Topic, question_id: int | None, section: str | None = None) -> tuple[str, Keyboard]:
    """The topic's summary, and the section the question asked for (处理方法 for 怎么处理) when it asked for one."""
    text = render_summary(topic)
    if section in SECTION_LABELS and section != "related":
        text += "\n\n" + render_section(topic, section if section != "hainan" or topic.hainan else "prevention")
    return text + "\n\n点下面的按钮查看详细内容：", section_keyboard(topic, question_id) + [home_row()]


def reply(kb: KnowledgeBase, answer: Answer) -> tuple[str, Keyboard]:
    """What a question gets, by the engine's verdict: a card, a card with 您是不是想问 beneath it when it is probable
    but not certain, suggestions in real doubt, the topic menu when the question is not about construction quality."""
    result = answer.result
    if result is None:  # a follow-up ("原因呢") on the last answer
        return section_card(kb, answer.topic, answer.section, answer.question_id)
    if result.verdict == "smalltalk":
        return (THANKS if result.normalised.thanks and not result.normalised.greeting else GREETING), \
            main_menu_keyboard()
    if result.verdict == "empty":
        return EMPTY_HINT, main_menu_keyboard()
    if answer.topic is not None:
        text, keyboard = answer_card(answer.topic, answer.question_id, answer.section)
        others = [hit for hit in result.hits[1:3] if hit.id != answer.topic.id]
        if result.verdict == "probable" and others:
            text += "\n\n" + PROBABLE
            keyboard = [[Button("🔎 " + hit.title, OpenTopic(hit.id, answer.question_id or 0))] for hit in others] \
                + keyboard
        return text, keyboard
    if result.verdict == "suggest" and result.hits:
        return suggestions(result.hits, answer.question_id)
    text, keyboard = categories(kb)
    return NOT_FOUND + "\n\n" + text, keyboard


def section_card(kb: KnowledgeBase, topic: Topic, section: str, question_id: int | None) -> tuple[str, Keyboard]:
    header = f"<b>{escape(topic.title)}</b>\n\n"
    if section == "related":
        related = [kb.topics[r] for r in topic.related if r in kb.topics]
        keyboard = [[Button(r.title, OpenTopic(r.id, question_id or 0))] for r in related]
        keyboard += section_keyboard(topic, question_id)
        return header + "<b>相关问题</b>（点击查看）：", keyboard + [home_row()]
    if section == "hainan" and not topic.hainan:
        section = "prevention"
    return header + render_section(topic, section), section_keyboard(topic, question_id) + [home_row()]


def suggestions(hits: list[Hit], question_id: int | None) -> tuple[str, Keyboard]:
    qid = question_id or 0
    keyboard = [[Button(hit.title, OpenTopic(hit.id, qid))] for hit in hits[:3]]
    keyboard.append([Button("都不是", NoneOfThese(qid)), HOME])
    return SUGGEST, keyboard


def categories(kb: KnowledgeBase) -> tuple[str, Keyboard]:
    buttons = [Button(f"{name}（{len(kb.by_category(name))}）", Category(index))
               for index, name in enumerate(kb.categories) if kb.by_category(name)]
    return "<b>按分类浏览知识库</b>\n也可以直接打字提问。请选择分类：", grid(buttons, 2) + [home_row()]


TOPICS_PER_PAGE = 10  # a category of any size stays within Telegram's 100 buttons a message


def category_topics(kb: KnowledgeBase, index: int, page: int = 0) -> tuple[str, Keyboard] | None:
    if not 0 <= index < len(kb.categories):
        return None
    name = kb.categories[index]
    topics = kb.by_category(name)
    pages = max(1, -(-len(topics) // TOPICS_PER_PAGE))
    if page >= pages:
        return None
    shown = topics[page * TOPICS_PER_PAGE:(page + 1) * TOPICS_PER_PAGE]
    keyboard = [[Button(topic.title, OpenTopic(topic.id))] for topic in shown]
    turn = ([Button("‹ 上一页", Category(index, page - 1))] if page else []) + \
        ([Button("下一页 ›", Category(index, page + 1))] if page + 1 < pages else [])
    if turn:
        keyboard.append(turn)
    keyboard.append([Button("« 返回分类", Categories()), HOME])
    counter = f"（第 {page + 1}/{pages} 页）" if pages > 1 else ""
    return f"<b>{escape(name)}</b>{counter}：请选择问题", keyboard


def not_found_keyboard() -> Keyboard:
    return [[Button("按分类浏览", Categories()), HOME]]
