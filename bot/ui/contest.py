"""Contests as participants see them: the list, a contest's card, questions, results, the ranking."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.callbacks import Callback
from bot.contests import ShownQuestion
from bot.knowledge import KnowledgeBase
from bot.leaderboard import Leaderboard, format_points, unranked_note
from bot.render import Button, Keyboard, escape
from bot.ui.ask import OpenTopic
from bot.ui.menu import HOME, Menu, home_row
from bot.ui.quiz import answer_keyboard, feedback_text, question_text, seconds_text


@dataclass(frozen=True)
class ContestCard(Callback, prefix="co", feature="contest"):
    contest: int


@dataclass(frozen=True)
class StartContest(Callback, prefix="cs", feature="contest"):
    """开始答题 / 继续答题."""
    contest: int


@dataclass(frozen=True)
class AnswerOption(Callback, prefix="ca", feature="contest"):
    attempt: int
    position: int
    option: int


@dataclass(frozen=True)
class ToggleOption(Callback, prefix="ct", feature="contest"):
    attempt: int
    position: int
    option: int


@dataclass(frozen=True)
class SubmitOptions(Callback, prefix="cx", feature="contest"):
    attempt: int
    position: int


@dataclass(frozen=True)
class FlagQuestion(Callback, prefix="cf", feature="contest"):
    """答题纠错 on a question already answered."""
    attempt: int
    position: int


@dataclass(frozen=True)
class Ranking(Callback, prefix="cr", feature="contest"):
    contest: int


@dataclass(frozen=True)
class RankingPicture(Callback, prefix="cp", feature="contest"):
    contest: int


@dataclass(frozen=True)
class ContestCertificate(Callback, prefix="cc", feature="contest"):
    """The participant's own certificate, once the contest has ended."""
    contest: int


@dataclass(frozen=True)
class ContestReview(Callback, prefix="cv", feature="contest"):
    """答题回顾 of the participant's own attempt, one page; `new`: in a message of its own (from the result, which
    stays in the chat), else in place (paging, the card)."""
    attempt: int
    page: int = 0
    new: bool = False


WARNING_SECONDS = 10
CERTIFICATE_LABEL = "🏅 我的证书"
REVIEW_LABEL = "📝 答题回顾"
CERTIFICATE_LATER = "竞赛结束后才发证书，届时会自动发给您。"
PREVIOUS_HEADER = "上一题"
DIVIDER = "\n\n——————————\n\n"


def question_screen(shown: ShownQuestion, tz: ZoneInfo, toggled: set[int] | None = None,
                    warning: bool = False) -> tuple[str, Keyboard]:
    text = question_text(f"第 {shown.position + 1}/{shown.total} 题", shown.question, shown.options, shown.deadline,
                         shown.seconds, tz)
    if warning:
        text += f"\n⏳ <b>还剩 {WARNING_SECONDS} 秒！</b>"
    keyboard = answer_keyboard(AnswerOption, ToggleOption, SubmitOptions, shown.attempt_id, shown.position,
                               shown.question, shown.options, toggled)
    return text, keyboard


def previous_screen(kb: KnowledgeBase, shown: ShownQuestion, status: str, points: float,
                    chosen: tuple[int, ...] = ()) -> tuple[str, Keyboard]:
    """How the last answer went (what was chosen beside the right answer), shown above the next question (one
    message per answer); its row of buttons: the last question's topic and 答题纠错, apart from the answer buttons."""
    text = feedback_text(PREVIOUS_HEADER, shown.question, shown.options, shown.right_display, status, points, chosen)
    topic = kb.get(shown.question.topic)
    row = [Button("📖 上一题知识", OpenTopic(topic.id))] if topic is not None else []
    return text + DIVIDER, [row + [Button("上一题纠错", FlagQuestion(shown.attempt_id, shown.position))]]


