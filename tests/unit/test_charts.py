from io import BytesIO

import pytest
from PIL import Image

from bot import certificate as certificates
from bot import charts
from bot.contest_results import Certificate, ContestFacts
from bot.leaderboard import Leaderboard, ParticipantResult, TeamInfo, rank_individuals, rank_teams
from tests.browser import artifact

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PRIVATE_USE = "\ue000"  # no CJK font maps the private-use area
FACTS = ContestFacts(1, "2026年海口市建设工程质量月知识竞赛（第一场）", "王工（海口市）", "2026年12月10日—11日", False)


@pytest.fixture
def font():
    path = charts.find_cjk_font()
    if path is None:
        pytest.skip("no CJK font on this machine: install cvttf-notosanscjk-regular or fonts-noto-cjk")
    return path


def make_board(team_names: list[str], min_team_size: int = 2, members: int = 2) -> Leaderboard:
    """Each team gets `members` members scoring 90, 85, 80… so the first name ranks first."""
    teams = {i: TeamInfo(i, name, "海口市", "海南建工", 4) for i, name in enumerate(team_names, start=1)}
    results = [ParticipantResult(team_id * 10 + member, f"选手{team_id}{member}", team_id, team.name, team.region,
                                 95 - 5 * team_id - 0.27 * member, 8, 10, 60_000, "2024-05-01T10:00:00")
               for team_id, team in teams.items() for member in range(members)]
    return Leaderboard(1, "质量月知识竞赛", rank_individuals(results), rank_teams(results, teams, min_team_size), [],
                       "2024-05-01T14:30:00+08:00", "2024-05-02T00:00:00", min_team_size)


def picture(png: bytes | None) -> Image.Image:
    assert png is not None and png.startswith(PNG_MAGIC)
    return Image.open(BytesIO(png))


def test_leaderboard_is_phone_width_and_grows_with_its_rows(font):
    small = picture(charts.render_leaderboard(make_board(["海口建工一队"]), FACTS))
    large_png = charts.render_leaderboard(make_board(["海口建工一队", "三亚质检班组", "琼海监理站", "儋州市政"],
                                                     min_team_size=3, members=3), FACTS)
    large = picture(large_png)
    assert small.width == large.width == 1080 and large.height > small.height > 800
    with open(artifact("leaderboard.png"), "wb") as file:
        file.write(large_png)


def test_leaderboard_lists_persons_and_unranked_teams(font):
    board = make_board(["海口建工一队", "三亚质检班组"], min_team_size=3, members=2)
    lines = charts.leaderboard_lines(board)
    assert [line.kind for line in lines].count("unranked") == 2 and not any(line.kind == "team" for line in lines)
    persons = [line for line in lines if line.kind == "person"]
    assert len(persons) == 4 and persons[0].value == "90分" and persons[1].value == "89.7分"
    assert picture(charts.render_leaderboard(board, FACTS)).width == 1080


def test_user_names_are_drawn_literally(font):
    names = ["儋州 $x$ 队", "<b>万宁</b>", "$x^{$", "文昌\n航天城施工队"]
    assert picture(charts.render_leaderboard(make_board(names), FACTS)).width == 1080


def test_empty_board_has_no_picture(font):
    board = Leaderboard(1, "质量月", [], [], [], "2024-05-01T14:30:00", "2024-05-02T00:00:00")
    assert charts.render_leaderboard(board, FACTS) is None


def test_long_names_are_cut_to_sixteen_characters():
    assert charts.shorten("琼海博鳌安装公司质检班组特别长的名字团队", 16) == "琼海博鳌安装公司质检班组特别长…"
    assert charts.shorten("海口 \n 一队", 16) == "海口 一队"


def test_covers_detects_missing_glyphs(font):
    assert charts.covers(font, "团队排行榜 参与率 80%")
    assert not charts.covers(font, "团队" + PRIVATE_USE)


def test_glyphs_the_font_lacks_are_left_out_not_drawn_as_boxes(font):
    assert charts.drawable(font, "三亚" + PRIVATE_USE + "一队") == "三亚一队"
    board = make_board(["海口建工一队", "三亚" + PRIVATE_USE])
    assert picture(charts.render_leaderboard(board, FACTS)).width == 1080


def test_wrapping_keeps_closing_punctuation_off_the_start_of_a_line(font):
    canvas = charts.Canvas(font, 10, 10, "white")
    lines = canvas.wrap("参加“2026年海口市建设工程质量月知识竞赛（第一场）”，答对 4/10 题，得 40 分。", 38, 840, 5)
    assert len(lines) >= 2 and not any(line[0] in charts.NO_LINE_START for line in lines[1:])
    assert all(canvas.width_of(line, 38) <= 840 for line in lines)


def test_no_cjk_font_gives_no_picture(monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    monkeypatch.setattr(certificates, "find_cjk_font", lambda: None)
    assert charts.render_leaderboard(make_board(["海口建工一队"]), FACTS) is None
    assert certificates.render_certificate(Certificate(FACTS, "王建国", None, None, 40, 4, 10, 5, 30)) is None


@pytest.mark.parametrize("rank, heading", [(1, "荣誉证书"), (3, "荣誉证书"), (4, "参赛证书")])
def test_certificate_is_a_portrait_png(font, rank, heading):
    certificate = Certificate(FACTS, "王建国", "海口建工一队", 2, 88.5, 9, 10, rank, 30)
    png = certificates.render_certificate(certificate)
    assert picture(png).size == (1080, 1440)
    assert certificates.certificate_heading(certificate) == heading
    sentence = certificates.certificate_sentence(certificate)
    assert "答对 9/10 题" in sentence and "88.5 分" in sentence and f"第 {rank} 名" in sentence
    assert "团队第 2 名" in sentence
    with open(artifact(f"certificate-{rank}.png"), "wb") as file:
        file.write(png)
