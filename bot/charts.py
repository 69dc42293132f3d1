"""Pictures for the chat: the leaderboard as a phone-sized PNG (teams ranked and unranked, the top ten persons).

Drawn with Pillow on a CJK font found once (the shipped Noto Sans CJK, else a system one). Characters the font
lacks (an emoji in a name) are left out rather than drawn as boxes; without any CJK font there is no picture and
the caller sends text. Certificates are drawn in bot.certificate with the same tools.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont
from fontTools.ttLib.ttFont import TTLibError
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from bot.contest_results import ContestFacts
from bot.leaderboard import Leaderboard, format_points, unranked_note

PACKAGED_FONT_FILE = "NotoSansCJKtc-Regular.otf"
CJK_FAMILIES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "WenQuanYi", "Droid Sans Fallback", "SimHei",
                "Microsoft YaHei", "PingFang", "Heiti", "AR PL")
CJK_PROBE = "团队个人排行榜"  # a font without these is no use, whatever its family name says
ELLIPSIS = "…"
NO_LINE_START, NO_LINE_END = "，。、；：！？）」』”’》…", "（「『“‘《"

# Telegram shows a photo about 400 points wide on a phone: at 1080 px the smallest text here (26 px) is ~10 pt
WIDTH = 1080
MARGIN = 60
NAVY, INK, MUTED, FAINT = "#0b1d33", "#111827", "#4b5563", "#9ca3af"
GOLD, BAR, TRACK, WHITE = "#b7791f", "#2563eb", "#e5e7eb", "#ffffff"
TOP_TEAMS, TOP_UNRANKED, TOP_PERSONS = 10, 5, 10


# --- fonts ------------------------------------------------------------------------------------------------------

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
    # fontNumber=0: collections (.ttc) are read as their first face, as Pillow draws them
    with TTFont(font_path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


def covers(font_path: Path | str, text: str) -> bool:
    """Whether the font has a glyph for every non-space character of text."""
    code_points = _code_points(str(font_path))
    return all(ord(char) in code_points for char in text if not char.isspace())


def drawable(font_path: Path | str, text: str) -> str:
    """The text without the characters the font cannot draw (an emoji, a private-use character), on one line."""
    code_points = _code_points(str(font_path))
    return " ".join("".join(c for c in text if c.isspace() or ord(c) in code_points).split())


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters; user text may carry newlines and runs of spaces."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + ELLIPSIS


# --- drawing --------------------------------------------------------------------------------------------------

class Canvas:
    """A Pillow image with text in one CJK font; bold is the regular face drawn with a thin outline."""

    def __init__(self, font_path: Path, width: int, height: int, background: str):
        self.font_path = font_path
        self.image = Image.new("RGB", (width, height), background)
        self.draw = ImageDraw.Draw(self.image)

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return _font(str(self.font_path), size)

    def width_of(self, text: str, size: int) -> float:
        return self.draw.textlength(text, font=self.font(size))

    def fit(self, text: str, size: int, width: float) -> str:
        """The text, cut with … so that it is at most `width` pixels wide."""
        text = drawable(self.font_path, text)
        if self.width_of(text, size) <= width:
            return text
        while text and self.width_of(text + ELLIPSIS, size) > width:
            text = text[:-1]
        return text + ELLIPSIS

    def wrap(self, text: str, size: int, width: float, lines: int) -> list[str]:
        """Up to `lines` lines of at most `width` pixels, character by character (Chinese has no spaces)."""
        text, result = drawable(self.font_path, text), []
        while text and len(result) < lines - 1:
            cut = len(text)
            while cut > 1 and self.width_of(text[:cut], size) > width:
                cut -= 1
            # no line starts with closing punctuation or ends with an opening one (避头尾)
            while 2 < cut < len(text) and (text[cut] in NO_LINE_START or text[cut - 1] in NO_LINE_END):
                cut -= 1
            result.append(text[:cut])
            text = text[cut:].lstrip()
        if text:
            result.append(self.fit(text, size, width))
        return result

    def text(self, xy: tuple[float, float], text: str, size: int, fill: str, anchor: str = "ls",
             bold: bool = False) -> None:
        stroke = max(1, size // 40) if bold else 0
        self.draw.text(xy, drawable(self.font_path, text), font=self.font(size), fill=fill, anchor=anchor,
                       stroke_width=stroke, stroke_fill=fill)

    def png(self) -> bytes:
        buffer = BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


@functools.lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


# --- the leaderboard ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One row of the picture: a section heading, a team, an unranked team, a person or a note."""
    kind: str            # heading | team | unranked | person | note
    rank: str = ""
    name: str = ""
    detail: str = ""     # under or beside the name: team, headcount, 人数不足 2/3
    value: str = ""      # the score as written
    share: float = 0.0   # the bar's length, 0..1 of the best


