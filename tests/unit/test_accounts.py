import pytest
from openpyxl import Workbook

from bot.accounts import (CODE_ALPHABET, REGION_NAMES, AccountError, Accounts, RosterError, TeamSpec, read_roster,
                          resolve_region)
from bot.storage import Storage


@pytest.fixture
def accounts():
    return Accounts(Storage.memory())


def test_regions_are_hainans_19_plus_yangpu_and_province():
    assert len(REGION_NAMES) == 21
    assert REGION_NAMES[-2:] == ["洋浦经济开发区", "省直属"]
    assert resolve_region("陵水") == "陵水黎族自治县" and resolve_region("广州") is None


def test_registration_steps(accounts):
    accounts.touch(1, "张工", None)
    assert not accounts.is_registered(accounts.get(1))
    accounts.set_region(1, "三亚市")
    user = accounts.set_role(1, "worker")
    assert accounts.is_registered(user) and user["registered_at"]
    with pytest.raises(AccountError):
        accounts.set_region(1, "火星市")
    with pytest.raises(AccountError):
        accounts.set_role(1, "boss")


def test_team_codes_are_unique_readable_and_joinable(accounts):
    teams = [accounts.create_team(TeamSpec(f"项目部{i}", "海口")) for i in range(50)]
    codes = {team["code"] for team in teams}
    assert len(codes) == 50 and all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    accounts.touch(2, "李", None)
    joined = accounts.join_team(2, " " + teams[3]["code"].lower() + " ")
    assert joined["id"] == teams[3]["id"] and accounts.get(2)["region"] == "海口市"
    with pytest.raises(AccountError):
        accounts.join_team(2, "NOPE00")
    with pytest.raises(AccountError):
        accounts.create_team(TeamSpec("项目部1", "海口"))


@pytest.mark.parametrize("spec", [TeamSpec("", "海口"), TeamSpec("甲" * 41, "海口"), TeamSpec("一标", "北京"),
                                  TeamSpec("一标", "海口", headcount=0)])
def test_invalid_teams_are_refused(accounts, spec):
    with pytest.raises(AccountError):
        accounts.create_team(spec)


def test_roster_csv_with_bom_and_chinese_headers(tmp_path, accounts):
    path = tmp_path / "roster.csv"
    path.write_text("团队名称,市县,施工单位,人数\n海棠湾项目部,三亚,海建集团,40\n江东一标,海口市,,\n", encoding="utf-8-sig")
    specs = read_roster(path)
    assert specs[0] == TeamSpec("海棠湾项目部", "三亚市", "海建集团", 40)
    teams = accounts.import_teams(specs)
    again = accounts.import_teams(read_roster(path))  # importing twice updates, never duplicates
    assert [t["code"] for t in teams] == [t["code"] for t in again]
    assert len(accounts.list_teams()) == 2


def test_roster_xlsx(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["项目部", "所属市县", "单位", "申报人数"])
    sheet.append(["琼海二标", "琼海", "某建工", 12])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    assert read_roster(path) == [TeamSpec("琼海二标", "琼海市", "某建工", 12)]


@pytest.mark.parametrize("content, fragment", [
    ("名字,地方\n一标,海口\n", "line 1"),
    ("团队名称,市县\n一标,北京\n", "line 2"),
    ("团队名称,市县,人数\n一标,海口,很多\n", "line 2"),
])
def test_roster_errors_name_file_and_line(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError) as error:
        read_roster(path)
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_cli_teams_import(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    path = tmp_path / "roster.csv"
    path.write_text("团队名称,市县\n海棠湾项目部,三亚\n", encoding="utf-8")
    monkeypatch.setenv("QB_DB", str(tmp_path / "bot.db"))
    Storage.open(tmp_path / "bot.db").close()  # the bot has run here once: the command line uses its database
    assert main(["teams", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "海棠湾项目部" in out and "?start=team_" in out


def test_region_picker_ticks_unticks_selects_all_and_refuses_forgeries():
    from bot.accounts import REGION_NAMES, pick_regions

    chosen: list[str] = []
    assert pick_regions(chosen, "1", REGION_NAMES) and chosen == ["三亚市"]
    assert pick_regions(chosen, "0", REGION_NAMES) and chosen == ["三亚市", "海口市"]
    assert pick_regions(chosen, "1", REGION_NAMES) and chosen == ["海口市"]
    assert pick_regions(chosen, "all", REGION_NAMES[:-1]) and chosen == REGION_NAMES[:-1]
    for forged in ("99", "-1", "x", "²"):
        assert not pick_regions(chosen, forged, REGION_NAMES)
    assert chosen == REGION_NAMES[:-1]


def test_registration_screens_number_their_steps_and_say_done_once():
    import re

    from bot.ui import menu

    prompts = [menu.welcome_new_user("张工"), menu.role_prompt(), menu.team_prompt()[0]]
    numbers = [re.findall(r"第 (\d) 步/共 (\d) 步", text) for text in prompts]
    assert numbers == [[("1", "3")], [("2", "3")], [("3", "3")]]
    assert not any("登记完成" in text or "最后一步" in text for text in prompts), "done is said only at the end"
    assert "步" not in menu.role_prompt(registering=False), "changing the role in 我的 is no step"
    user = {"first_name": "张工", "region": "三亚市", "role": "worker"}
    text, keyboard = menu.registration_done(user)
    assert "登记完成" in text and "三亚市" in text and keyboard == menu.main_menu_keyboard()
    skip, enter = menu.team_prompt()[1][0][1], menu.team_prompt()[1][0][0]
    assert isinstance(skip.data, menu.SkipTeam) and enter.data == menu.AskTeamCode(registering=True)
    text, keyboard = menu.register_first("参加竞赛")
    assert "先完成登记" in text and keyboard[0][0].data == menu.StartRegistration()


def test_a_web_link_is_used_once_and_expires():
    from datetime import datetime, timezone

    from bot.accounts import WEB_LINK_MINUTES
    from tests.helpers import Clock

    clock = Clock(datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc))
    accounts = Accounts(Storage.memory(), clock)
    accounts.touch(88, "陈工", None)
    token = accounts.web_link(88)
    assert len(token) >= 32 and accounts.web_link(88) != token, "unguessable, one per request"
    assert accounts.redeem_web_link(token)["id"] == 88
    assert accounts.redeem_web_link(token) is None, "once"
    late = accounts.web_link(88)
    clock.advance(WEB_LINK_MINUTES * 60 + 1)
    assert accounts.redeem_web_link(late) is None, "expired"
    assert accounts.redeem_web_link("no-such-token") is None
