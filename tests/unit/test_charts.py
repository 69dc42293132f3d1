from io import BytesIO

import pytest
from PIL import Image

from bot import charts
from bot.leaderboard import Leaderboard, ParticipantResult, TeamInfo, rank_individuals, rank_teams

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PRIVATE_USE = "\ue000"  # no CJK font maps the private-use area


@pytest.fixture
def font():
    path = charts.find_cjk_font()
    if path is None:
        pytest.skip("no CJK font on this machine: install cvttf-notosanscjk-regular or fonts-noto-cjk")
    return path


def make_board(team_names: list[str], min_team_size: int = 2) -> Leaderboard:
    """Each team gets two members scoring 90, 85, 80… so the first name ranks first."""
    teams = {i: TeamInfo(i, name, "海口市", "海南建工", 4) for i, name in enumerate(team_names, start=1)}
    results = [ParticipantResult(team_id * 10 + member, f"选手{team_id}{member}", team_id, team.name, team.region,
                                 95 - 5 * team_id, 8, 10, 60_000, "2024-05-01T10:00:00")
               for team_id, team in teams.items() for member in range(2)]
    return Leaderboard(1, "质量月知识竞赛", rank_individuals(results), rank_teams(results, teams, min_team_size), [],
                       "2024-05-01T14:30:00", "2024-05-02T00:00:00")


def assert_chart_png(png: bytes | None) -> None:
    assert png is not None and png.startswith(PNG_MAGIC)
    assert Image.open(BytesIO(png)).size == (1280, 720)


def test_team_chart_is_a_1280x720_png(font):
    assert_chart_png(charts.render_team_chart(make_board(["海口建工一队", "三亚质检班组", "琼海监理站"])))


def test_user_names_are_drawn_literally(font):
    # "$x^{$" is invalid mathtext: parsing it as math would raise, so this also proves parse_math is off
    names = ["儋州 $x$ 队", "<b>万宁</b>", "$x^{$", "文昌\n航天城施工队"]
    assert_chart_png(charts.render_team_chart(make_board(names)))


def test_without_ranked_teams_the_best_individuals_are_charted(font):
    board = make_board(["海口建工一队"], min_team_size=5)
    assert not any(team.ranked for team in board.teams)
    assert charts.chart_content(board, top=10).title == "质量月知识竞赛 个人排行榜"
    assert_chart_png(charts.render_team_chart(board))


def test_team_chart_title_and_captions(font):
    content = charts.chart_content(make_board(["海口建工一队", "三亚质检班组"]), top=1)
    assert content.title == "质量月知识竞赛 团队排行榜"
    assert [bar.caption for bar in content.bars] == ["90分 · 2人 · 参与率50%"]


def test_empty_board_has_no_chart():
    board = Leaderboard(1, "质量月", [], [], [], "2024-05-01T14:30:00", "2024-05-02T00:00:00")
    assert charts.render_team_chart(board) is None


def test_long_names_are_cut_to_sixteen_characters():
    assert charts.shorten("琼海博鳌安装公司质检班组特别长的名字团队", 16) == "琼海博鳌安装公司质检班组特别长…"
    assert charts.shorten("海口 \n 一队", 16) == "海口 一队"


def test_covers_detects_missing_glyphs(font):
    assert charts.covers(font, "团队排行榜 参与率 80%")
    assert not charts.covers(font, "团队" + PRIVATE_USE)


def test_name_with_a_glyph_the_font_lacks_gives_no_chart(font):
    assert charts.render_team_chart(make_board(["海口建工一队", "三亚" + PRIVATE_USE])) is None


def test_no_cjk_font_gives_no_chart(monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    assert charts.render_team_chart(make_board(["海口建工一队"])) is None