ROW_HEIGHT = {"heading": 92, "team": 104, "unranked": 70, "person": 76, "note": 56}
TITLE_SIZE, TITLE_LEADING = 54, 68
FOOTER_HEIGHT = 80


def leaderboard_lines(board: Leaderboard) -> list[Line]:
    """The rows of the leaderboard picture: ranked teams, then the unranked ones marked, then the top persons."""
    lines: list[Line] = []
    ranked = [t for t in board.teams if t.ranked]
    unranked = [t for t in board.teams if not t.ranked]
    if board.teams:
        lines.append(Line("heading", name="团队排名", detail="按人均分"))
        best = max((t.mean_score for t in ranked), default=0) or 1
        for team in ranked[:TOP_TEAMS]:
            rate = f" · 参与率{team.participation_rate:.0%}" if team.participation_rate is not None else ""
            lines.append(Line("team", str(team.rank), team.name, f"{team.participants}人{rate}",
                              f"{format_points(team.mean_score)}分", team.mean_score / best))
        if len(ranked) > TOP_TEAMS:
            lines.append(Line("note", name=f"另有 {len(ranked) - TOP_TEAMS} 个团队参加排名，未列出"))
        if unranked:
            lines.append(Line("note", name=f"以下团队参赛不足 {board.min_team_size} 人，列出但不排名："))
        for team in unranked[:TOP_UNRANKED]:
            lines.append(Line("unranked", "—", team.name, unranked_note(team, board.min_team_size),
                              f"{format_points(team.mean_score)}分"))
        if len(unranked) > TOP_UNRANKED:
            lines.append(Line("note", name=f"另有 {len(unranked) - TOP_UNRANKED} 个团队人数不足，未列出"))
    lines.append(Line("heading", name="个人前十", detail=f"共 {board.participants} 人"))
    for person in board.individuals[:TOP_PERSONS]:
        lines.append(Line("person", str(person.rank), person.name, person.team or "",
                          f"{format_points(person.score)}分"))
    return lines


def render_leaderboard(board: Leaderboard, facts: ContestFacts) -> bytes | None:
    """The leaderboard as a PNG 1080 px wide, or None when nobody has answered or no Chinese font is installed."""
    font = find_cjk_font()
    if font is None or not board.individuals:
        return None
    lines = leaderboard_lines(board)
    probe = Canvas(font, 1, 1, WHITE)
    title = probe.wrap(facts.title, TITLE_SIZE, WIDTH - 2 * MARGIN, 2)
    header = 220 + TITLE_LEADING * len(title)
    height = header + sum(ROW_HEIGHT[line.kind] for line in lines) + FOOTER_HEIGHT
    canvas = Canvas(font, WIDTH, height, WHITE)
    _header(canvas, board, facts, title, header - 20)
    y = header
    for line in lines:
        _row(canvas, line, y)
        y += ROW_HEIGHT[line.kind]
    canvas.text((MARGIN, height - 34), "质量通 · 以赛促学", 26, FAINT)
    canvas.text((WIDTH - MARGIN, height - 34), "团队按人均分排名，人数不足的团队不排名", 26, FAINT, anchor="rs")
    return canvas.png()


