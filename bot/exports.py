"""Leaderboard downloads for organisers: an XLSX workbook and a CSV, both opening cleanly in Excel or WPS.

The three tables (individuals, teams, questions) are built once and written in either format. User text is
neutralised against formula injection: a cell starting with = + - @ or a tab/CR gets a leading quote, so
Excel shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.leaderboard import IndividualRow, Leaderboard, QuestionStat, TeamRow

Cell = str | int | float | None

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
UNRANKED = "未达最少人数"
PERCENT_FORMAT = "0.0%"
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 60


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    percent_columns: frozenset[int] = frozenset()  # 0-based columns holding fractions (0.8 → 80.0%)


def safe_text(value: Cell) -> Cell:
    """Text made inert for spreadsheets; numbers and empty cells pass unchanged."""
    if not isinstance(value, str):
        return value
    # control characters are invalid in XLSX; drop them first so they cannot hide a leading "="
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def seconds(time_ms: int) -> float:
    return round(time_ms / 1000, 1)


def individual_table(rows: list[IndividualRow]) -> Table:
    return Table("个人排名", ["名次", "姓名", "团队", "市县", "得分", "答对题数", "已答题数", "用时(秒)", "是否完成"],
                 [[row.rank, row.name, row.team, row.region, row.score, row.correct, row.answered,
                   seconds(row.time_ms), "是" if row.finished else "否"] for row in rows])


def team_table(rows: list[TeamRow]) -> Table:
    return Table("团队排名", ["名次", "团队", "市县", "施工单位", "平均分", "参与人数", "申报人数", "参与率"],
                 [[row.rank if row.ranked else UNRANKED, row.name, row.region, row.company, row.mean_score,
                   row.participants, row.headcount, row.participation_rate] for row in rows],
                 percent_columns=frozenset({7}))


def question_table(stats: list[QuestionStat]) -> Table:
    return Table("题目统计", ["题目编号", "题干", "知识主题", "作答人数", "正确率", "平均用时(秒)"],
                 [[stat.question_id, stat.stem, stat.topic, stat.answered, stat.correct_rate,
                   seconds(stat.average_time_ms)] for stat in stats],
                 percent_columns=frozenset({4}))


def tables(board: Leaderboard) -> list[Table]:
    return [individual_table(board.individuals), team_table(board.teams), question_table(board.questions)]


def workbook_bytes(board: Leaderboard) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables(board):
        fill_sheet(workbook.create_sheet(table.title), table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fill_sheet(sheet: Worksheet, table: Table) -> None:
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([safe_text(value) for value in row])
    for column in table.percent_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = PERCENT_FORMAT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    fit_columns(sheet, table)


def fit_columns(sheet: Worksheet, table: Table) -> None:
    for index, header in enumerate(table.headers):
        longest = max([display_width(header)] + [display_width(row[index]) for row in table.rows])
        width = min(max(longest + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width


def display_width(value: Cell) -> int:
    """Characters as Excel lays them out: a Chinese character is about two Latin ones wide."""
    text = "" if value is None else str(value)
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def csv_bytes(board: Leaderboard) -> bytes:
    """All three tables in one CSV, UTF-8 with BOM so Excel reads the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for position, table in enumerate(tables(board)):
        if position:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.headers)
        writer.writerows(csv_row(row, table.percent_columns) for row in table.rows)
    return buffer.getvalue().encode("utf-8-sig")


def csv_row(row: list[Cell], percent_columns: frozenset[int]) -> list[Cell]:
    # "80.0%" is read by Excel as the number 0.8 shown as a percentage, like the XLSX cell
    return [f"{value:.1%}" if index in percent_columns and value is not None else safe_text(value)
            for index, value in enumerate(row)]