def contest_card(contest: dict[str, Any], status: str, attempt: dict[str, Any] | None, tz: ZoneInfo) -> tuple[str, Keyboard]:
    starts = datetime.fromisoformat(contest["starts_at"]).astimezone(tz)
    ends = datetime.fromisoformat(contest["ends_at"]).astimezone(tz)
    live = contest["mode"] == "live"
    text = (f"<b>{escape(contest['title'])}</b>（{status}）\n{escape(contest['description'])}\n\n"
            f"时间：{starts:%m月%d日 %H:%M} 至 {ends:%m月%d日 %H:%M}\n"
            f"题量：{'共' if live else '每人'} {contest['question_count']} 题，每题限时 {contest['seconds_per_question']} 秒\n"
            f"计分：答对一题 10 分{'，答得快另加最多 5 分' if contest['speed_bonus'] else ''}；同分按用时排名\n"
            + ("现场模式：主持人逐题出题，所有人同时作答，请看大屏幕。加入后题目会发到这里。" if live else
               "每人只有一次机会，中途退出可以回来继续。"))
    keyboard: Keyboard = []
    if attempt is None and status == "进行中":
        keyboard.append([Button("加入现场竞赛" if live else "开始答题", StartContest(contest["id"]))])
    elif attempt is not None and not attempt["finished_at"] and status == "进行中":
        keyboard.append([Button("回到现场竞赛" if live else "继续答题", StartContest(contest["id"]))])
    elif attempt is not None and attempt["position"] > 0 and status == "已结束":
        keyboard.append([Button(CERTIFICATE_LABEL, ContestCertificate(contest["id"])),
                         Button(REVIEW_LABEL, ContestReview(attempt["id"]))])
    if attempt is not None and attempt["finished_at"] and status != "已结束":  # pressed: says it opens at the end
        keyboard.append([Button(REVIEW_LABEL, ContestReview(attempt["id"]))])
    keyboard.append([Button("排行榜", Ranking(contest["id"])), Button("« 竞赛列表", Menu("contest")), HOME])
    return text, keyboard


def contest_list(contests: list[dict[str, Any]]) -> tuple[str, Keyboard]:
    if not contests:
        return "现在没有进行中的竞赛。可以先去“每日练习”热热身。", [[Button("每日练习", Menu("practice")), HOME]]
    keyboard = [[Button(contest["title"], ContestCard(contest["id"]))] for contest in contests[:20]]
    return "<b>进行中的竞赛</b>，点击查看并参加：", keyboard + [home_row()]


def result_keyboard(contest_id: int, attempt_id: int) -> Keyboard:
    return [[Button(CERTIFICATE_LABEL, ContestCertificate(contest_id)),
             Button(REVIEW_LABEL, ContestReview(attempt_id, new=True))],
            [Button("排行榜", Ranking(contest_id)), Button("« 竞赛列表", Menu("contest")), HOME]]


def ranking_keyboard(contest_id: int | None) -> Keyboard:
    rows = [[Button("📊 排行榜图片", RankingPicture(contest_id))]] if contest_id is not None else []
    return rows + [[Button("« 竞赛列表", Menu("contest")), HOME]]


def result_text(attempt: dict[str, Any], board: Leaderboard) -> str:
    total = len(json.loads(attempt["plan"]))
    lines = ["🏁 <b>答题结束！</b>",
             f"得分：{format_points(attempt['score'])} 分（答对 {attempt['correct']}/{total} 题，用时 {seconds_text(attempt['time_ms'])}）"]
    place = board.place_of(attempt["user_id"])
    if place:
        lines.append(f"个人排名：第 {place.rank} / {board.participants} 名（实时，比赛结束前还会变化）")
    team = board.team_place(attempt["team_id"])
    if team is not None:
        standing = f"第 {team.rank} 名" if team.ranked else "未达最少人数，暂不排名"
        lines.append(f"团队：{escape(team.name)} {standing}（平均 {format_points(team.mean_score)} 分，{team.participants} 人参与）")
    return "\n".join(lines)


def ranking_text(board: Leaderboard, user_id: int | None, top: int = 10) -> str:
    lines = [f"<b>{escape(board.title)} 排行榜</b>（{board.participants} 人参与）", "", "<b>个人前十</b>"]
    if not board.individuals:
        lines.append("还没有人答题。")
    for row in board.individuals[:top]:
        team = f"（{escape(row.team)}）" if row.team else ""
        lines.append(f"{row.rank}. {escape(row.name)}{team} {format_points(row.score)} 分 · {seconds_text(row.time_ms)}")
    ranked = [t for t in board.teams if t.ranked]
    lines += ["", "<b>团队排名</b>（按人均分）"]
    if not ranked:
        lines.append("暂无达到最少参赛人数的团队。")
    for row in ranked[:top]:
        rate = f" · 参与率 {row.participation_rate:.0%}" if row.participation_rate is not None else ""
        lines.append(f"{row.rank}. {escape(row.name)} {format_points(row.mean_score)} 分 · {row.participants} 人{rate}")
    below = [t for t in board.teams if not t.ranked]
    if below:
        lines.append("不排名的团队：" + "、".join(f"{escape(t.name)}（{unranked_note(t, board.min_team_size)}）"
                                            for t in below[:10]))
    place = board.place_of(user_id) if user_id else None
    if place:
        lines += ["", f"您的名次：第 {place.rank} 名，{format_points(place.score)} 分"]
    return "\n".join(lines)
