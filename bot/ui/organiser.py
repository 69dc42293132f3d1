"""Contest organisers' screens: their contests, managing one, the creation wizard and editing before the start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.accounts import REGIONS
from bot.callbacks import Callback
from bot.contest_flags import FlaggedQuestion
from bot.contest_setup import MODES
from bot.contests import ContestSpec
from bot.quiz import LETTERS, TYPES, QuizQuestion
from bot.render import Button, Keyboard, escape, grid
from bot.ui.contest import Ranking
from bot.ui.menu import HOME, home_row
from bot.ui.results import QuestionStats

EditableField = Literal["title", "description", "starts_at", "ends_at", "questions", "seconds_per_question",
                        "min_team_size"]
EDITABLE: dict[str, str] = {"title": "标题", "description": "说明", "starts_at": "开始时间", "ends_at": "结束时间",
                            "questions": "题数", "seconds_per_question": "每题限时（秒）",
                            "min_team_size": "团队最少参赛人数"}


@dataclass(frozen=True)
class MyContests(Callback, prefix="org", feature="organiser"):
    pass


@dataclass(frozen=True)
class ManageContest(Callback, prefix="om", feature="organiser"):
    contest: int


@dataclass(frozen=True)
class ContestFlags(Callback, prefix="of", feature="organiser"):
    contest: int


@dataclass(frozen=True)
class FlagDetail(Callback, prefix="ofq", feature="organiser"):
    """One flagged question: its options, right answer and 标记已处理."""
    contest: int
    question: str


@dataclass(frozen=True)
class ResolveFlag(Callback, prefix="ofr", feature="organiser"):
    contest: int
    question: str


@dataclass(frozen=True)
class BoardLink(Callback, prefix="ob", feature="organiser"):
    contest: int


@dataclass(frozen=True)
class LivePanel(Callback, prefix="lh", feature="live"):
    """A live contest's host panel (opened from the contest's management screen, or 刷新); see bot/ui/live.py."""
    contest: int


@dataclass(frozen=True)
class ExportResults(Callback, prefix="ox", feature="organiser"):
    contest: int
    format: Literal["x", "c"]


@dataclass(frozen=True)
class EditContest(Callback, prefix="oe", feature="organiser"):
    contest: int


@dataclass(frozen=True)
class EditField(Callback, prefix="oF", feature="organiser"):
    contest: int
    field: EditableField


@dataclass(frozen=True)
class CloseContest(Callback, prefix="ok", feature="organiser"):
    """Asks for confirmation."""
    contest: int


@dataclass(frozen=True)
class CloseConfirmed(Callback, prefix="oK", feature="organiser"):
    contest: int


@dataclass(frozen=True)
class NewContest(Callback, prefix="on", feature="organiser"):
    pass


# --- the creation wizard's buttons ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WizardSkip(Callback, prefix="ncs", feature="organiser"):
    pass


@dataclass(frozen=True)
class WizardRegion(Callback, prefix="ncr", feature="organiser"):
    index: int


@dataclass(frozen=True)
class WizardProvince(Callback, prefix="ncp", feature="organiser"):
    pass


@dataclass(frozen=True)
class WizardNow(Callback, prefix="ncn", feature="organiser"):
    pass


@dataclass(frozen=True)
class WizardHours(Callback, prefix="nch", feature="organiser"):
    hours: int


@dataclass(frozen=True)
class WizardCount(Callback, prefix="ncc", feature="organiser"):
    count: int


@dataclass(frozen=True)
class WizardCategory(Callback, prefix="nck", feature="organiser"):
    index: int


@dataclass(frozen=True)
class WizardCategoriesDone(Callback, prefix="ncd", feature="organiser"):
    pass


@dataclass(frozen=True)
class WizardSeconds(Callback, prefix="ncx", feature="organiser"):
    seconds: int


@dataclass(frozen=True)
class WizardTeamSize(Callback, prefix="ncm", feature="organiser"):
    size: int


@dataclass(frozen=True)
class WizardBonus(Callback, prefix="ncb", feature="organiser"):
    on: bool


@dataclass(frozen=True)
class WizardMode(Callback, prefix="ncl", feature="organiser"):
    live: bool


@dataclass(frozen=True)
class WizardConfirm(Callback, prefix="ncy", feature="organiser"):
    create: bool


NOT_ORGANISER = "只有竞赛组织者或管理员可以使用这个功能。"
DURATIONS = [("1 小时", 1), ("半天", 4), ("1 天", 24), ("3 天", 72), ("7 天", 168)]
TEAM_SIZES = (1, 2, 3, 5)


def time_hint(example: str) -> str:
    return f"可以写“明天上午9点”“后天下午3点半”“12月20日 9:00”，或“{example}”（北京时间）。"


def contests_screen(contests: list[dict[str, Any]], status_of) -> tuple[str, Keyboard]:
    keyboard = [[Button(f"{c['title']}（{status_of(c)}）", ManageContest(c["id"]))] for c in contests[:20]]
    keyboard.append([Button("➕ 新建竞赛", NewContest())])
    keyboard.append(home_row())
    return "<b>竞赛管理</b>" + ("" if contests else "\n还没有竞赛。"), keyboard


def manage_screen(contest: dict[str, Any], status: str, participants: int, flags: int) -> tuple[str, Keyboard]:
    contest_id = contest["id"]
    text = (f"<b>{escape(contest['title'])}</b>（{status}{'，现场模式' if contest['mode'] == 'live' else ''}）\n参赛 {participants} 人，纠错反馈 {flags} 条\n"
            f"团队参赛人数达到 {contest['min_team_size']} 人才参加团队排名。")
    keyboard = [[Button("🎤 现场主持（出题、暂停、结束）", LivePanel(contest_id))]] if contest["mode"] == "live" else []
    keyboard += [[Button("排行榜", Ranking(contest_id)), Button("纠错反馈", ContestFlags(contest_id))],
                [Button("📊 题目统计（正确率、选项分布）", QuestionStats(contest_id))],
                [Button("大屏排行榜链接和二维码", BoardLink(contest_id))],
                [Button("导出 Excel", ExportResults(contest_id, "x")), Button("导出 CSV", ExportResults(contest_id, "c"))]]
    if status == "未开始":
        keyboard.append([Button("修改", EditContest(contest_id))])
    if status != "已结束":
        keyboard.append([Button("提前结束", CloseContest(contest_id))])
    keyboard.append([Button("« 竞赛管理", MyContests()), HOME])
    return text, keyboard


def back_to(contest_id: int) -> Keyboard:
    return [[Button("« 返回竞赛", ManageContest(contest_id)), HOME]]


def flags_screen(contest: dict[str, Any], rows: list[tuple[int, str, QuizQuestion | None]]) -> tuple[str, Keyboard]:
    """The questions participants marked as wrong, most flagged first; each opens with its answer."""
    lines = [f"<b>{escape(contest['title'])} 纠错反馈</b>"]
    if rows:
        lines.append("参赛者认为下面的题目有误。点题目查看选项和正确答案，核实后标记已处理。")
    for count, question_id, question in rows[:30]:
        lines.append(f"• {count} 人：[{question_id}] {escape(question.stem) if question else '（题目已不在题库中）'}")
    if not rows:
        lines.append("暂无待处理的纠错反馈。")
    keyboard = [[Button(f"{count} 人 · {question.stem[:18] if question else question_id}",
                        FlagDetail(contest["id"], question_id))] for count, question_id, question in rows[:20]]
    return "\n".join(lines), keyboard + back_to(contest["id"])


def flag_screen(contest: dict[str, Any], flagged: FlaggedQuestion) -> tuple[str, Keyboard]:
    question = flagged.question
    lines = [f"<b>{escape(contest['title'])} 纠错反馈</b>",
             f"{flagged.count} 人认为这道题有误（题号 {escape(flagged.question_id)}）", ""]
    if question is None:
        lines.append("这道题已不在题库中，无需处理题目本身。")
    else:
        lines += [f"【{TYPES[question.type]}】{escape(question.stem)}", ""]
        lines += [f"{'✅' if index in question.answer else '▫️'} {LETTERS[index]}. {escape(option)}"
                  for index, option in enumerate(question.options)]
        lines += ["", f"正确答案：{question.answer_letters}", f"解析：{escape(question.explanation or '无')}"]
        if question.file:
            lines.append(f"题库位置：{escape(question.file)} 第 {question.line} 行")
    lines += ["", "核实或修改题库后，点“标记已处理”，这道题就不再出现在纠错列表里。"]
    contest_id = contest["id"]
    return "\n".join(lines), [[Button("✅ 标记已处理", ResolveFlag(contest_id, flagged.question_id))],
                              [Button("« 返回", ContestFlags(contest_id)), HOME]]


def close_question(contest: dict[str, Any]) -> tuple[str, Keyboard]:
    return (f"确定要提前结束“{escape(contest['title'])}”吗？结束后不能再答题，此操作不可撤销。",
            [[Button("确定结束", CloseConfirmed(contest["id"])), Button("取消", ManageContest(contest["id"]))]])


def edit_menu(contest: dict[str, Any]) -> tuple[str, Keyboard]:
    buttons = [Button(label, EditField(contest["id"], key)) for key, label in EDITABLE.items()]
    return (f"修改“{escape(contest['title'])}”：请选择要修改的项目。",
            grid(buttons, 2) + [[Button("« 返回竞赛", ManageContest(contest["id"]))]])


# --- the wizard ----------------------------------------------------------------------------------------------

def region_step() -> tuple[str, Keyboard]:
    buttons = [Button("全省", WizardProvince())] + [Button(short, WizardRegion(i)) for i, (_, short) in enumerate(REGIONS)]
    return "第 3 步：竞赛面向哪里的参赛者？", grid(buttons, 4)


def start_step(example: str) -> tuple[str, Keyboard]:
    return "第 4 步：什么时候开始？点“立即开始”，或发送开始时间。" + time_hint(example), \
        [[Button("立即开始", WizardNow())]]


def duration_step() -> tuple[str, Keyboard]:
    return "第 5 步：竞赛持续多久？（也可以直接发送结束时间）", \
        [[Button(label, WizardHours(hours)) for label, hours in DURATIONS]]


def count_step() -> tuple[str, Keyboard]:
    return "第 6 步：每人答几道题？（也可以发送 1–100 的数字）", [[Button(str(n), WizardCount(n)) for n in (10, 20, 30)]]


def category_step(categories: list[str], chosen: list[str]) -> tuple[str, Keyboard]:
    buttons = [Button(("☑ " if name in chosen else "☐ ") + name, WizardCategory(i)) for i, name in enumerate(categories)]
    return "第 7 步：从哪些分类出题？可多选。", grid(buttons, 2) + [[Button("完成（不选即全部题库）", WizardCategoriesDone())]]


def seconds_step() -> tuple[str, Keyboard]:
    return "第 8 步：每题限时多少秒？", [[Button(f"{n} 秒", WizardSeconds(n)) for n in (20, 30, 60)]]


def team_size_step() -> tuple[str, Keyboard]:
    return ("第 9 步：一个团队至少有几人参赛才参加团队排名？（人数不够的团队照样显示，但不排名）",
            [[Button(f"{n} 人", WizardTeamSize(n)) for n in TEAM_SIZES]])


def bonus_step() -> tuple[str, Keyboard]:
    return "第 10 步：是否开启速度加分（答对且答得快，每题最多再加 5 分）？", \
        [[Button("开启", WizardBonus(True)), Button("不开启", WizardBonus(False))]]


def mode_step() -> tuple[str, Keyboard]:
    return ("第 11 步：怎么答题？\n• <b>自主答题</b>：在开放时间内每人随时开始，按自己的节奏答题。\n"
            "• <b>现场模式</b>：适合活动现场和大屏幕。主持人逐题出题，所有人同时作答，大屏显示作答分布、"
            "前五名和颁奖台；开放时间是主持人可以出题的时段。",
            [[Button("自主答题", WizardMode(False)), Button("现场模式", WizardMode(True))]])


def preview(spec: ContestSpec, available: int, tz: ZoneInfo) -> tuple[str, Keyboard]:
    text = (f"<b>请确认新建竞赛</b>\n名称：{escape(spec.title)}\n说明：{escape(spec.description or '无')}\n"
            f"范围：{escape('、'.join(spec.regions) if spec.regions else '全省')}\n"
            f"时间：{_local(spec.starts_at, tz)} 至 {_local(spec.ends_at, tz)}\n"
            f"题目：每人 {spec.questions} 题，每题 {spec.seconds_per_question} 秒，"
            f"速度加分{'开启' if spec.speed_bonus else '关闭'}\n"
            f"团队排名：参赛达到 {spec.min_team_size} 人的团队才排名\n"
            f"模式：{MODES[spec.mode]}\n"
            f"出题分类：{escape('、'.join(spec.categories) if spec.categories else '全部')}（可选题 {available} 道）")
    return text, [[Button("确认创建", WizardConfirm(True)), Button("取消", WizardConfirm(False))]]


def created(contest: dict[str, Any]) -> tuple[str, Keyboard]:
    return (f"竞赛“{escape(contest['title'])}”已创建。参赛者在主菜单“答题竞赛”里就能看到。",
            [[Button("竞赛管理", ManageContest(contest["id"])), HOME]])


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}"
