"""Contest rules in plain Python: drawing, scoring, timing, exactly-once answers, ties, team means and minimums."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.accounts import Accounts, TeamSpec
from bot.contest_files import ContestFileError, read_contest_file
from bot.contests import ContestError, Contests, ContestSpec
from bot.leaderboard import ParticipantResult, TeamInfo, rank_individuals, rank_teams
from bot.policy import Actor, PermissionDenied
from bot.storage import Storage
from tests.helpers import Clock

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
ORGANISER_1 = Actor(1, roles={"organiser": "全省"})


@pytest.fixture
def world(knowledge_service):
    storage = Storage.memory()
    clock = Clock(START + timedelta(minutes=5))
    contests = Contests(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=clock)
    accounts = Accounts(storage)
    return storage, contests, accounts, clock


def spec(**overrides) -> ContestSpec:
    values = dict(title="质量月知识竞赛", starts_at=START, ends_at=START + timedelta(hours=2), questions=5,
                  seconds_per_question=30)
    values.update(overrides)
    return ContestSpec(**values)


def user(accounts: Accounts, user_id: int, region: str = "三亚市", team_id: int | None = None) -> dict:
    accounts.touch(user_id, f"用户{user_id}", None)
    accounts.set_region(user_id, region)
    accounts.set_role(user_id, "worker")
    if team_id:
        accounts.storage.update_user(user_id, team_id=team_id)
    return accounts.get(user_id)


def answer_right(contests: Contests, attempt: dict, seconds: float, clock: Clock, right: bool = True):
    shown, _ = contests.ask(attempt["id"], attempt["position"])
    clock.advance(seconds)
    chosen = shown.right_display if right else [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
    outcome = contests.answer(attempt["id"], attempt["user_id"], shown.position, chosen)
    return outcome


def test_each_participant_gets_the_same_mix_in_their_own_order(world):
    storage, contests, accounts, _ = world
    contest = contests.create(spec(questions=10, categories=["防水与渗漏"], difficulty={1: 0.3, 2: 0.5, 3: 0.2}), None, organiser_id=1)
    plans = [json.loads(contests.start(contest["id"], user(accounts, uid))["plan"]) for uid in (11, 12)]
    bank = contests.bank_provider()
    for plan in plans:
        questions = [bank.questions[qid] for qid, _ in plan]
        assert len(questions) == 10 and len({q.id for q in questions}) == 10
        assert all(contests.kb_provider().get(q.topic).category == "防水与渗漏" for q in questions)
        assert sorted(q.difficulty for q in questions) == [1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    assert plans[0] != plans[1], "questions and option orders are drawn per participant"
    assert contests.start(contest["id"], accounts.get(11))["plan"] == json.dumps(plans[0]), "one attempt each"


def test_scoring_exactly_once_and_late_presses(world):
    storage, contests, accounts, clock = world
    contest = contests.create(spec(questions=3), None, organiser_id=1)
    attempt = contests.start(contest["id"], user(accounts, 21))
    first = answer_right(contests, attempt, 4, clock)
    assert (first.status, first.correct, first.points) == ("recorded", True, 10.0)
    again = contests.answer(attempt["id"], 21, 0, first.shown.right_display)
    assert again.status == "already", "a double press changes nothing"
    attempt = storage.attempt(attempt["id"])
    late, _ = contests.ask(attempt["id"], 1)
    clock.advance(31.5)
    outcome = contests.answer(attempt["id"], 21, 1, late.right_display)
    assert (outcome.status, outcome.points) == ("timed_out", 0.0)
    assert contests.expire(attempt["id"], 1).status == "already", "the timer finds it already settled"
    attempt = storage.attempt(attempt["id"])
    assert contests.answer(attempt["id"], 22, 2, [0]).status == "not_yours"
    wrong = answer_right(contests, attempt, 2, clock, right=False)
    assert wrong.finished and not wrong.correct
    attempt = storage.attempt(attempt["id"])
    assert (attempt["score"], attempt["correct"], attempt["position"], attempt["time_ms"]) == (10.0, 1, 3, 4000 + 30000 + 2000)
    assert [a["timed_out"] for a in storage.answers_of_attempt(attempt["id"])] == [0, 1, 0]


def test_timer_expiry_and_restart_gives_a_fresh_timer(world):
    storage, contests, accounts, clock = world
    contest = contests.create(spec(questions=2), None, organiser_id=1)
    attempt = contests.start(contest["id"], user(accounts, 31))
    contests.ask(attempt["id"], 0)
    clock.advance(20)
    resume, closed = contests.resumable()  # the bot restarts here
    assert [a["id"] for a in resume] == [attempt["id"]] and closed == []
    contests.retime(resume[0])  # asked again with a fresh timer
    clock.advance(15)
    assert contests.expire(attempt["id"], 0).status == "already", "the old timer must not fire on the new clock"
    clock.advance(16)
    assert contests.expire(attempt["id"], 0).status == "timed_out"
    assert storage.attempt(attempt["id"])["position"] == 1


def test_the_clock_starts_when_the_question_is_delivered(world):
    storage, contests, accounts, clock = world
    contest = contests.create(spec(questions=2), None, organiser_id=1)
    attempt = contests.start(contest["id"], user(accounts, 32))
    queued, _ = contests.ask(attempt["id"], 0)
    clock.advance(25)  # waiting in a throttled send queue
    delivered = contests.delivered(queued, 901)
    assert delivered.asked_at == queued.asked_at + timedelta(seconds=25)
    assert storage.attempt(attempt["id"])["message_id"] == 901
    clock.advance(10)
    outcome = contests.answer(attempt["id"], 32, 0, delivered.right_display)
    assert outcome.correct and storage.answers_of_attempt(attempt["id"])[0]["time_ms"] == 10000

    asked, _ = contests.ask(attempt["id"], 1)
    clock.advance(1)
    contests.answer(attempt["id"], 32, 1, [])  # pressed before the send returned
    assert contests.delivered(asked, 902) is None, "an answered question's clock must not move"
    again = contests.ask(storage.attempt(attempt["id"])["id"], 1)
    assert again is None


def test_speed_bonus_is_proportional_to_time_left(world):
    storage, contests, accounts, clock = world
    contest = contests.create(spec(questions=2, speed_bonus=True), None, organiser_id=1)
    attempt = contests.start(contest["id"], user(accounts, 41))
    assert answer_right(contests, attempt, 6, clock).points == 14.0  # 10 + 5 * 24/30


def test_closed_or_foreign_contests_refuse(world):
    storage, contests, accounts, clock = world
    contest = contests.create(spec(regions=["海口市"]), None, organiser_id=1)
    with pytest.raises(ContestError, match="海口市"):
        contests.start(contest["id"], user(accounts, 51, region="三亚市"))
    contests.close(contest["id"], ORGANISER_1)
    with pytest.raises(ContestError):
        contests.start(contest["id"], user(accounts, 52, region="海口市"))
    with pytest.raises(PermissionDenied, match="组织者"):
        contests.close(contest["id"], Actor(99, roles={"organiser": "海口市"}))


@pytest.mark.parametrize("overrides, setting", [
    (dict(ends_at=START - timedelta(hours=1)), "ends_at"),
    (dict(questions=0), "questions"),
    (dict(questions=50, topics=["leak.roof"]), "questions"),
    (dict(categories=["火星分类"]), "categories"),
    (dict(seconds_per_question=5), "seconds_per_question"),
])
def test_invalid_specs_are_refused_with_the_setting(world, overrides, setting):
    _, contests, _, _ = world
    with pytest.raises(ContestError) as error:
        contests.create(spec(**overrides), None, organiser_id=1)
    assert error.value.setting == setting


def test_edit_only_before_start(world):
    storage, contests, accounts, clock = world
    later = contests.create(spec(starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=2)), None, organiser_id=1)
    assert contests.update(later["id"], ORGANISER_1, title="改名后")["title"] == "改名后"
    running = contests.create(spec(), None, organiser_id=1)
    with pytest.raises(ContestError, match="已经开始"):
        contests.update(running["id"], ORGANISER_1, title="x")


def test_individual_ranking_ties():
    results = [ParticipantResult(1, "甲", None, None, None, 30, 3, 3, 50_000, "t3"),
               ParticipantResult(2, "乙", None, None, None, 30, 3, 3, 40_000, "t9"),
               ParticipantResult(3, "丙", None, None, None, 30, 3, 3, 40_000, "t5"),
               ParticipantResult(4, "丁", None, None, None, 40, 4, 4, 90_000, None),
               ParticipantResult(5, "戊", None, None, None, 30, 3, 3, 40_000, "t5")]
    rows = rank_individuals(results)
    assert [(r.name, r.rank) for r in rows] == [("丁", 1), ("丙", 2), ("戊", 2), ("乙", 4), ("甲", 5)]


def test_team_means_minimums_and_participation():
    teams = {1: TeamInfo(1, "一队", "海口市", None, 10), 2: TeamInfo(2, "二队", "海口市", None, None),
             3: TeamInfo(3, "三队", "三亚市", None, 4)}
    scores = {1: [50, 40, 30], 2: [45, 35, 40, 40], 3: [50, 50]}
    results = [ParticipantResult(100 * t + i, "x", t, teams[t].name, None, s, 0, 0, 0, "t")
               for t, values in scores.items() for i, s in enumerate(values)]
    rows = rank_teams(results, teams, min_team_size=3)
    # equal means share the rank (the larger turnout is listed first); a team below the minimum is not ranked
    assert [(r.name, r.rank, r.mean_score, r.participants, r.participation_rate) for r in rows] == [
        ("二队", 1, 40.0, 4, None), ("一队", 1, 40.0, 3, 0.3), ("三队", None, 50.0, 2, 0.5)]


def test_leaderboard_from_the_database(world):
    storage, contests, accounts, clock = world
    team = accounts.create_team(TeamSpec("海棠湾项目部", "三亚", headcount=4))
    contest = contests.create(spec(questions=2, min_team_size=2), None, organiser_id=1)
    for uid, right in ((61, True), (62, False)):
        attempt = contests.start(contest["id"], user(accounts, uid, team_id=team["id"]))
        answer_right(contests, attempt, 3, clock, right=right)
    board = contests.leaderboard(contest["id"])
    assert [(r.user_id, r.score, r.answered) for r in board.individuals] == [(61, 10.0, 1), (62, 0.0, 1)]
    assert board.teams[0].mean_score == 5.0 and board.teams[0].participation_rate == 0.5
    assert sum(q.answered for q in board.questions) == 2


def test_contest_file(tmp_path):
    path = tmp_path / "contest.yaml"
    path.write_text("title: 三亚质量月竞赛\nstarts_at: 2025-09-20T09:00\nends_at: 2025-09-20T18:00\nquestions: 20\n"
                    "seconds_per_question: 30\ncategories: [防水与渗漏]\nregions: [三亚]\nspeed_bonus: true\n",
                    encoding="utf-8")
    contest = read_contest_file(path, TZ)
    assert contest.starts_at == datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
    assert contest.regions == ["三亚市"] and contest.speed_bonus
    path.write_text("title: x\nstarts_at: 明天\nends_at: 2025-09-20T18:00\nquestions: many\ncolour: red\n", encoding="utf-8")
    with pytest.raises(ContestFileError) as error:
        read_contest_file(path, TZ)
    assert {str(p).split(": ")[0] for p in error.value.problems} == {f"{path}:2", f"{path}:4", f"{path}:5"}


def test_a_press_costs_a_handful_of_statements(world):
    """One read of the attempt, one transaction for the answer (which also asks the next question), one update when
    the next question is delivered: the contest row is read once per process, the schema never introspected."""
    storage, contests, accounts, clock = world
    contest = contests.create(spec(questions=3), None, organiser_id=1)
    attempt = contests.start(contest["id"], user(accounts, 71))
    shown, _ = contests.ask(attempt["id"], 0)
    contests.delivered(shown, 1)
    statements: list[str] = []
    storage.db.conn.set_trace_callback(statements.append)
    clock.advance(3)
    outcome = contests.answer(attempt["id"], 71, 0, shown.right_display)
    following = contests.delivered(outcome.following, 2)
    storage.db.conn.set_trace_callback(None)
    assert outcome.status == "recorded" and following.position == 1
    assert len(statements) <= 8, statements
    assert not any("PRAGMA" in s or "sqlite_master" in s for s in statements), statements
