"""Screens of contests and practice: questions, feedback, results, rankings (Simplified Chinese, Telegram HTML)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.knowledge import KnowledgeBase
from bot.leaderboard import Leaderboard
from bot.quiz import BUTTON_OPTION_LIMIT, LETTERS, TYPES, QuizQuestion
from bot.render import Button, Keyboard, callback, escape

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


def answer_keyboard(prefix: str, ref: int, position: int, question: QuizQuestion, options: list[str],
                    toggled: set[int] | None = None) -> Keyboard:
    """Option buttons (A/B/C/D alone when an option is too long for a button); toggles and 提交 for 多选."""
    short = all(len(option) <= BUTTON_OPTION_LIMIT for option in options)
    rows: Keyboard = []
    for index, option in enumerate(options):
        label = f"{LETTERS[index]}. {option}" if short else LETTERS[index]
        if question.type == "multiple":
            mark = MARK_ON if toggled and index in toggled else MARK_OFF
            rows.append([Button(f"{mark} {label}", callback(prefix + "t", ref, position, index))])
        else:
            rows.append([Button(label, callback(prefix + "a", ref, position, index))])
    if question.type == "multiple":
        rows.append([Button("提交", callback(prefix + "x", ref, position))])
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
    return [[Button(f"📖 查看知识：{topic.title}", callback("t", topic.id, 0))]] if topic is not None else []


PREVIOUS_HEADER = "上一题"
DIVIDER = "\n\n——————————\n\n"


def previous_keyboard(kb: KnowledgeBase, question: QuizQuestion, flag_data: str) -> Keyboard:
    """One row under the next question: the last question's topic and 答题纠错, apart from the answer buttons."""
    topic = kb.get(question.topic)
    row = [Button("📖 上一题知识", callback("t", topic.id, 0))] if topic is not None else []
    return [row + [Button("上一题纠错", flag_data)]]


def contest_card(contest: dict[str, Any], status: str, attempt: dict[str, Any] | None, tz: ZoneInfo) -> tuple[str, Keyboard]:
    starts = datetime.fromisoformat(contest["starts_at"]).astimezone(tz)
    ends = datetime.fromisoformat(contest["ends_at"]).astimezone(tz)
    text = (f"<b>{escape(contest['title'])}</b>（{status}）\n{escape(contest['description'])}\n\n"
            f"时间：{starts:%m月%d日 %H:%M} 至 {ends:%m月%d日 %H:%M}\n"
            f"题量：每人 {contest['question_count']} 题，每题限时 {contest['seconds_per_question']} 秒\n"
            f"计分：答对一题 10 分{'，答得快另加最多 5 分' if contest['speed_bonus'] else ''}；同分按用时排名\n"
            "每人只有一次机会，中途退出可以回来继续。")
    keyboard: Keyboard = []
    if attempt is None and status == "进行中":
        keyboard.append([Button("开始答题", callback("cs", contest["id"]))])
    elif attempt is not None and not attempt["finished_at"] and status == "进行中":
        keyboard.append([Button("继续答题", callback("cs", contest["id"]))])
    keyboard.append([Button("排行榜", callback("cr", contest["id"]))])
    return text, keyboard


def contest_list(contests: list[dict[str, Any]]) -> tuple[str, Keyboard]:
    if not contests:
        return "现在没有进行中的竞赛。可以先去“每日练习”热热身。", [[Button("每日练习", callback("menu", "practice"))]]
    keyboard = [[Button(contest["title"], callback("co", contest["id"]))] for contest in contests[:20]]
    return "<b>进行中的竞赛</b>，点击查看并参加：", keyboard


def result_text(attempt: dict[str, Any], board: Leaderboard) -> str:
    total = len(json.loads(attempt["plan"]))
    lines = ["🏁 <b>答题结束！</b>",
             f"得分：{attempt['score']:g} 分（答对 {attempt['correct']}/{total} 题，用时 {seconds_text(attempt['time_ms'])}）"]
    place = board.place_of(attempt["user_id"])
    if place:
        lines.append(f"个人排名：第 {place.rank} / {board.participants} 名（实时，比赛结束前还会变化）")
    team = board.team_place(attempt["team_id"])
    if team is not None:
        standing = f"第 {team.rank} 名" if team.ranked else "未达最少人数，暂不排名"
        lines.append(f"团队：{escape(team.name)} {standing}（平均 {team.mean_score:g} 分，{team.participants} 人参与）")
    return "\n".join(lines)


def ranking_text(board: Leaderboard, user_id: int | None, top: int = 10) -> str:
    lines = [f"<b>{escape(board.title)} 排行榜</b>（{board.participants} 人参与）", "", "<b>个人前十</b>"]
    if not board.individuals:
        lines.append("还没有人答题。")
    for row in board.individuals[:top]:
        team = f"（{escape(row.team)}）" if row.team else ""
        lines.append(f"{row.rank}. {escape(row.name)}{team} {row.score:g} 分 · {seconds_text(row.time_ms)}")
    ranked = [t for t in board.teams if t.ranked]
    lines += ["", "<b>团队排名</b>（按人均分）"]
    if not ranked:
        lines.append("暂无达到最少参赛人数的团队。")
    for row in ranked[:top]:
        rate = f" · 参与率 {row.participation_rate:.0%}" if row.participation_rate is not None else ""
        lines.append(f"{row.rank}. {escape(row.name)} {row.mean_score:g} 分 · {row.participants} 人{rate}")
    below = [t for t in board.teams if not t.ranked]
    if below:
        lines.append("未达最少人数：" + "、".join(f"{escape(t.name)}（{t.participants}人）" for t in below[:10]))
    place = board.place_of(user_id) if user_id else None
    if place:
        lines += ["", f"你的名次：第 {place.rank} 名，{place.score:g} 分"]
    return "\n".join(lines)
