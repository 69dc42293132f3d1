"""Live contests in plain Python: the host's moves, one shared deadline, answers recorded once, late joiners."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.accounts import Accounts, TeamSpec
from bot.contest_files import ContestFileError, read_contest_file
from bot.contests import GRACE_SECONDS, ContestError, Contests, ContestSpec
from bot.live import ENDED, LOBBY, PAUSED, QUESTION, REVEAL
from bot.policy import Actor, PermissionDenied
from bot.storage import Storage
from tests.helpers import Clock

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc)
ORGANISER = Actor(1, roles={"organiser": "全省"})
STRANGER = Actor(2, roles={"organiser": "三亚市"})


@pytest.fixture
def world(knowledge_service):
    storage = Storage.memory()
    clock = Clock(START + timedelta(minutes=1))
    contests = Contests(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=clock)
    steps = []
    contests.live_listeners.append(steps.append)
    return storage, contests, Accounts(storage), clock, steps


def live_contest(contests: Contests, **overrides) -> dict:
    values = dict(title="现场知识竞赛", starts_at=START, ends_at=START + timedelta(hours=2), questions=4,
                  seconds_per_question=20, min_team_size=1, mode="live")
    values.update(overrides)
    return contests.create(ContestSpec(**values), ORGANISER)


def join(contests: Contests, accounts: Accounts, contest: dict, user_id: int, team_id: int | None = None) -> dict:
    accounts.touch(user_id, f"选手{user_id}", None)
    accounts.set_region(user_id, "三亚市")
    accounts.set_role(user_id, "worker")
    if team_id:
        accounts.storage.update_user(user_id, team_id=team_id)
    attempt = contests.start(contest["id"], accounts.get(user_id))
    contests.live_entry(attempt)
    return attempt


def press(contests: Contests, attempt: dict, right: bool = True):
    shown = contests.current_question(attempt["id"], attempt["user_id"])
    choice = shown.right_display if right else [i for i in range(len(shown.options)) if i not in shown.right_display][:1]
    return contests.answer(attempt["id"], attempt["user_id"], shown.position, choice)


def open_next(contests: Contests, contest_id: int, action: str = "next") -> str:
    contest = contests.contest(contest_id)
    return contests.host(contest_id, action, contest["live_position"] + 1, actor=ORGANISER)


def test_everyone_gets_the_same_questions_in_the_same_order(world):
    storage, contests, accounts, _, _ = world
    contest = live_contest(contests)
    plans = {join(contests, accounts, contest, uid)["plan"] for uid in (11, 12, 13)}
    assert len(plans) == 1, "a live contest shares one plan, so the big screen can show the options"
    assert contests.live_view(contest["id"])["state"] == LOBBY


def test_no_question_before_the_host_opens_it(world):
    storage, contests, accounts, clock, _ = world
    contest = live_contest(contests)
    attempt = join(contests, accounts, contest, 11)
    assert contests.ask(attempt["id"], 0) is None, "only the host opens a live question"
    assert contests.current_question(attempt["id"], 11).asked_at is None
    outcome = contests.answer(attempt["id"], 11, 0, [0])
    assert outcome.status == "already" and storage.contest_answers(contest["id"]) == []


def test_a_round_with_one_deadline_recorded_once(world):
    storage, contests, accounts, clock, steps = world
    contest = live_contest(contests, speed_bonus=True)
    a, b, c = (join(contests, accounts, contest, uid) for uid in (11, 12, 13))
    assert open_next(contests, contest["id"], "start") == "第 1 题已发出。"
    opened = steps[-1]
    assert (opened.state, opened.position, opened.opened) == (QUESTION, 0, True)
    assert {user_id for _, user_id in opened.recipients} == {11, 12, 13}
    assert open_next(contests, contest["id"], "start") != "第 1 题已发出。", "a second press opens nothing"
    assert contests.live_view(contest["id"])["deadline"] is None, "no clock while the question is being sent"
    early = press(contests, a)
    assert early.status == "not_yet", "nobody answers before the question has reached everyone"
    assert storage.contest_answers(contest["id"]) == []
    clock.advance(5)  # sending to everyone took five seconds
    assert contests.live_delivered(contest["id"], 0)
    assert not contests.live_delivered(contest["id"], 0), "the clock starts once"
    deadline = datetime.fromisoformat(contests.live_view(contest["id"])["deadline"])
    assert deadline == clock() + timedelta(seconds=20)
    clock.advance(2)
    first = press(contests, a)
    assert (first.status, first.correct, first.following) == ("recorded", True, None)
    assert 14 < first.points < 15, "the speed bonus counts from when the clock started, not from the opening"
    assert press(contests, a).status == "already", "the first answer counts"
    press(contests, b, right=False)
    assert contests.contest(contest["id"])["live_state"] == QUESTION, "one participant still to answer"
    clock.advance(20 + GRACE_SECONDS + 0.5)
    assert press(contests, c).status == "timed_out", "after the shared deadline an answer scores nothing"
    assert contests.contest(contest["id"])["live_state"] == REVEAL, "the last answer reveals at once"
    view = contests.live_view(contest["id"])
    right = view["question"]["right"]
    # a ticked every right option, b one wrong one (a 多选 question counts each option ticked)
    assert sum(view["distribution"][i] for i in right) == len(right) and sum(view["distribution"]) == len(right) + 1
    assert view["no_answer"] == 1 and view["answered"] == 2
    assert [p["name"] for p in view["top_people"]][0] == "选手11"
    answers = storage.contest_answers(contest["id"])
    assert [(r["user_id"], r["position"]) for r in answers] == [(11, 0), (12, 0), (13, 0)]


def test_the_deadline_reveals_and_whoever_did_not_answer_gets_it_recorded(world):
    storage, contests, accounts, clock, _ = world
    contest = live_contest(contests)
    a, b = (join(contests, accounts, contest, uid) for uid in (11, 12))
    open_next(contests, contest["id"], "start")
    contests.live_delivered(contest["id"], 0)
    press(contests, a)
    clock.advance(21 + GRACE_SECONDS)
    assert contests.live_reveal(contest["id"], 0)
    assert not contests.live_reveal(contest["id"], 0), "revealed once"
    assert contests.answer(b["id"], 12, 0, [0]).status == "already", "too late: the question has moved on"
    row = [r for r in storage.contest_answers(contest["id"]) if r["user_id"] == 12]
    assert [(r["position"], r["timed_out"], r["points"], r["time_ms"]) for r in row] == [(0, 1, 0.0, 20_000)]
    assert storage.attempt(b["id"])["position"] == 1


def test_pause_resume_and_stale_host_buttons(world):
    storage, contests, accounts, clock, _ = world
    contest = live_contest(contests)
    join(contests, accounts, contest, 11)
    assert contests.host(contest["id"], "pause", 0, actor=ORGANISER) == "现在不能这样操作。"
    open_next(contests, contest["id"], "start")
    assert contests.host(contest["id"], "next", 1, actor=ORGANISER) == "现在不能出下一题。", "not while answering"
    contests.live_delivered(contest["id"], 0)
    clock.advance(25)
    contests.live_reveal(contest["id"], 0)
    assert contests.host(contest["id"], "pause", 1, actor=ORGANISER) == "已暂停。"
    assert contests.contest(contest["id"])["live_state"] == PAUSED
    assert contests.host(contest["id"], "next", 0, actor=ORGANISER) == "主持界面已经过时，请看最新状态。"
    assert contests.host(contest["id"], "resume", 1, actor=ORGANISER).startswith("已继续")
    assert contests.host(contest["id"], "next", 1, actor=ORGANISER) == "第 2 题已发出。"


def test_a_late_joiner_enters_at_the_open_question(world):
    storage, contests, accounts, clock, _ = world
    contest = live_contest(contests)
    early = join(contests, accounts, contest, 11)
    open_next(contests, contest["id"], "start")
    contests.live_delivered(contest["id"], 0)
    press(contests, early)  # everyone answered: revealed
    open_next(contests, contest["id"])
    contests.live_delivered(contest["id"], 1)
    clock.advance(3)
    late = join(contests, accounts, contest, 12)
    shown = contests.current_question(late["id"], 12)
    assert shown.position == 1 and shown.asked_at is not None, "the late joiner gets the open question"
    assert contests.live_entry(contests.storage.attempt(late["id"])).position == 1, "coming back shows it again"
    missed = [(r["position"], r["timed_out"]) for r in storage.contest_answers(contest["id"]) if r["user_id"] == 12]
    assert missed == [(0, 1)], "the question missed is recorded as unanswered"
    assert press(contests, late).status == "recorded"


def test_end_tells_everyone_and_closes(world):
    storage, contests, accounts, clock, steps = world
    contest = live_contest(contests, questions=2)
    a, b = (join(contests, accounts, contest, uid) for uid in (11, 12))
    for position, action in enumerate(("start", "next")):
        open_next(contests, contest["id"], action)
        contests.live_delivered(contest["id"], position)
        press(contests, a)
        clock.advance(21 + GRACE_SECONDS)
        contests.live_reveal(contest["id"], position)
    assert open_next(contests, contest["id"]).startswith("题目已经出完")
    assert storage.attempt(a["id"])["finished_at"] is None, "attempts end with the contest, not with the last answer"
    assert contests.host(contest["id"], "end", 2, actor=ORGANISER).startswith("竞赛已结束")
    ended = steps[-1]
    assert ended.state == ENDED and {u for _, u in ended.recipients} == {11, 12}
    row = contests.contest(contest["id"])
    assert row["closed_at"] and row["live_state"] == ENDED
    assert all(storage.attempt(x["id"])["finished_at"] for x in (a, b))
    view = contests.live_view(contest["id"])
    assert [p["name"] for p in view["podium"]["people"]] == ["选手11", "选手12"]
    assert contests.host(contest["id"], "end", 2, actor=ORGANISER) == "竞赛已经结束。", "ended once"


def test_only_its_organiser_or_the_host_token_may_host(world):
    storage, contests, accounts, _, _ = world
    contest = live_contest(contests)
    with pytest.raises(PermissionDenied):
        contests.host(contest["id"], "start", 0, actor=STRANGER)
    with pytest.raises(PermissionDenied):
        contests.host(contest["id"], "start", 0, host_token=contest["board_token"])
    with pytest.raises(PermissionDenied):
        contests.host(contest["id"], "start", 0, host_token="")
    assert contests.host(contest["id"], "start", 0, host_token=contest["host_token"]) == "第 1 题已发出。"
    self_paced = contests.create(ContestSpec(title="自主", starts_at=START, ends_at=START + timedelta(hours=1),
                                             questions=2), ORGANISER)
    assert self_paced["host_token"] is None
    with pytest.raises(ContestError):
        contests.host(self_paced["id"], "start", 0, actor=ORGANISER)


def test_closing_a_live_contest_from_management_ends_it(world):
    storage, contests, accounts, _, steps = world
    contest = live_contest(contests)
    join(contests, accounts, contest, 11)
    contests.close(contest["id"], ORGANISER)
    assert contests.contest(contest["id"])["live_state"] == ENDED and steps[-1].state == ENDED


def test_after_a_restart(world):
    storage, contests, accounts, clock, steps = world
    contest = live_contest(contests)
    join(contests, accounts, contest, 11)
    open_next(contests, contest["id"], "start")
    steps.clear()
    contests.live_resume()  # the sending was cut off: out again, clock not started
    assert steps[-1].opened and steps[-1].resend and steps[-1].recipients
    contests.live_delivered(contest["id"], 0)
    steps.clear()
    contests.live_resume()  # a running clock keeps its deadline
    assert steps and not steps[-1].opened and contests.contest(contest["id"])["live_state"] == QUESTION
    clock.advance(30)
    contests.live_resume()  # its time ran out while the bot was down
    assert contests.contest(contest["id"])["live_state"] == REVEAL


def test_teams_on_the_board(world):
    storage, contests, accounts, _, _ = world
    team = accounts.create_team(TeamSpec("凤凰岛二标", "三亚"))
    contest = live_contest(contests)
    a = join(contests, accounts, contest, 11, team["id"])
    open_next(contests, contest["id"], "start")
    contests.live_delivered(contest["id"], 0)
    press(contests, a)
    view = contests.live_view(contest["id"])
    assert view["top_teams"][0]["name"] == "凤凰岛二标" and view["top_teams"][0]["mean_text"] == "10"


def test_the_mode_in_yaml(tmp_path: Path):
    path = tmp_path / "live.yaml"
    path.write_text("title: 现场赛\nstarts_at: now\nends_at: 2h\nquestions: 5\nmode: live\n", encoding="utf-8")
    assert read_contest_file(path, TZ).mode == "live"
    path.write_text("title: 现场赛\nstarts_at: now\nends_at: 2h\nquestions: 5\nmode: kahoot\n", encoding="utf-8")
    with pytest.raises(ContestFileError) as error:
        read_contest_file(path, TZ)
    assert "live.yaml:5" in str(error.value) and "mode" in str(error.value)


def test_a_live_multiple_choice_question_ticks_by_toast(knowledge_service):
    from bot.contests import ShownQuestion
    from bot.ui import live as screens
    from bot.ui.contest import SubmitOptions

    question = next(q for q in knowledge_service.bank.questions.values() if q.type == "multiple")
    shown = ShownQuestion(7, 1, 5, question, tuple(range(len(question.options))), 20, None)
    text, keyboard = screens.question_screen(shown)
    buttons = [button for row in keyboard for button in row]
    assert "第 2/5 题" in text and "提示里显示" in text
    ticks = [b for b in buttons if isinstance(b.data, screens.LiveTick)]
    assert len(ticks) == len(question.options) and not any(b.label.startswith(("☐", "☑")) for b in ticks), \
        "no tick marks that an edit would have to change"
    assert isinstance(buttons[-1].data, SubmitOptions)
    assert screens.ticked_text({2, 0}) == "已选：A、C。选好后按“提交”。" and screens.ticked_text(set()) == "还没有选择选项。"
