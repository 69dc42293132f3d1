"""After a contest: score and countdown wording, per-question statistics, unranked teams listed, certificates once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.announcements import BLOCKED, DELIVERED, RETRY, UNKNOWN, SendResult
from bot.accounts import Accounts, TeamSpec
from bot.contest_results import ContestResults, date_span
from bot.contest_stats import MISSING_STEM, question_breakdown
from bot.contests import Contests, ContestSpec
from bot.leaderboard import (Leaderboard, ParticipantResult, TeamInfo, countdown_text, format_points, rank_individuals,
                             rank_teams)
from bot.policy import Actor, PermissionDenied
from bot.quiz import QuizQuestion
from bot.storage import Storage
from bot.ui.contest import ranking_text
from bot.ui.results import stats_screen
from tests.unit.test_contests import START, TZ, world  # noqa: F401  (world is a fixture)

ORGANISER = Actor(7, roles={"organiser": "三亚市"})


# --- wording ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [(85, "85"), (85.0, "85"), (19.27, "19.3"), (6.6666, "6.7"), (0, "0"),
                                         (99.96, "100"), (12.04, "12")])
def test_scores_are_whole_points_or_one_decimal(value, text):
    assert format_points(value) == text


@pytest.mark.parametrize("seconds, text", [(0, "00:00:00"), (-5, "00:00:00"), (59.9, "00:00:59"), (3600, "01:00:00"),
                                           (86399, "23:59:59"), (86400, "1天 00:00:00"), (96928, "1天 02:55:28"),
                                           (10 * 86400 + 61, "10天 00:01:01")])
def test_countdown_has_days_past_24_hours(seconds, text):
    assert countdown_text(seconds) == text


@pytest.mark.parametrize("start, end, text", [
    ("2026-12-10T01:00:00+00:00", "2026-12-10T09:00:00+00:00", "2026年12月10日"),
    ("2026-12-10T01:00:00+00:00", "2026-12-11T16:00:00+00:00", "2026年12月10日—11日"),  # ends 12日 00:00 北京时间
    ("2026-12-10T01:00:00+00:00", "2026-12-11T16:30:00+00:00", "2026年12月10日—12日"),
    ("2026-11-30T01:00:00+00:00", "2026-12-02T01:00:00+00:00", "2026年11月30日—12月2日"),
    ("2026-12-31T01:00:00+00:00", "2027-01-01T08:00:00+00:00", "2026年12月31日—2027年1月1日")])
def test_dates_are_beijing_days(start, end, text):
    assert date_span(datetime.fromisoformat(start), datetime.fromisoformat(end), TZ) == text


def small_board(min_team_size: int = 3) -> Leaderboard:
    teams = {1: TeamInfo(1, "海口一队", "海口市", None, None), 2: TeamInfo(2, "三亚二队", "三亚市", None, 5)}
    members = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
    results = [ParticipantResult(uid, f"选手{uid}", team, teams[team].name, None, 10.0 * uid / 3, uid, 3, 1000 * uid,
                                 None) for uid, team in members.items()]
    return Leaderboard(1, "质量月", rank_individuals(results), rank_teams(results, teams, min_team_size), [],
                       "2025-09-20T10:00:00+08:00", "2025-09-20T12:00:00+00:00", min_team_size)


def test_unranked_teams_are_listed_with_their_shortfall():
    from bot.charts import leaderboard_lines

    board = small_board()
    lines = leaderboard_lines(board)
    kinds = [(line.kind, line.name) for line in lines if line.kind in ("team", "unranked")]
    assert kinds == [("team", "海口一队"), ("unranked", "三亚二队")], "ranked first, the unranked one below"
    unranked = next(line for line in lines if line.kind == "unranked")
    assert unranked.detail == "人数不足 2/3" and unranked.value == "15分"
    assert [line.value for line in lines if line.kind == "team"] == ["6.7分"]  # (3.33 + 6.67 + 10) / 3
    text = ranking_text(board, None)
    assert "三亚二队（人数不足 2/3）" in text and "6.7 分" in text and "6.67" not in text


def test_everyone_unranked_still_lists_teams():
    from bot.charts import leaderboard_lines

    lines = leaderboard_lines(small_board(min_team_size=5))
    assert [line.name for line in lines if line.kind == "unranked"] == ["三亚二队", "海口一队"]
    assert any("不足 5 人" in line.name for line in lines if line.kind == "note")


# --- per-question statistics --------------------------------------------------------------------------------------

def question(qid: str, kind: str, answer: set[int], options=("甲", "乙", "丙", "丁")) -> QuizQuestion:
    return QuizQuestion(qid, kind, f"题干{qid}", tuple(options), frozenset(answer), "解析", "leak.roof", 1)


def test_breakdown_counts_choices_and_puts_the_weakest_first():
    bank = {"q1": question("q1", "single", {1}), "q2": question("q2", "multiple", {0, 2}),
            "q3": question("q3", "judge", {0}, ("正确", "错误"))}
    counts = [
        {"question_id": "q1", "chosen": "B", "correct": 1, "timed_out": 0, "answers": 3},
        {"question_id": "q1", "chosen": "A", "correct": 0, "timed_out": 0, "answers": 1},
        {"question_id": "q2", "chosen": "AC", "correct": 1, "timed_out": 0, "answers": 1},
        {"question_id": "q2", "chosen": "A", "correct": 0, "timed_out": 0, "answers": 2},
        {"question_id": "q2", "chosen": "", "correct": 0, "timed_out": 1, "answers": 1},
        {"question_id": "q3", "chosen": "B", "correct": 0, "timed_out": 0, "answers": 2},
        {"question_id": "gone", "chosen": "C", "correct": 1, "timed_out": 0, "answers": 1},
    ]
    stats = question_breakdown(counts, bank)
    assert [s.question_id for s in stats] == ["q3", "q2", "q1", "gone"]
    q3, q2, q1, gone = stats
    assert (q3.answered, q3.correct, q3.correct_rate) == (2, 0, 0.0)
    assert [(o.letter, o.text, o.chosen, o.right) for o in q3.options] == [("A", "正确", 0, True), ("B", "错误", 2, False)]
    assert (q2.answered, q2.correct, q2.timed_out) == (4, 1, 1)
    assert [o.chosen for o in q2.options] == [3, 0, 1, 0], "a 多选 answer counts for each option it ticked"
    assert q1.correct_rate == 0.75 and [o.chosen for o in q1.options] == [1, 3, 0, 0]
    assert q1.share(3) == 0.75
    assert gone.stem == MISSING_STEM and [o.letter for o in gone.options] == ["C"]


def test_equal_rates_put_the_most_answered_first():
    bank = {"a": question("a", "single", {0}), "b": question("b", "single", {0})}
    counts = [{"question_id": "a", "chosen": "B", "correct": 0, "timed_out": 0, "answers": 1},
              {"question_id": "b", "chosen": "B", "correct": 0, "timed_out": 0, "answers": 4}]
    assert [s.question_id for s in question_breakdown(counts, bank)] == ["b", "a"]


def test_stats_screen_pages_and_links_topics(knowledge_service):
    kb = knowledge_service.kb
    topic = next(iter(kb.topics))
    bank = {f"q{i:02d}": QuizQuestion(f"q{i:02d}", "single", f"题干{i}", ("甲", "乙"), frozenset({0}), "", topic, 1)
            for i in range(7)}
    counts = [{"question_id": qid, "chosen": "A" if i % 2 else "B", "correct": i % 2, "timed_out": 0, "answers": 1 + i}
              for i, qid in enumerate(bank)]
    stats = question_breakdown(counts, bank)
    back = [[]]
    text, keyboard = stats_screen({"id": 3, "title": "质量月"}, stats, 0, kb, back)
    assert "第 1/2 页" in text and "正确率 0%" in text and text.count("✅ A. 甲") == 5
    labels = [button.label for row in keyboard for button in row]
    assert sum(label.startswith("📖 第") for label in labels) == 5 and "下一页 ›" in labels
    text, keyboard = stats_screen({"id": 3, "title": "质量月"}, stats, 1, kb, back)
    labels = [button.label for row in keyboard for button in row]
    assert "第 2/2 页" in text and "‹ 上一页" in labels and "下一页 ›" not in labels
    assert "暂无题目统计" in stats_screen({"id": 3, "title": "质量月"}, [], 0, kb, back)[0]


# --- against storage: statistics, certificates ---------------------------------------------------------------------

@pytest.fixture
def setting(request):
    """test_contests' world with a 三亚市 organiser and the results service."""
    storage, contests, accounts, clock = request.getfixturevalue("world")
    accounts.touch(ORGANISER.user_id, "王工", None)
    storage.grant_role(ORGANISER.user_id, "organiser", "三亚市", None)
    return storage, contests, accounts, clock, ContestResults(storage, contests, TZ, clock)


