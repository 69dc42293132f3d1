"""Quiz questions as contests and practice both show them: the question, its option buttons, the feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from bot.callbacks import Callback
from bot.knowledge import KnowledgeBase
from bot.quiz import LETTERS, TYPES, QuizQuestion, options_fit_buttons
from bot.render import Button, Keyboard, escape
from bot.ui.ask import OpenTopic

MARK_ON, MARK_OFF = "☑", "☐"


def seconds_text(milliseconds: int) -> str:
    seconds = round(milliseconds / 1000)
    return f"{seconds // 60}分{seconds % 60}秒" if seconds >= 60 else f"{seconds}秒"


def question_text(header: str, question: QuizQuestion, options: list[str], deadline: datetime | None,
                  seconds: int | None, tz: ZoneInfo) -> str:
    """The stem; the options only when they are too long for the buttons (each option is shown once)."""
    lines = [f"<b>{escape(header)}</b> · {TYPES[question.type]}", escape(question.stem)]
    if not options_fit_buttons(options):
        lines += [""] + [f"{LETTERS[i]}. {escape(option)}" for i, option in enumerate(options)]
    if question.type == "multiple":
        lines.append("\n（多选：点选全部正确选项后按“提交”）")
    if deadline is not None:
        lines.append(f"\n⏱ 限时 {seconds} 秒，请在 {deadline.astimezone(tz):%H:%M:%S} 前作答")
    return "\n".join(lines)


OptionButton = Callable[[int, int, int], Callback]  # (attempt or session, position, option) -> the button
SubmitButton = Callable[[int, int], Callback]


def answer_keyboard(answer: OptionButton, toggle: OptionButton, submit: SubmitButton, ref: int, position: int,
                    question: QuizQuestion, options: list[str], toggled: set[int] | None = None,
                    marks: bool = True) -> Keyboard:
    """Option buttons: "A. 全文" one per row when every option fits a button, else A/B/C/D side by side (the
    text is then in the message); toggles (☐/☑ unless `marks` is off) and 提交 for 多选."""
    on_buttons = options_fit_buttons(options)
    buttons = []
    for index, option in enumerate(options):
        label = f"{LETTERS[index]}. {option}" if on_buttons else LETTERS[index]
        if question.type == "multiple":
            mark = (MARK_ON if toggled and index in toggled else MARK_OFF) + " " if marks else ""
            buttons.append(Button(f"{mark}{label}", toggle(ref, position, index)))
        else:
            buttons.append(Button(label, answer(ref, position, index)))
    rows: Keyboard = [[button] for button in buttons] if on_buttons else [buttons]
    if question.type == "multiple":
        rows.append([Button("提交", submit(ref, position))])
    return rows


def choice_text(indexes: list[int] | tuple[int, ...], options: list[str], limit: int | None = None) -> str:
    """B. 选项全文；C. … (each option cut to `limit` characters when given)."""
    return "；".join(f"{LETTERS[i]}. {escape(shorten(options[i], limit) if limit else options[i])}"
                    for i in sorted(indexes))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def feedback_text(header: str, question: QuizQuestion, options: list[str], right: list[int], status: str,
                  points: float | None, chosen: list[int] | tuple[int, ...] = ()) -> str:
    """points is None in untimed practice, where nothing is scored; a wrong answer shows what was chosen
    above the right answer."""
    gained = f" +{points:g} 分" if points is not None else ""
    verdict = {"right": f"✅ 回答正确{gained}", "wrong": "❌ 回答错误", "timeout": "⏰ 时间到，本题 0 分"}[status]
    yours = f"您选了：{choice_text(chosen, options)}\n" if status == "wrong" and chosen else ""
    return (f"<b>{escape(header)}</b> {verdict}\n{escape(question.stem)}\n\n"
            f"{yours}正确答案：{choice_text(right, options)}\n解析：{escape(question.explanation)}")


def topic_buttons(kb: KnowledgeBase, numbers_by_topic: dict[str, list[int]], title_limit: int) -> Keyboard:
    """A 📖 button per knowledge topic naming the questions that come from it (📖 第1、3题：卫生间渗漏), under a list
    of questions: the practice summary, the contest review."""
    rows: Keyboard = []
    for topic_id, numbers in numbers_by_topic.items():
        topic = kb.get(topic_id)
        if topic is not None:
            label = f"📖 第{'、'.join(map(str, numbers))}题：{shorten(topic.title, title_limit)}"
            rows.append([Button(label, OpenTopic(topic.id))])
    return rows


def feedback_keyboard(kb: KnowledgeBase, question: QuizQuestion) -> Keyboard:
    """Under a practice answer: the topic the question comes from."""
    topic = kb.get(question.topic)
    return [[Button(f"📖 查看知识：{topic.title}", OpenTopic(topic.id))]] if topic is not None else []
