"""每日练习 as people see it: the practice menu, questions without a clock, the summary, the 错题本, statistics,
每日一题 and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.callbacks import Callback
from bot.knowledge import KnowledgeBase
from bot.practice import DAILY_TIMES, SESSION_SIZE, CategoryStat, DailyStatus, PracticeQuestion, PracticeSummary
from bot.quiz import QuizQuestion
from bot.render import Button, Keyboard, escape, grid
from bot.ui.menu import HOME, Menu, home_row
from bot.ui.quiz import (answer_keyboard, choice_text, feedback_keyboard, feedback_text, question_text, shorten,
                         topic_buttons)

DailyTime = Literal["0700", "1200", "1800", "2000", "off"]  # DAILY_TIMES without the colon, or off
DailyOrigin = Literal["practice", "notice", "me"]  # the screen 每日一题设置 was opened from, and goes back to
STEM_SHORT = 30      # a stem in a list
OPTION_SHORT = 16    # an option in the summary's list
TOPIC_SHORT = 14     # a topic title on a button


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
    """The 错题本's first page."""


@dataclass(frozen=True)
class WrongBookPage(Callback, prefix="pwp", feature="practice"):
    page: int


@dataclass(frozen=True)
class WrongBookDrill(Callback, prefix="pwd", feature="practice"):
    """开始练习: the questions of the page shown."""
    page: int


@dataclass(frozen=True)
class PracticeEnd(Callback, prefix="pe", feature="practice"):
    """结束: the round stops here and its summary is shown."""
    session: int


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
    origin: DailyOrigin = "practice"


@dataclass(frozen=True)
class DailyChoose(Callback, prefix="pD", feature="practice"):
    time: DailyTime
    origin: DailyOrigin = "practice"


BACK = Button("« 返回每日练习", Menu("practice"))


def header(item: PracticeQuestion) -> str:
    if item.kind == "daily":
        return "每日一题"
    label = "错题重练" if item.kind == "wrongbook" else "练习"
    return f"{label} {item.position + 1}/{item.total}"


def question_screen(item: PracticeQuestion, toggled: set[int] | None = None) -> tuple[str, Keyboard]:
    """The question; a round (not 每日一题) can be ended at any question."""
    text = question_text(header(item), item.question, item.options, None, None, None)
    keyboard = answer_keyboard(PracticeAnswer, PracticeToggle, PracticeSubmit, item.session_id, item.position,
                               item.question, item.options, toggled)
    if item.kind != "daily":
        keyboard.append([Button("结束", PracticeEnd(item.session_id))])
    return text, keyboard


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


def feedback(kb: KnowledgeBase, item: PracticeQuestion, correct: bool, chosen: tuple[int, ...],
             streak: int | None) -> tuple[str, Keyboard]:
    """The answer: what was chosen beside the right one, the explanation, the topic to read."""
    text = feedback_text(header(item), item.question, item.options, item.right_display,
                         "right" if correct else "wrong", None, chosen)
    keyboard = feedback_keyboard(kb, item.question)
    if streak is not None:
        text += f"\n\n🔥 每日一题已连续 {streak} 天"
        keyboard.append([BACK, HOME])  # 每日一题 is one question: no next question follows
    return text, keyboard


def again_button(kb: KnowledgeBase, done: PracticeSummary) -> Button:
    """再练一组 of the same kind: the same category, the 错题本, or ten random questions."""
    if done.kind == "wrongbook":
        return Button("再练一组", WrongBookDrill(0))
    if done.category in kb.categories:
        return Button("再练一组", PracticeCategory(kb.categories.index(done.category)))
    return Button("再练一组", PracticeRandom())


def summary(kb: KnowledgeBase, done: PracticeSummary) -> tuple[str, Keyboard]:
    """答对 x/y, then each wrong question (stem, own answer, right answer) with a button to its topic."""
    if done.complete:
        lines = [f"<b>练习完成</b>：答对 {done.right}/{done.planned} 题。"]
    else:
        lines = [f"<b>练习结束</b>：本组 {done.planned} 题，已答 {done.answered} 题，答对 {done.right} 题。"]
    topics: dict[str, list[int]] = {}
    if done.missed:
        where = "仍在错题本里" if done.kind == "wrongbook" else "已收进错题本"
        lines += ["", f"<b>答错的题</b>（{where}，点下方按钮复习知识点）："]
        for missed in done.missed:
            question, number = missed.question, missed.position + 1
            yours = choice_text(missed.chosen, list(question.options), OPTION_SHORT) or "未选"
            right = choice_text(sorted(question.answer), list(question.options), OPTION_SHORT)
            lines += [f"{number}. {escape(shorten(question.stem, STEM_SHORT))}", f"　您选 {yours} · 正确 {right}"]
            topics.setdefault(question.topic, []).append(number)
    elif done.answered:
        lines += ["", "全部答对，继续保持！"]
    keyboard = topic_buttons(kb, topics, TOPIC_SHORT)
    keyboard += [[again_button(kb, done), Button("错题本", WrongBook())], [BACK, HOME]]
    return "\n".join(lines), keyboard


