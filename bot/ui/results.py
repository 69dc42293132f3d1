"""After a contest: the certificate's message, a participant's review of their answers, and per-question statistics
for its organiser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.callbacks import Callback
from bot.certificate import certificate_heading
from bot.contest_results import Certificate
from bot.contest_review import Access, Review, ReviewItem, page_of
from bot.contest_stats import QuestionBreakdown
from bot.knowledge import KnowledgeBase
from bot.leaderboard import format_points
from bot.quiz import TYPES
from bot.render import Button, Keyboard, escape
from bot.ui.ask import OpenTopic
from bot.ui.contest import ContestCard, ContestReview, Ranking
from bot.ui.menu import HOME
from bot.ui.quiz import choice_text, topic_buttons


@dataclass(frozen=True)
class QuestionStats(Callback, prefix="oqs", feature="organiser"):
    """题目统计 of a contest, one page of questions (weakest first)."""
    contest: int
    page: int = 0


PAGE_SIZE = 5
STEM_LIMIT, OPTION_LIMIT, TOPIC_LIMIT, EXPLANATION_LIMIT = 80, 24, 14, 120


# --- certificates ---------------------------------------------------------------------------------------------

def certificate_caption(certificate: Certificate, at_the_end: bool) -> str:
    opening = (f"🏁 “{escape(certificate.facts.title)}”已经结束，感谢您的参与！这是您的{certificate_heading(certificate)}："
               if at_the_end else f"🏅 您在“{escape(certificate.facts.title)}”的{certificate_heading(certificate)}：")
    return (f"{opening}\n得分 {format_points(certificate.score)} 分，个人第 {certificate.rank} 名"
            f"（共 {certificate.participants} 人）。长按图片可以保存或转发。")


def certificate_text(certificate: Certificate) -> str:
    """The certificate in words, where no picture can be drawn (no Chinese font on the server)."""
    team = f"\n团队：{escape(certificate.team)}" if certificate.team else ""
    return (f"🏅 <b>{certificate_heading(certificate)}</b>\n{escape(certificate.name)}{team}\n"
            f"竞赛：{escape(certificate.facts.title)}\n得分：{format_points(certificate.score)} 分"
            f"（答对 {certificate.correct}/{certificate.questions} 题）\n"
            f"名次：第 {certificate.rank} 名 / 共 {certificate.participants} 人\n"
            f"日期：{certificate.facts.dates}\n组织者：{escape(certificate.facts.organiser)}")


def certificate_keyboard(contest_id: int) -> Keyboard:
    return [[Button("排行榜", Ranking(contest_id)), HOME]]


# --- per-question statistics ----------------------------------------------------------------------------------

def _cut(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _percent(share: float) -> str:
    return f"{share:.0%}"


def question_block(number: int, stat: QuestionBreakdown) -> list[str]:
    kind = f"【{TYPES[stat.kind]}】" if stat.kind in TYPES else ""
    timed_out = f"，超时 {stat.timed_out} 人" if stat.timed_out else ""
    lines = [f"<b>{number}. 正确率 {_percent(stat.correct_rate)}</b>（{stat.correct}/{stat.answered} 人答对{timed_out}）",
             f"{kind}{escape(_cut(stat.stem, STEM_LIMIT))}"]
    for option in stat.options:
        mark = "✅" if option.right else "▫️"
        text = f"{option.letter}. {escape(_cut(option.text, OPTION_LIMIT))}" if option.text else option.letter
        lines.append(f"{mark} {text} — {option.chosen} 人（{_percent(stat.share(option.chosen))}）")
    return lines


def stats_screen(contest: dict[str, Any], stats: list[QuestionBreakdown], page: int, kb: KnowledgeBase,
                 back: Keyboard) -> tuple[str, Keyboard]:
    """One page of questions, weakest first, each with a button opening its knowledge topic."""
    title = f"<b>{escape(contest['title'])} · 题目统计</b>"
    if not stats:
        return f"{title}\n还没有人作答，暂无题目统计。", back
    pages = (len(stats) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    first = page * PAGE_SIZE
    lines = [title, f"{len(stats)} 道题有人作答，按正确率从低到高排列（第 {page + 1}/{pages} 页）。"
                    "正确率低的题目，可以作为下次培训的重点；点下面的按钮查看对应知识。"]
    keyboard: Keyboard = []
    for number, stat in enumerate(stats[first:first + PAGE_SIZE], start=first + 1):
        lines += [""] + question_block(number, stat)
        topic = kb.get(stat.topic) if stat.topic else None
        if topic is not None:
            keyboard.append([Button(f"📖 第{number}题 · {_cut(topic.title, TOPIC_LIMIT)}", OpenTopic(topic.id))])
    paging = []
    if page > 0:
        paging.append(Button("‹ 上一页", QuestionStats(contest["id"], page - 1)))
    if page + 1 < pages:
        paging.append(Button("下一页 ›", QuestionStats(contest["id"], page + 1)))
    return "\n".join(lines), keyboard + ([paging] if paging else []) + back


# --- 答题回顾: the participant's own answers -------------------------------------------------------------------

REVIEW_REFUSED: dict[Access, str] = {
    "not_yours": "这是别人的答题记录，只有参赛者本人可以查看。",
    "answering": "您还在答题中。答完并且竞赛结束后，才能查看答题回顾。",
    "running": "为免答案外传，竞赛结束（或组织者提前结束）后才能查看答题回顾，届时再点这个按钮。",
    "empty": "您没有在这场竞赛中作答，没有可回顾的题目。",
}
VERDICTS = {"right": "✅ 回答正确", "wrong": "❌ 回答错误", "timeout": "⏰ 超时未作答"}


def review_block(item: ReviewItem) -> list[str]:
    """One question: verdict, stem, their answer and the right one in the letters they saw, the explanation."""
    verdict = VERDICTS["timeout" if item.timed_out else "right" if item.correct else "wrong"]
    gained = f" +{format_points(item.points)} 分" if item.correct else ""
    head = f"<b>第 {item.number} 题</b> {verdict}{gained}"
    question = item.question
    if question is None:
        yours = "未作答" if item.timed_out else (item.chosen_letters or "未选")
        return [head, "（这道题已从题库中删除）", f"您选了：{yours}"]
    kind = f"【{TYPES[question.type]}】" if question.type in TYPES else ""
    options = list(item.options)
    yours = "未作答（超时）" if item.timed_out else (choice_text(item.chosen, options, OPTION_LIMIT) or "未选")
    lines = [head, f"{kind}{escape(_cut(question.stem, STEM_LIMIT))}", f"您选了：{yours}",
             f"正确答案：{choice_text(item.right, options, OPTION_LIMIT)}"]
    if question.explanation:
        lines.append(f"解析：{escape(_cut(question.explanation, EXPLANATION_LIMIT))}")
    return lines


def review_screen(review: Review, page: int, kb: KnowledgeBase) -> tuple[str, Keyboard]:
    """One page of the review, a 📖 button per knowledge topic of the page's questions, paging, the way back."""
    contest, attempt = review.contest, review.attempt
    shown = page_of(len(review.items), page)
    items = review.items[shown.first:shown.last]
    pages = f"（第 {shown.number + 1}/{shown.pages} 页）" if shown.pages > 1 else ""
    lines = [f"<b>{escape(contest['title'])} · 答题回顾</b>",
             f"得分 {format_points(attempt['score'])} 分，答对 {review.correct}/{len(review.items)} 题{pages}。"
             "点下方 📖 按钮复习对应知识。"]
    topics: dict[str, list[int]] = {}
    for item in items:
        lines += [""] + review_block(item)
        if item.question is not None:
            topics.setdefault(item.question.topic, []).append(item.number)
    keyboard = topic_buttons(kb, topics, TOPIC_LIMIT)
    paging = []
    if shown.number > 0:
        paging.append(Button("‹ 上一页", ContestReview(attempt["id"], shown.number - 1)))
    if shown.number + 1 < shown.pages:
        paging.append(Button("下一页 ›", ContestReview(attempt["id"], shown.number + 1)))
    keyboard += ([paging] if paging else []) + [[Button("« 返回竞赛", ContestCard(contest["id"])), HOME]]
    return "\n".join(lines), keyboard