def take_part(contests: Contests, accounts: Accounts, contest_id: int, user_id: int, rights: list[bool],
              team_id: int | None = None) -> dict:
    accounts.touch(user_id, f"选手{user_id}", None)
    accounts.set_region(user_id, "三亚市")
    accounts.set_role(user_id, "worker")
    if team_id:
        accounts.storage.update_user(user_id, team_id=team_id)
    attempt = contests.start(contest_id, accounts.get(user_id))
    for right in rights:
        shown, _ = contests.ask(attempt["id"], contests.storage.attempt(attempt["id"])["position"])
        wrong = [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
        contests.answer(attempt["id"], user_id, shown.position, shown.right_display if right else wrong)
    return attempt


def make_contest(contests: Contests, **overrides) -> dict:
    values = dict(title="三亚质量月竞赛", starts_at=START, ends_at=START + timedelta(hours=2), questions=3,
                  min_team_size=2, regions=["三亚市"])
    values.update(overrides)
    return contests.create(ContestSpec(**values), ORGANISER)


def test_statistics_from_the_database_match_the_answers(setting):
    storage, contests, accounts, _, results = setting
    contest = make_contest(contests, questions=2)
    for user_id, rights in {11: [True, True], 12: [False, True], 13: [False, False]}.items():
        take_part(contests, accounts, contest["id"], user_id, rights)
    _, stats = results.question_breakdown(contest["id"], ORGANISER)
    answers = storage.contest_answers(contest["id"])
    assert sum(s.answered for s in stats) == len(answers) == 6
    assert sum(s.correct for s in stats) == sum(a["correct"] for a in answers) == 3
    for stat in stats:
        rows = [a for a in answers if a["question_id"] == stat.question_id]
        for option in stat.options:
            assert option.chosen == sum(option.letter in a["chosen"] for a in rows)
    assert [s.correct_rate for s in stats] == sorted(s.correct_rate for s in stats)
    with pytest.raises(PermissionDenied):
        results.question_breakdown(contest["id"], Actor(99, roles={"organiser": "海口市"}))


def test_certificates_are_due_once_the_contest_ends_and_claimed_once(setting):
    storage, contests, accounts, clock, results = setting
    team = accounts.create_team(TeamSpec("凤凰岛二标", "三亚"))
    contest = make_contest(contests)
    take_part(contests, accounts, contest["id"], 21, [True, True, True], team["id"])
    take_part(contests, accounts, contest["id"], 22, [True, False, False], team["id"])
    take_part(contests, accounts, contest["id"], 23, [])  # joined, answered nothing: no certificate
    assert results.certificates_due() == [] and results.certificate(contest["id"], 21) is None  # still running

    clock.advance(2 * 3600)  # the contest's end passes
    due = results.certificates_due()
    assert sorted(row["user_id"] for row in due) == [21, 22]
    certificate = results.certificate(contest["id"], 22)
    assert (certificate.name, certificate.team, certificate.team_rank) == ("选手22", "凤凰岛二标", 1)
    assert (certificate.rank, certificate.participants, certificate.score, certificate.correct) == (2, 2, 10, 1)
    assert certificate.facts.organiser == "王工（三亚市）" and certificate.facts.dates == "2025年9月20日"
    assert results.certificate(contest["id"], 23) is None

    first = due[0]["id"]
    assert results.claim_certificate(first) and not results.claim_certificate(first), "claimed exactly once"
    assert [row["id"] for row in results.certificates_due()] == [due[1]["id"]]
    results.release_certificate(first)  # a send lost to the network is tried again
    assert len(results.certificates_due()) == 2

    clock.advance(4 * 86400)  # long over: nothing more goes out
    assert results.certificates_due() == []


async def test_the_sweep_sends_each_certificate_once_and_retries_only_what_did_not_arrive(setting):
    storage, contests, accounts, clock, results = setting
    contest = make_contest(contests)
    for user_id in (41, 42, 43, 44):
        take_part(contests, accounts, contest["id"], user_id, [True])
    clock.advance(2 * 3600)
    outcomes = {41: DELIVERED, 42: RETRY, 43: UNKNOWN, 44: BLOCKED}
    calls: list[int] = []

    async def send(user_id, certificate):
        calls.append(user_id)
        assert certificate.name == f"选手{user_id}"
        return SendResult(outcomes[user_id], error="test")

    assert await results.deliver_certificates(send) == 1
    assert sorted(calls) == [41, 42, 43, 44]
    assert [row["user_id"] for row in results.certificates_due()] == [42], "only the one that did not arrive"
    outcomes[42] = DELIVERED
    calls.clear()
    assert await results.deliver_certificates(send) == 1 and calls == [42]
    assert await results.deliver_certificates(send) == 0 and calls == [42], "nothing goes out twice"


def test_closing_early_makes_certificates_due(setting):
    storage, contests, accounts, clock, results = setting
    contest = make_contest(contests)
    take_part(contests, accounts, contest["id"], 31, [True])
    contests.close(contest["id"], ORGANISER)
    assert [row["user_id"] for row in results.certificates_due()] == [31]
    assert results.certificate(contest["id"], 31).questions == 3


def test_contests_that_ended_before_certificates_get_none():
    """The migration marks attempts of contests already over, so an upgrade does not send old certificates."""
    from bot.storage import schema

    storage = Storage.memory()
    db = storage.db
    Accounts(storage).touch(5, "老用户", None)
    db.execute("INSERT INTO contests (id, title, starts_at, ends_at, question_count, board_token, created_at) "
               "VALUES (1, 'old', '2020-01-01T00:00:00.000+00:00', '2020-01-02T00:00:00.000+00:00', 3, 'a', 'x'), "
               "(2, 'new', '2020-01-01T00:00:00.000+00:00', '2999-01-02T00:00:00.000+00:00', 3, 'b', 'x')")
    for attempt_id, contest_id in ((1, 1), (2, 2)):
        db.execute("INSERT INTO attempts (id, contest_id, user_id, name, plan, position, started_at) "
                   "VALUES (?, ?, 5, 'x', '[]', 1, 'x')", [attempt_id, contest_id])
    db.execute("ALTER TABLE attempts DROP COLUMN certificate_sent_at")
    schema.m011_certificate_sent(db)
    marks = dict(db.execute("SELECT id, certificate_sent_at FROM attempts").fetchall())
    assert marks[1] is not None and marks[2] is None
