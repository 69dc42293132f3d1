"""每日练习 as people see it: the practice menu, questions without a clock, the summary, statistics, 每日一题."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.callbacks import Callback
from bot.knowledge import KnowledgeBase
from bot.practice import DAILY_TIMES, CategoryStat, PracticeQuestion
from bot.render import Button, Keyboard, escape, grid
from bot.ui.menu import HOME, Menu, home_row
from bot.ui.quiz import answer_keyboard, feedback_keyboard, feedback_text, question_text

DailyTime = Literal["0700", "1200", "1800", "2000", "off"]  # DAILY_TIMES without the colon, or off


@dataclass(frozen=True)
class PracticeCategories(Callback, prefix="pc", feature="practice"):
    pass


@dataclass(frozen=True)
class PracticeRandom(Callback, prefix="pr", feature="practice"):
    """Ten questions from the whole bank."""


@dataclass(frozen=True)
class PracticeCategory(Callback, prefix="pp", feature="practice"):
    index: int


@dataclass(frozen=True)
class WrongBook(Callback, prefix="pw", feature="practice"):
    pass


@dataclass(frozen=True)
class PracticeAnswer(Callback, prefix="pa", feature="practice"):
    session: int
    position: int
    option: int


@dataclass(frozen=True)
class PracticeToggle(Callback, prefix="pt", feature="practice"):
    session: int
    position: int
    option: int


@dataclass(frozen=True)
class PracticeSubmit(Callback, prefix="px", feature="practice"):
    session: int
    position: int


@dataclass(frozen=True)
class PracticeStats(Callback, prefix="ps", feature="practice"):
    pass


@dataclass(frozen=True)
class DailySettings(Callback, prefix="pd", feature="practice"):
    pass


@dataclass(frozen=True)
class DailyChoose(Callback, prefix="pD", feature="practice"):
    time: DailyTime


BACK = Button("« 返回每日练习", Menu("practice"))


def header(item: PracticeQuestion) -> str:
    if item.kind == "daily":
        return "每日一题"
    label = "错题重练" if item.kind == "wrongbook" else "练习"
    return f"{label} {item.position + 1}/{item.total}"


def question_screen(item: PracticeQuestion, toggled: set[int] | None = None) -> tuple[str, Keyboard]:
    text = question_text(header(item), item.question, item.options, None, None, None)
    return text, answer_keyboard(PracticeAnswer, PracticeToggle, PracticeSubmit, item.session_id, item.position,
                                 item.question, item.options, toggled)


def menu(waiting: int, daily: dict | None) -> tuple[str, Keyboard]:
    daily_text = f"每天 {daily['at_time']}，已连续 {daily['streak']} 天" if daily and daily["enabled"] else "未开启"
    text = (f"<b>每日练习</b>\n不限时，答完马上看解析。答错的题进入错题本，连续答对两次才移出。\n"
            f"错题本：{waiting} 题 · 每日一题：{daily_text}")
    keyboard = [[Button("随机 10 题", PracticeRandom()), Button("按分类练习", PracticeCategories())],
                [Button(f"错题本（{waiting}）", WrongBook()), Button("我的统计", PracticeStats())],
                [Button("每日一题设置", DailySettings())], home_row()]
    return text, keyboard


def categories(names: list[str]) -> tuple[str, Keyboard]:
    keyboard = grid([Button(name, PracticeCategory(index)) for index, name in enumerate(names)], 2)
    return "请选择要练习的分类：", keyboard + [[BACK, HOME]]


def feedback(kb: KnowledgeBase, item: PracticeQuestion, correct: bool, streak: int | None) -> tuple[str, Keyboard]:
    text = feedback_text(header(item), item.question, item.options, item.right_display,
                         "right" if correct else "wrong", None)
    if streak is not None:
        text += f"\n\n🔥 每日一题已连续 {streak} 天"
    return text, feedback_keyboard(kb, item.question)


def summary(right: int, total: int) -> tuple[str, Keyboard]:
    keyboard = [[Button("再来 10 题", PracticeRandom()), Button("错题本", WrongBook())],
                [Button("我的统计", PracticeStats()), BACK], home_row()]
    return f"练习完成：答对 {right}/{total} 题。", keyboard


def statistics(answered: int, correct: int, per_category: list[CategoryStat]) -> tuple[str, Keyboard]:
    lines = ["<b>我的练习统计</b>"]
    if answered == 0:
        lines.append("还没有练习记录。")
    else:
        lines.append(f"共答 {answered} 题，正确率 {correct / answered:.0%}")
        lines += [f"• {escape(s.category)}：{s.answered} 题，正确率 {s.accuracy:.0%}" for s in per_category]
    return "\n".join(lines), [[BACK, HOME]]


def daily_settings() -> tuple[str, Keyboard]:
    buttons = [Button(t, DailyChoose(t.replace(":", ""))) for t in DAILY_TIMES] + [Button("关闭", DailyChoose("off"))]
    text = "每日一题：每天在您选的时间推送一道题（优先从错题本里出），连续答题计入打卡天数。请选择时间："
    return text, grid(buttons, 5) + [[BACK, HOME]]
