import csv
from io import BytesIO, StringIO

from openpyxl import load_workbook

from bot.exports import csv_bytes, safe_text, workbook_bytes
from bot.leaderboard import (Leaderboard, ParticipantResult, TeamInfo, question_stats, rank_individuals,
                             rank_teams)

INJECTION = '=HYPERLINK("http://example.com","点我")'


def make_board() -> Leaderboard:
    """Team 1 (two members, headcount 4) is ranked; team 2 (one member) is below the minimum of two."""
    teams = {1: TeamInfo(1, "海口建工一队", "海口市", "海南建工", 4), 2: TeamInfo(2, "-三亚质检", "三亚市", None, None)}
    results = [
        ParticipantResult(1, "王工", 1, "海口建工一队", "海口市", 90, 9, 10, 61_500, "2024-05-01T10:00:00"),
        ParticipantResult(2, INJECTION, 1, "海口建工一队", "海口市", 80, 8, 10, 70_000, "2024-05-01T10:01:00"),
        ParticipantResult(3, "李工", 2, "-三亚质检", "三亚市", 70, 7, 9, 90_000, None),
    ]
    answers = [{"question_id": "q1", "correct": True, "time_ms": 4000},
               {"question_id": "q1", "correct": False, "time_ms": 6000}]
    return Leaderboard(1, "质量月知识竞赛", rank_individuals(results), rank_teams(results, teams, 2),
                       question_stats(answers, {"q1": ("屋面防水层的最小厚度？", "屋面防水")}),
                       "2024-05-01T14:30:00", "2024-05-02T00:00:00")


def load(board: Leaderboard):
    return load_workbook(BytesIO(workbook_bytes(board)))


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_workbook_sheets_and_headers():
    workbook = load(make_board())
    assert workbook.sheetnames == ["个人排名", "团队排名", "题目统计"]
    assert rows(workbook["个人排名"])[0] == ("名次", "姓名", "团队", "市县", "得分", "答对题数", "已答题数", "用时(秒)",
                                             "是否完成")
    assert rows(workbook["团队排名"])[0] == ("名次", "团队", "市县", "施工单位", "平均分", "参与人数", "申报人数", "参与率")
    assert rows(workbook["题目统计"])[0] == ("题目编号", "题干", "知识主题", "作答人数", "正确率", "平均用时(秒)")
    for sheet in workbook:
        assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold


def test_team_rows_ranked_and_unranked():
    sheet = load(make_board())["团队排名"]
    assert rows(sheet)[1] == (1, "海口建工一队", "海口市", "海南建工", 85, 2, 4, 0.5)
    assert rows(sheet)[2] == ("未达最少人数", "'-三亚质检", "三亚市", None, 70, 1, None, None)
    assert sheet["H2"].number_format == "0.0%"


def test_question_correct_rate_is_a_percent_number():
    cell = load(make_board())["题目统计"]["E2"]
    assert cell.value == 0.5 and cell.number_format == "0.0%"


def test_formula_in_a_name_is_stored_as_text():
    sheet = load(make_board())["个人排名"]
    names = [row[1] for row in rows(sheet)[1:]]
    assert "'" + INJECTION in names
    cell = next(cell for cell in sheet["B"] if cell.value == "'" + INJECTION)
    assert cell.data_type == "s"
    assert rows(sheet)[1][4] == 90 and rows(sheet)[1][7] == 61.5 and rows(sheet)[1][8] == "是"


def test_safe_text_quotes_every_trigger_and_leaves_numbers():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\x01=1"):
        assert safe_text(text).startswith("'")
    assert safe_text("海口-一队") == "海口-一队"
    assert safe_text(-5) == -5 and safe_text(None) is None


def test_csv_is_excel_friendly_with_three_sections():
    data = csv_bytes(make_board())
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(StringIO(data.decode("utf-8-sig"))))
    sections = split_sections(parsed)
    assert [section[0] for section in sections] == [["个人排名"], ["团队排名"], ["题目统计"]]
    individuals, teams, questions = sections
    assert individuals[1][0] == "名次" and len(individuals) == 2 + 3
    assert ["'" + INJECTION] == [row[1] for row in individuals[2:] if "HYPERLINK" in row[1]]
    assert teams[2][0] == "1" and teams[2][7] == "50.0%" and teams[3][0] == "未达最少人数"
    assert questions[2][4] == "50.0%"


def split_sections(parsed: list[list[str]]) -> list[list[list[str]]]:
    sections: list[list[list[str]]] = [[]]
    for row in parsed:
        if row:
            sections[-1].append(row)
        else:
            sections.append([])
    return sections
