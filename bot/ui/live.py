"""Live contests in chat: the host's panel, the question as a participant sees it, the wait for the host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.callbacks import Callback
from bot.contests import ShownQuestion
from bot.live import ENDED, LOBBY, PAUSED, QUESTION, REVEAL
from bot.quiz import LETTERS, TYPES
from bot.render import Button, Keyboard, escape
from bot.ui.contest import AnswerOption, Ranking, SubmitOptions
from bot.ui.menu import HOME
from bot.ui.organiser import BoardLink, LivePanel, ManageContest
from bot.ui.quiz import answer_keyboard, options_fit_buttons

HostAction = Literal["start", "next", "pause", "resume", "end"]


@dataclass(frozen=True)
class LiveControl(Callback, prefix="lc", feature="live"):
    """A host's move; `step` is the question number the host saw (0 in the lobby), so a late press changes nothing."""
    contest: int
    action: HostAction
    step: int


@dataclass(frozen=True)
class LiveTick(Callback, prefix="lt", feature="live"):
    """Ticking an option of a live 多选 question: told in the toast, not by editing the message, because with
    hundreds of phones an edit per tick would queue behind Telegram's 30 messages a second."""
    attempt: int
    position: int
    option: int


@dataclass(frozen=True)
class LiveEndAsk(Callback, prefix="le", feature="live"):
    """结束: asks for confirmation first."""
    contest: int


def host_panel(view: dict[str, Any], title: str, contest_id: int, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """What the host sees and may press; the moves follow the contest's state."""
    state, position, total = view["state"], view["position"], view["total"]
    step = position + 1
    lines = [f"🎤 <b>现场主持：{escape(title)}</b>", f"状态：{view['state_name']}"
             + (f" · 第 {step}/{total} 题" if position >= 0 else f" · 共 {total} 题"),
             f"已加入 {view['joined']} 人" + (f" · 本题已答 {view['answered']} 人" if position >= 0 else "")]
    if state == QUESTION:
        deadline = view["deadline"]
        lines.append(f"本题截止：{datetime.fromisoformat(deadline).astimezone(tz):%H:%M:%S}（北京时间）" if deadline
                     else "正在把题目发到每位参赛者的手机……")
    if state == REVEAL and view["question"] and view["distribution"] is not None:
        right = set(view["question"]["right"] or [])
        counts = "  ".join(f"{LETTERS[i]}{'✓' if i in right else ''} {n}" for i, n in enumerate(view["distribution"]))
        lines.append(f"作答分布：{counts}  未答 {view['no_answer']}")
    if state == PAUSED:
        lines.append("已暂停：参赛者等待中，点“继续”后再出下一题。")
    if state == LOBBY:
        lines.append("参赛者扫大屏二维码或在“答题竞赛”里加入；人齐后点“开始”。")
    if state == ENDED:
        lines.append("竞赛已结束，成绩和证书已发给参赛者。")
    keyboard: Keyboard = []
    last = step >= total
    if state == LOBBY:
        keyboard.append([Button("▶️ 开始（出第 1 题）", LiveControl(contest_id, "start", step))])
    elif state == REVEAL:
        keyboard.append([Button("⏭ 下一题", LiveControl(contest_id, "next", step))] if not last else
                        [Button("🏆 结束并颁奖", LiveControl(contest_id, "end", step))])
        keyboard.append([Button("⏸ 暂停", LiveControl(contest_id, "pause", step))])
    elif state == PAUSED:
        keyboard.append([Button("▶️ 继续", LiveControl(contest_id, "resume", step))])
    if state != ENDED and not (state == REVEAL and last):
        keyboard.append([Button("⏹ 结束竞赛", LiveEndAsk(contest_id))])
    keyboard.append([Button("🔄 刷新", LivePanel(contest_id)), Button("大屏链接", BoardLink(contest_id))])
    if state == ENDED:
        keyboard.append([Button("排行榜", Ranking(contest_id))])
    keyboard.append([Button("« 返回竞赛", ManageContest(contest_id)), HOME])
    return "\n".join(lines), keyboard


def end_question(title: str, contest_id: int, step: int) -> tuple[str, Keyboard]:
    return (f"确定结束“{escape(title)}”吗？结束后不能再出题，成绩和证书会发给每位参赛者。",
            [[Button("确认结束", LiveControl(contest_id, "end", step)), Button("取消", LivePanel(contest_id))]])


def question_screen(shown: ShownQuestion) -> tuple[str, Keyboard]:
    """The live question on a participant's phone: the deadline is the big screen's, the verdict comes as a toast."""
    lines = [f"<b>现场竞赛 · 第 {shown.position + 1}/{shown.total} 题</b> · {TYPES[shown.question.type]}",
             escape(shown.question.stem)]
    if not options_fit_buttons(shown.options):
        lines += [""] + [f"{LETTERS[i]}. {escape(option)}" for i, option in enumerate(shown.options)]
    if shown.question.type == "multiple":
        lines.append("\n（多选：逐个点选正确选项，已选的会在提示里显示，再点一次取消；选好后按“提交”）")
    lines.append(f"\n⏱ 限时 {shown.seconds} 秒：题目发到每个人后大屏幕开始倒计时，请在倒计时内作答，只算第一次作答。")
    return "\n".join(lines), answer_keyboard(AnswerOption, LiveTick, SubmitOptions, shown.attempt_id,
                                             shown.position, shown.question, shown.options, marks=False)


def ticked_text(ticked: set[int]) -> str:
    if not ticked:
        return "还没有选择选项。"
    return f"已选：{'、'.join(LETTERS[i] for i in sorted(ticked))}。选好后按“提交”。"


def waiting_text(title: str, state: str) -> str:
    if state == ENDED:
        return f"“{escape(title)}”已经结束。"
    return (f"✅ 已加入现场竞赛“{escape(title)}”。\n请看大屏幕：主持人出题后，题目会发到这里，"
            "所有人同时作答，截止时间以大屏幕倒计时为准。")