def _header(canvas: Canvas, board: Leaderboard, facts: ContestFacts, title: list[str], bottom: int) -> None:
    canvas.draw.rectangle((0, 0, WIDTH, bottom), fill=NAVY)
    y = 96
    for line in title:
        canvas.text((MARGIN, y), line, TITLE_SIZE, WHITE, bold=True)
        y += TITLE_LEADING
    canvas.text((MARGIN, y + 6), canvas.fit(f"{facts.dates} · 组织者：{facts.organiser}", 30, WIDTH - 2 * MARGIN),
                30, "#d1d9e6")
    generated = datetime.fromisoformat(board.generated_at)
    state = "最终排名" if facts.ended else f"截至 {generated.month}月{generated.day}日 {generated:%H:%M}（北京时间），比赛进行中"
    canvas.text((MARGIN, y + 52), f"共 {board.participants} 人参与 · {state}", 30, "#ffd166")


def _row(canvas: Canvas, line: Line, y: int) -> None:
    right = WIDTH - MARGIN
    if line.kind == "heading":
        canvas.text((MARGIN, y + 62), line.name, 42, NAVY, bold=True)
        canvas.text((MARGIN + canvas.width_of(line.name, 42) + 20, y + 62), line.detail, 28, MUTED)
        canvas.draw.line((MARGIN, y + 80, right, y + 80), fill=TRACK, width=3)
    elif line.kind == "note":
        canvas.text((MARGIN, y + 38), line.name, 28, MUTED)
    elif line.kind == "team":
        _rank(canvas, line.rank, y + 48)
        name_x = MARGIN + 84
        canvas.text((right, y + 48), line.value, 40, INK, anchor="rs", bold=True)
        room = right - name_x - canvas.width_of(line.value, 40) - 24
        canvas.text((name_x, y + 48), canvas.fit(line.name, 38, room), 38, INK, bold=True)
        bar_right = right - 260
        canvas.draw.rounded_rectangle((name_x, y + 66, bar_right, y + 84), radius=9, fill=TRACK)
        if line.share > 0:
            end = name_x + max(18, (bar_right - name_x) * line.share)
            canvas.draw.rounded_rectangle((name_x, y + 66, end, y + 84), radius=9,
                                          fill=GOLD if line.rank == "1" else BAR)
        canvas.text((right, y + 84), line.detail, 28, MUTED, anchor="rs")
    elif line.kind == "unranked":
        canvas.text((MARGIN + 42, y + 46), line.rank, 34, FAINT, anchor="ms")
        name_x = MARGIN + 84
        note = f"{line.detail} · {line.value}"
        canvas.text((right, y + 46), note, 30, MUTED, anchor="rs")
        room = right - name_x - canvas.width_of(note, 30) - 24
        canvas.text((name_x, y + 46), canvas.fit(line.name, 34, room), 34, MUTED)
    elif line.kind == "person":
        _rank(canvas, line.rank, y + 50)
        name_x = MARGIN + 84
        canvas.text((right, y + 50), line.value, 38, INK, anchor="rs", bold=True)
        room = right - name_x - canvas.width_of(line.value, 38) - 24
        name = canvas.fit(line.name, 38, room * 0.6 if line.detail else room)
        canvas.text((name_x, y + 50), name, 38, INK, bold=True)
        if line.detail:
            team_x = name_x + canvas.width_of(name, 38) + 18
            canvas.text((team_x, y + 50), canvas.fit(line.detail, 28, name_x + room - team_x), 28, MUTED)
        canvas.draw.line((name_x, y + 70, right, y + 70), fill="#f0f1f3", width=2)


def _rank(canvas: Canvas, rank: str, baseline: int) -> None:
    """The rank in a disc: gold, silver and bronze for the first three."""
    colors = {"1": "#d4a017", "2": "#9ca3af", "3": "#b0713a"}
    center = (MARGIN + 30, baseline - 14)
    if rank in colors:
        canvas.draw.ellipse((center[0] - 28, center[1] - 28, center[0] + 28, center[1] + 28), fill=colors[rank])
        canvas.text((center[0], center[1]), rank, 34, WHITE, anchor="mm", bold=True)
    else:
        canvas.text((center[0], center[1]), rank, 34, INK, anchor="mm", bold=True)