def wrongbook(questions: list[QuizQuestion], page: int) -> tuple[str, Keyboard]:
    """The 错题本 before any drill: how many, which (paged), 开始练习 for the page shown."""
    if not questions:
        return ("<b>错题本</b>\n错题本是空的，继续保持！练习中答错的题会自动收进来，连续答对两次才移出。",
                [[Button("随机 10 题", PracticeRandom())], [BACK, HOME]])
    pages = (len(questions) + SESSION_SIZE - 1) // SESSION_SIZE
    page = min(max(page, 0), pages - 1)
    shown = questions[page * SESSION_SIZE:(page + 1) * SESSION_SIZE]
    lines = [f"<b>错题本</b>：共 {len(questions)} 题（连续答对两次才移出）"]
    if pages > 1:
        lines[0] += f"，第 {page + 1}/{pages} 页"
    lines.append("")
    lines += [f"{page * SESSION_SIZE + i + 1}. {escape(shorten(q.stem, STEM_SHORT))}" for i, q in enumerate(shown)]
    keyboard: Keyboard = [[Button(f"开始练习（{len(shown)} 题）", WrongBookDrill(page))]]
    turns = ([Button("‹ 上一页", WrongBookPage(page - 1))] if page > 0 else []) + \
            ([Button("下一页 ›", WrongBookPage(page + 1))] if page + 1 < pages else [])
    if turns:
        keyboard.append(turns)
    return "\n".join(lines), keyboard + [[BACK, HOME]]


def statistics(answered: int, correct: int, per_category: list[CategoryStat]) -> tuple[str, Keyboard]:
    lines = ["<b>我的练习统计</b>"]
    if answered == 0:
        lines.append("还没有练习记录。")
    else:
        lines.append(f"共答 {answered} 题，正确率 {correct / answered:.0%}")
        lines += [f"• {escape(s.category)}：{s.answered} 题，正确率 {s.accuracy:.0%}" for s in per_category]
    return "\n".join(lines), [[BACK, HOME]]


def daily_back(origin: DailyOrigin) -> Button:
    if origin == "notice":
        from bot.ui.announce import NoticeSettings  # announce imports this module for its 每日一题 button

        return Button("« 返回订阅设置", NoticeSettings())
    if origin == "me":
        return Button("« 返回我的", Menu("me"))
    return BACK


def day_word(status: DailyStatus) -> str:
    days = (status.next_push.date() - status.today).days if status.next_push else -1
    return {0: "今天", 1: "明天"}.get(days, f"{status.next_push:%m月%d日}" if status.next_push else "")


def daily_settings(status: DailyStatus, origin: DailyOrigin = "practice") -> tuple[str, Keyboard]:
    """The time of 每日一题 (the one chosen ticked), when the next one comes, and the way back to where it was
    opened; choosing a time comes back here."""
    lines = ["<b>每日一题</b>", "每天在您选的时间（北京时间）推送一道题，优先从错题本里出，连续答题计入打卡天数。", ""]
    if status.enabled and status.next_push is not None:
        lines.append(f"当前：每天 {status.at_time} 推送，已连续 {status.streak} 天")
        lines.append(f"下一次推送：{day_word(status)} {status.next_push:%H:%M}")
    else:
        lines.append("当前：未开启。请选择推送时间：")
    buttons = [Button(("✅ " if status.enabled and t == status.at_time else "") + t,
                      DailyChoose(t.replace(":", ""), origin)) for t in DAILY_TIMES]
    if status.enabled:
        buttons.append(Button("关闭", DailyChoose("off", origin)))
    return "\n".join(lines), grid(buttons, 5) + [[daily_back(origin), HOME]]
