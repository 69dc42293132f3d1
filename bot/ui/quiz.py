"""Quiz questions as contests and practice both show them: the question, its option buttons, the feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from bot.callbacks import Callback
from bot.knowledge import KnowledgeBase
from bot.quiz import BUTTON_OPTION_LIMIT, LETTERS, TYPES, QuizQuestion
from bot.render import Button, Keyboard, escape
from bot.ui.ask import OpenTopic

MARK_ON, MARK_OFF = "☑", "☐"


def seconds_text(milliseconds: int) -> str:
    seconds = round(milliseconds / 1000)
    return f"{seconds // 60}分{seconds % 60}秒" if seconds >= 60 else f"{seconds}秒"


def question_text(header: str, question: QuizQuestion, options: list[str], deadline: datetime | None,
                  seconds: int | None, tz: ZoneInfo) -> str:
    lines = [f"<b>{escape(header)}</b> · {TYPES[question.type]}", escape(question.stem), ""]
    lines += [f"{LETTERS[i]}. {escape(option)}" for i, option in enumerate(options)]
    if question.type == "multiple":
        lines.append("\n（多选：点选全部正确选项后按“提交”）")
    if deadline is not None:
        lines.append(f"\n⏱ 限时 {seconds} 秒，请在 {deadline.astimezone(tz):%H:%M:%S} 前作答")
    return "\n".join(lines)


OptionButton = Callable[[int, int, int], Callback]  # (attempt or session, position, option) -> the button
SubmitButton = Callable[[int, int], Callback]


def answer_keyboard(answer: OptionButton, toggle: OptionButton, submit: SubmitButton, ref: int, position: int,
                    question: QuizQuestion, options: list[str], toggled: set[int] | None = None) -> Keyboard:
    """Option buttons (A/B/C/D alone when an option is too long for a button); toggles and 提交 for 多选."""
    short = all(len(option) <= BUTTON_OPTION_LIMIT for option in options)
    rows: Keyboard = []
    for index, option in enumerate(options):
        label = f"{LETTERS[index]}. {option}" if short else LETTERS[index]
        if question.type == "multiple":
            mark = MARK_ON if toggled and index in toggled else MARK_OFF
            rows.append([Button(f"{mark} {label}", toggle(ref, position, index))])
        else:
            rows.append([Button(label, answer(ref, position, index))])
    if question.type == "multiple":
        rows.append([Button("提交", submit(ref, position))])
    if not short:
        rows = _compact(rows)
    return rows


def _compact(rows: Keyboard) -> Keyboard:
    """Letter-only buttons fit side by side."""
    letters = [row[0] for row in rows if not row[0].label.startswith("提交")]
    rest = [row for row in rows if row[0].label.startswith("提交")]
    return [letters, *rest]


def feedback_text(header: str, question: QuizQuestion, options: list[str], right: list[int], status: str,
                  points: float | None) -> str:
    """points is None in untimed practice, where nothing is scored."""
    gained = f" +{points:g} 分" if points is not None else ""
    verdict = {"right": f"✅ 回答正确{gained}", "wrong": "❌ 回答错误", "timeout": "⏰ 时间到，本题 0 分"}[status]
    answer = "；".join(f"{LETTERS[i]}. {escape(options[i])}" for i in right)
    return (f"<b>{escape(header)}</b> {verdict}\n{escape(question.stem)}\n\n"
            f"正确答案：{answer}\n解析：{escape(question.explanation)}")


def feedback_keyboard(kb: KnowledgeBase, question: QuizQuestion) -> Keyboard:
    """Under a practice answer: the topic the question comes from."""
    topic = kb.get(question.topic)
    return [[Button(f"📖 查看知识：{topic.title}", OpenTopic(topic.id))]] if topic is not None else []
