"""Leaderboard pictures for the chat: a 16:9 PNG bar chart of the best teams, or of the best individuals.

Drawn with matplotlib's object API on an Agg canvas, never pyplot's global state, so it is safe from worker
threads. A picture is only made when a CJK font covers every character to be drawn; otherwise the caller sends
the leaderboard as text, so nobody ever sees missing-glyph boxes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from fontTools.ttLib import TTFont  # noqa: E402
from fontTools.ttLib.ttFont import TTLibError  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from bot.leaderboard import IndividualRow, Leaderboard, TeamRow  # noqa: E402

PACKAGED_FONT_FILE = "NotoSansCJKtc-Regular.otf"
CJK_FAMILIES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "WenQuanYi", "Droid Sans Fallback", "SimHei",
                "Microsoft YaHei", "PingFang", "Heiti", "AR PL")
CJK_PROBE = "团队个人排行榜"  # a font without these is no use, whatever its family name says

NAME_LIMIT = 16
TITLE_LIMIT = 28
ELLIPSIS = "…"

FIGURE_SIZE_IN = (12.8, 7.2)  # 1280x720 at DPI: 16:9, what Telegram shows without cropping
DPI = 100
MIN_BAR_SLOTS = 5  # a short list keeps slim bars instead of a few fat ones
BAR_COLOR = "#1f4e79"
LEADER_COLOR = "#c0392b"
INK = "#111111"
MUTED = "#444444"


@dataclass(frozen=True)
class Bar:
    rank: int
    name: str
    value: float
    caption: str


@dataclass(frozen=True)
class ChartContent:
    title: str
    subtitle: str
    bars: list[Bar]

    def all_text(self) -> str:
        pieces = [self.title, self.subtitle]
        for bar in self.bars:
            pieces += [str(bar.rank), bar.name, bar.caption]
        return "".join(pieces)


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> Path | None:
    """The shipped Noto Sans CJK if installed, else the best system CJK font matplotlib knows; None if neither."""
    candidates = [_packaged_font(), *_system_cjk_fonts()]
    return next((path for path in candidates if path is not None and _has_chinese(path)), None)


def _packaged_font() -> Path | None:
    try:
        import cvttf_NotoSansCJK_Regular as package
    except ImportError:
        return None
    path = Path(package.__file__).parent / PACKAGED_FONT_FILE
    return path if path.is_file() else None


def _system_cjk_fonts() -> list[Path]:
    """Known CJK families in the order of CJK_FAMILIES; within one, Simplified Chinese and regular weight first."""
    ranked = []
    for entry in font_manager.fontManager.ttflist:
        family = next((i for i, known in enumerate(CJK_FAMILIES) if known.lower() in entry.name.lower()), None)
        if family is not None:
            ranked.append(((family, "SC" not in entry.name, _distance_from_regular(entry.weight)), entry.fname))
    return [Path(fname) for _, fname in sorted(ranked)]


def _distance_from_regular(weight: int | str) -> int:
    numeric = weight if isinstance(weight, int) else font_manager.weight_dict.get(weight, 400)
    return abs(numeric - 400)


def _has_chinese(path: Path) -> bool:
    try:
        return covers(path, CJK_PROBE)
    except (OSError, TTLibError):
        return False


@functools.lru_cache(maxsize=8)
def _code_points(font_path: str) -> frozenset[int]:
    # fontNumber=0: collections (.ttc) are read as their first face, as matplotlib draws them
    with TTFont(font_path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


def covers(font_path: Path | str, text: str) -> bool:
    """Whether the font has a glyph for every non-space character of text."""
    code_points = _code_points(str(font_path))
    return all(ord(char) in code_points for char in text if not char.isspace())


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters; user text may carry newlines and runs of spaces."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + ELLIPSIS


def format_score(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_time(iso_time: str) -> str:
    try:
        return datetime.fromisoformat(iso_time).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso_time


def team_bar(row: TeamRow) -> Bar:
    """A bar for a ranked team (unranked ones are never charted)."""
    caption = f"{format_score(row.mean_score)}分 · {row.participants}人"
    if row.participation_rate is not None:
        caption += f" · 参与率{row.participation_rate:.0%}"
    return Bar(row.rank, shorten(row.name, NAME_LIMIT), row.mean_score, caption)


def individual_bar(row: IndividualRow) -> Bar:
    caption = f"{format_score(row.score)}分 · 答对{row.correct}/{row.answered}题"
    return Bar(row.rank, shorten(row.name, NAME_LIMIT), row.score, caption)


def chart_content(board: Leaderboard, top: int) -> ChartContent | None:
    """Teams when any is ranked, else individuals; None when there is nobody to show."""
    title = shorten(board.title, TITLE_LIMIT)
    generated = format_time(board.generated_at)
    teams = [row for row in board.teams if row.ranked][:top]
    if teams:
        return ChartContent(f"{title} 团队排行榜",
                            f"共{board.participants}人参与 · 按团队平均分排名 · 生成时间 {generated}",
                            [team_bar(row) for row in teams])
    if board.individuals:
        return ChartContent(f"{title} 个人排行榜",
                            f"共{board.participants}人参与 · 按得分排名 · 生成时间 {generated}",
                            [individual_bar(row) for row in board.individuals[:top]])
    return None


def render_team_chart(board: Leaderboard, top: int = 10) -> bytes | None:
    """The leaderboard as a 1280x720 PNG, or None when it cannot be drawn faithfully (the caller sends text)."""
    content = chart_content(board, top)
    font = find_cjk_font()
    if content is None or font is None or not covers(font, content.all_text()):
        return None
    return draw_chart(content, FontProperties(fname=str(font)))


def draw_chart(content: ChartContent, font: FontProperties) -> bytes:
    figure = Figure(figsize=FIGURE_SIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    # user text is drawn literally: parse_math=False keeps "$...$" from becoming mathtext
    literal = {"fontproperties": font, "usetex": False, "parse_math": False}
    figure.text(0.03, 0.925, content.title, fontsize=26, color=INK, va="center", **literal)
    figure.text(0.03, 0.86, content.subtitle, fontsize=14, color=MUTED, va="center", **literal)
    axes = figure.add_axes((0.31, 0.05, 0.65, 0.76))
    _draw_bars(axes, content.bars, literal)
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _draw_bars(axes: Axes, bars: list[Bar], literal: dict) -> None:
    positions = range(len(bars))
    peak = max((bar.value for bar in bars), default=0) or 1
    colors = [LEADER_COLOR if bar.rank == 1 else BAR_COLOR for bar in bars]
    axes.barh(positions, [bar.value for bar in bars], height=0.62, color=colors)
    axes.set_xlim(0, peak * 1.5)  # room right of the longest bar for its caption
    axes.set_ylim(max(len(bars), MIN_BAR_SLOTS) - 0.5, -0.5)  # inverted: the best at the top
    axes.axis("off")
    rank_column = blended_transform_factory(axes.figure.transFigure, axes.transData)
    name_column = blended_transform_factory(axes.transAxes, axes.transData)
    for position, bar in zip(positions, bars):
        axes.text(0.02, position, str(bar.rank), transform=rank_column, fontsize=18, color=INK,
                  ha="center", va="center", **literal)
        axes.text(-0.012, position, bar.name, transform=name_column, fontsize=15, color=INK,
                  ha="right", va="center", **literal)
        axes.text(bar.value + peak * 0.015, position, bar.caption, fontsize=14, color=INK,
                  ha="left", va="center", **literal)
