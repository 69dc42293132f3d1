"""我的: the practice streak in 北京时间, accuracy, contest places as the leaderboard ranks them, and the screen."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.clock import iso
from bot.contests import Contests
from bot.profile import ContestResult, Profiles, ProfileStats, daily_streak
from bot.storage import Storage
from bot.ui.menu import profile
from tests.helpers import Clock

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 9, 10)


def days_before(*offsets: int) -> list[date]:
    return [TODAY - timedelta(days=n) for n in offsets]


def test_streak_counts_consecutive_days_up_to_today_or_yesterday():
    assert daily_streak([], TODAY) == 0
    assert daily_streak(days_before(0), TODAY) == 1
    assert daily_streak(days_before(0, 1, 2), TODAY) == 3
    assert daily_streak(days_before(0, 1, 3, 4, 5), TODAY) == 2, "a gap ends the run"
    assert daily_streak(days_before(1, 2), TODAY) == 2, "today can still join yesterday's run"
    assert daily_streak(days_before(2, 3, 4), TODAY) == 0, "a missed day ends it"
    assert daily_streak(days_before(0, 0, 1), TODAY) == 2, "several sessions a day count once"


def practise(storage: Storage, user_id: int, moments: list[datetime], right: list[bool]) -> None:
    """One practice session with an answer at each moment, through the storage calls the practice feature uses."""
    ids = [f"q-{i}" for i in range(len(moments))]
    session = storage.practice(storage.insert_practice({"user_id": user_id, "kind": "practice", "category": None,
                                                        "plan": json.dumps(ids)}))
    for position, (moment, correct) in enumerate(zip(moments, right)):
        assert storage.record_practice_answer(session, {
            "position": position, "question_id": ids[position], "chosen": "A", "correct": int(correct),
            "answered_at": iso(moment)}, position + 1 == len(moments))


def test_empty_history():
    storage = Storage.memory()
    storage.upsert_user(5, "张工", None)
    stats = Profiles(storage, TZ, Clock(datetime(2025, 9, 10, 4, 0, tzinfo=timezone.utc))).stats(5)
    assert stats == ProfileStats(answered=0, correct=0, streak=0, practised_today=False, wrongbook=0, contests=[])
    assert stats.accuracy is None


def test_streak_and_accuracy_follow_beijing_midnight_not_utc():
    storage = Storage.memory()
    storage.upsert_user(5, "张工", None)
    # 23:50 and 00:10 北京时间 are two days there, but the same UTC day (2025-09-08 15:50 and 16:10)
    practise(storage, 5, [datetime(2025, 9, 8, 15, 50, tzinfo=timezone.utc),
                          datetime(2025, 9, 8, 16, 10, tzinfo=timezone.utc)], [True, False])
    clock = Clock(datetime(2025, 9, 9, 15, 30, tzinfo=timezone.utc))  # 2025-09-09 23:30 北京时间
    profiles = Profiles(storage, TZ, clock)
    stats = profiles.stats(5)
    assert (stats.answered, stats.correct, stats.accuracy, stats.wrongbook) == (2, 1, 0.5, 1)
    assert (stats.streak, stats.practised_today) == (2, True)
    clock.advance(60 * 60)  # 00:30 on the 10th in Beijing: nothing yet today, the run is still alive
    assert (profiles.stats(5).streak, profiles.stats(5).practised_today) == (2, False)
    clock.advance(24 * 60 * 60)  # a whole 北京 day without practice
    assert profiles.stats(5).streak == 0
    practise(storage, 5, [clock()], [True])
    assert (profiles.stats(5).streak, profiles.stats(5).answered) == (1, 3)
    assert profiles.stats(6).answered == 0, "only one's own answers count"


def test_contest_places_agree_with_the_leaderboard():
    """Random boards with ties in score, time and finishing time, fractional scores and unstarted attempts."""
    rng = random.Random(7)
    for round_ in range(15):
        storage = Storage.memory()
        contests = Contests(storage, lambda: None, lambda: None, TZ)
        start = datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
        cid = storage.insert_contest({"title": f"竞赛{round_}", "starts_at": iso(start),
                                      "ends_at": iso(start + timedelta(hours=1)), "question_count": 3,
                                      "board_token": f"token{round_}"})
        users = list(range(100, 100 + rng.randint(1, 14)))
        for uid in users:
            storage.upsert_user(uid, f"用户{uid}", None)
            attempt = storage.insert_attempt({"contest_id": cid, "user_id": uid, "team_id": None, "region": None,
                                              "name": f"用户{uid}", "plan": "[]", "started_at": iso(start)})
            position = rng.choice([0, 1, 2, 3, 3])
            finished = rng.choice([None, iso(start + timedelta(minutes=10)), iso(start + timedelta(minutes=11))])
            score = sum(rng.choice([0.0, 10.0, 13.7, 11.2, 14.9]) for _ in range(position))
            storage.db.execute("UPDATE attempts SET position = ?, score = ?, time_ms = ?, finished_at = ? WHERE id = ?",
                               [position, score, rng.choice([3000, 4000]), finished, attempt["id"]])
        board = contests.leaderboard(cid, with_questions=False)
        for uid in users:
            [row] = storage.contest_history(uid, 3)
            place = board.place_of(uid)
            assert row["place"] == (place.rank if place else None), (round_, uid)
            assert row["participants"] == board.participants


def test_latest_contests_come_first_and_are_limited():
    storage = Storage.memory()
    storage.upsert_user(5, "张工", None)
    start = datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
    for n in range(5):
        cid = storage.insert_contest({"title": f"第{n}期", "starts_at": iso(start), "ends_at": iso(start),
                                      "question_count": 3, "board_token": f"t{n}"})
        storage.insert_attempt({"contest_id": cid, "user_id": 5, "team_id": None, "region": None, "name": "张工",
                                "plan": "[]", "started_at": iso(start + timedelta(days=n))})
    stats = Profiles(storage, TZ, Clock(start + timedelta(days=6))).stats(5)
    assert [c.title for c in stats.contests] == ["第4期", "第3期", "第2期"]
    assert all(c.place is None and not c.finished for c in stats.contests), "nothing answered: not on the board"


def labels(keyboard) -> list[str]:
    return [button.label for row in keyboard for button in row]


def test_profile_screen_shows_registration_figures_and_ways_on():
    user = {"id": 5, "first_name": "张工", "region": "三亚市", "role": "worker", "team_id": 3,
            "team_name": "海棠湾项目部", "team_company": None}
    stats = ProfileStats(answered=12, correct=9, streak=3, practised_today=True, wrongbook=2, contests=[
        ContestResult(7, "质量月<知识>竞赛", 85.5, 2, 30, True), ContestResult(8, "安全周", 0.0, None, 4, False)])
    text, keyboard = profile(user, is_admin=False, stats=stats)
    for fragment in ("市县：三亚市", "身份：一线工人/班组长", "团队：海棠湾项目部", "已答 12 题，答对 9 题，正确率 75%",
                     "连续练习：3 天", "质量月&lt;知识&gt;竞赛：第 2 名/共 30 人，得分 85.5", "安全周：尚未作答"):
        assert fragment in text, fragment
    assert {"错题本", "答题竞赛", "返回主菜单", "📋 质量月<知识>竞赛", "🏆 排行榜"} <= set(labels(keyboard))
    rows = [[button.data for button in row] for row in keyboard if row[0].label == "📋 质量月<知识>竞赛"]
    assert [type(callback).__name__ for callback in rows[0]] == ["ContestCard", "Ranking"]
    assert rows[0][0].contest == rows[0][1].contest == 7, "each listed contest's card, beside its ranking"
    empty = ProfileStats(answered=0, correct=0, streak=0, practised_today=False, wrongbook=0, contests=[])
    text, keyboard = profile(user, is_admin=False, stats=empty)
    assert "还没有做过练习" in text and "还没有参加过竞赛" in text and "连续练习" not in text
    assert "错题本" not in labels(keyboard) and "返回主菜单" in labels(keyboard)
