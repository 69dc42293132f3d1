"""Practice as people see it, in plain Python: where options are shown, what an answer's feedback says, 结束 and the
summary, the 错题本 list, and when 每日一题 is pushed (a fixed clock)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.accounts import Accounts
from bot.contests import Contests, ContestSpec, ShownQuestion
from bot.practice import SESSION_SIZE, Practice, PracticeError, next_daily_push
from bot.quiz import BUTTON_OPTION_LIMIT, QuizQuestion
from bot.storage import Storage
from bot.ui import contest as contest_screens
from bot.ui import practice as screens
from bot.ui.announce import NoticeSettings
from bot.ui.ask import OpenTopic
from bot.ui.menu import Menu
from bot.ui.quiz import answer_keyboard, feedback_text, question_text
from tests.helpers import Clock

TZ = ZoneInfo("Asia/Shanghai")
BEIJING_0830 = datetime(2025, 9, 10, 0, 30, tzinfo=timezone.utc)


def question(options: tuple[str, ...], kind: str = "single", answer=frozenset({2})) -> QuizQuestion:
    return QuizQuestion(id="t-001", type=kind, stem="屋面防水层的最小坡度是多少？", options=options, answer=answer,
                        explanation="因为如此。", topic="leak.roof", difficulty=1)


def labels(keyboard) -> list[list[str]]:
    return [[button.label for button in row] for row in keyboard]


def callbacks(keyboard) -> list:
    return [button.data for row in keyboard for button in row]


def pressed(callback_type):
    return lambda ref, position, option=None: callback_type(ref, position, option) if option is not None \
        else callback_type(ref, position)


OPTION = pressed(screens.PracticeAnswer)
TOGGLE = pressed(screens.PracticeToggle)
SUBMIT = pressed(screens.PracticeSubmit)


# --- options are shown once: on the buttons when short, in the text (letters on buttons) when long -----------------

def test_short_options_are_on_the_buttons_only():
    options = ("2%", "3%", "5%", "一" * BUTTON_OPTION_LIMIT)  # the limit itself still fits
    item = question(options)
    text = question_text("练习 1/10", item, list(options), None, None, None)
    assert item.stem in text
    assert not any(option in text for option in options), "options printed a second time in the text"
    keyboard = answer_keyboard(OPTION, TOGGLE, SUBMIT, 7, 0, item, list(options))
    assert labels(keyboard) == [[f"{letter}. {option}"] for letter, option in zip("ABCD", options)]


def test_long_options_go_in_the_text_and_buttons_carry_letters():
    options = ("2%", "3%", "5%", "一" * (BUTTON_OPTION_LIMIT + 1))
    item = question(options)
    text = question_text("练习 1/10", item, list(options), None, None, None)
    for letter, option in zip("ABCD", options):
        assert text.count(f"{letter}. {option}") == 1
    keyboard = answer_keyboard(OPTION, TOGGLE, SUBMIT, 7, 0, item, list(options))
    assert labels(keyboard) == [["A", "B", "C", "D"]]
    multiple = question(options, "multiple", frozenset({0, 1}))
    keyboard = answer_keyboard(OPTION, TOGGLE, SUBMIT, 7, 0, multiple, list(options), {1})
    assert labels(keyboard) == [["☐ A", "☑ B", "☐ C", "☐ D"], ["提交"]]
    assert callbacks(keyboard)[1] == screens.PracticeToggle(7, 0, 1)


def test_every_practice_question_has_an_end_button_but_the_daily_one(knowledge_service):
    service = practice_service(knowledge_service)
    item = service.start(5)
    assert callbacks(screens.question_screen(item)[1])[-1] == screens.PracticeEnd(item.session_id)
    assert labels(screens.question_screen(item)[1])[-1] == ["结束"]
    service.subscribe(5, "12:00")
    daily = service.daily_question(5)
    assert "结束" not in sum(labels(screens.question_screen(daily)[1]), [])


# --- feedback: the option chosen beside the right one -------------------------------------------------------------

def test_wrong_answer_shows_the_choice_beside_the_right_answer():
    options = ("2%", "3%", "5%", "10%")
    item = question(options)
    text = feedback_text("练习 1/10", item, list(options), [2], "wrong", None, (1,))
    assert "您选了：B. 3%\n正确答案：C. 5%" in text
    right = feedback_text("练习 1/10", item, list(options), [2], "right", None, (2,))
    assert "您选了" not in right and "正确答案：C. 5%" in right
    timeout = feedback_text("第 1/5 题", item, list(options), [2], "timeout", 0.0, ())
    assert "您选了" not in timeout
    multiple = question(options, "multiple", frozenset({0, 2}))
    text = feedback_text("练习 2/10", multiple, list(options), [0, 2], "wrong", None, (0, 1))
    assert "您选了：A. 2%；B. 3%\n正确答案：A. 2%；C. 5%" in text


def practice_service(knowledge_service, now: datetime = BEIJING_0830) -> Practice:
    storage = Storage.memory()
    storage.upsert_user(5, "张工", None)
    return Practice(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=Clock(now),
                    rng=random.Random(3))


def wrong_choice(item) -> list[int]:
    return [next(i for i in range(len(item.options)) if i not in item.right_display)]


def test_practice_feedback_names_the_option_chosen(knowledge_service):
    service = practice_service(knowledge_service)
    item = service.start(5)
    chosen = wrong_choice(item)
    outcome = service.answer(item.session_id, 5, 0, chosen)
    assert outcome.chosen == tuple(chosen) and not outcome.correct
    text, keyboard = screens.feedback(knowledge_service.kb, outcome.item, False, outcome.chosen, None)
    letter = "ABCD"[chosen[0]]
    assert f"您选了：{letter}. " in text and "正确答案：" in text
    assert callbacks(keyboard) == [OpenTopic(item.question.topic)]


def test_contest_feedback_names_the_option_chosen_in_the_order_shown(knowledge_service):
    storage = Storage.memory()
    start = datetime(2025, 9, 20, 1, 0, tzinfo=timezone.utc)
    clock = Clock(start + timedelta(minutes=5))
    contests = Contests(storage, lambda: knowledge_service.bank, lambda: knowledge_service.kb, TZ, clock=clock)
    accounts = Accounts(storage)
    accounts.touch(21, "用户21", None)
    accounts.set_region(21, "三亚市")
    accounts.set_role(21, "worker")
    contest = contests.create(ContestSpec(title="质量月知识竞赛", starts_at=start, ends_at=start + timedelta(hours=2),
                                          questions=5, seconds_per_question=30), None, organiser_id=1)
    attempt = contests.start(contest["id"], accounts.get(21))
    shown, _ = contests.ask(attempt["id"], 0)
    shuffled = next((i for i in range(len(shown.order)) if shown.order[i] != i and i not in shown.right_display),
                    wrong_choice(shown)[0])
    outcome = contests.answer(attempt["id"], 21, 0, [shuffled])
    assert outcome.chosen == (shuffled,), "the choice as the participant saw it, not the bank's order"
    text, _ = contest_screens.previous_screen(knowledge_service.kb, outcome.shown, "wrong", 0.0, outcome.chosen)
    assert f"您选了：{'ABCD'[shuffled]}. {shown.options[shuffled]}" in text
    assert isinstance(outcome.shown, ShownQuestion)


# --- 结束 and the summary -----------------------------------------------------------------------------------------

def test_end_stops_the_round_and_the_summary_lists_the_wrong_questions(knowledge_service):
    service = practice_service(knowledge_service)
    kb = knowledge_service.kb
    item = service.start(5, "防水与渗漏")
    first_wrong = wrong_choice(item)
    missed_question = item.question
    service.answer(item.session_id, 5, 0, first_wrong)
    second = service.current(service.storage.practice(item.session_id))
    service.answer(item.session_id, 5, 1, second.right_display)
    done = service.end(item.session_id, 5)
    assert (done.planned, done.answered, done.right, done.complete) == (SESSION_SIZE, 2, 1, False)
    assert [(m.position, m.question.id, m.chosen) for m in done.missed] == [(0, missed_question.id, tuple(first_wrong))]
    assert service.answer(item.session_id, 5, 2, [0]).status == "ended", "the round is over after 结束"
    assert service.end(item.session_id, 6) is None, "someone else's round"

    text, keyboard = screens.summary(kb, done)
    assert "练习结束" in text and "已答 2 题，答对 1 题" in text
    assert missed_question.stem[:10] in text
    assert f"您选 {'ABCD'[first_wrong[0]]}. " in text and f"正确 {missed_question.answer_letters[0]}. " in text
    topic = kb.get(missed_question.topic)
    assert OpenTopic(topic.id) in callbacks(keyboard)
    assert any(label.startswith("📖 第1题：") for row in labels(keyboard) for label in row)
    assert screens.PracticeCategory(kb.categories.index("防水与渗漏")) in callbacks(keyboard), "再练一组: same category"
    assert {"再练一组", "错题本", "« 主菜单"} <= set(sum(labels(keyboard), []))


def test_summary_of_a_full_round_and_of_a_perfect_one(knowledge_service):
    service = practice_service(knowledge_service)
    item = service.start(5)
    for position in range(item.total):
        current = service.current(service.storage.practice(item.session_id))
        service.answer(item.session_id, 5, position, current.right_display if position else wrong_choice(current))
    text, keyboard = screens.summary(knowledge_service.kb, service.summary(item.session_id, 5))
    assert "练习完成" in text and f"答对 {item.total - 1}/{item.total}" in text and "答错的题" in text
    assert screens.PracticeRandom() in callbacks(keyboard)
    perfect = service.start(5)
    for position in range(perfect.total):
        current = service.current(service.storage.practice(perfect.session_id))
        service.answer(perfect.session_id, 5, position, current.right_display)
    text, keyboard = screens.summary(knowledge_service.kb, service.summary(perfect.session_id, 5))
    assert "答错的题" not in text and "全部答对" in text
    assert not any(isinstance(c, OpenTopic) for c in callbacks(keyboard))


# --- the 错题本 list ---------------------------------------------------------------------------------------------

def test_wrongbook_lists_its_questions_paged_before_any_drill(knowledge_service):
    service = practice_service(knowledge_service)
    text, keyboard = screens.wrongbook([], 0)
    assert "错题本是空的" in text and Menu("practice") in callbacks(keyboard) and Menu("home") in callbacks(keyboard)
    missed = []
    for _ in range(2):  # two rounds all wrong: up to 20 questions in the book
        item = service.start(5)
        for position in range(item.total):
            current = service.current(service.storage.practice(item.session_id))
            service.answer(item.session_id, 5, position, wrong_choice(current))
            if current.question.id not in missed:
                missed.append(current.question.id)
    questions = service.wrongbook(5)
    assert [q.id for q in questions] == missed and len(missed) > SESSION_SIZE
    text, keyboard = screens.wrongbook(questions, 0)
    assert f"共 {len(missed)} 题" in text and "第 1/2 页" in text
    assert "1. " in text and f"{SESSION_SIZE + 1}. " not in text
    assert screens.WrongBookDrill(0) in callbacks(keyboard) and screens.WrongBookPage(1) in callbacks(keyboard)
    assert any(label.startswith("开始练习") for label in sum(labels(keyboard), []))
    text, keyboard = screens.wrongbook(questions, 1)
    assert f"{SESSION_SIZE + 1}. " in text and screens.WrongBookPage(0) in callbacks(keyboard)
    assert screens.WrongBookPage(2) not in callbacks(keyboard)
    drill = service.start_wrongbook(5, 1)
    assert drill.kind == "wrongbook" and drill.total == len(missed) - SESSION_SIZE
    assert drill.question.id == missed[SESSION_SIZE]
    assert service.start_wrongbook(5, 9).question.id == missed[SESSION_SIZE], "a page past the end: the last one"
    with pytest.raises(PracticeError):
        practice_service(knowledge_service).start_wrongbook(5)


# --- 每日一题: when the next one comes --------------------------------------------------------------------------

def beijing(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 9, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize("now, last_sent_on, expected", [
    (beijing(10, 14, 58), None, beijing(11, 7, 0)),          # past today's 07:00: tomorrow
    (beijing(10, 6, 30), None, beijing(10, 7, 0)),           # still ahead today
    (beijing(10, 7, 0), None, beijing(11, 7, 0)),            # this very minute counts as past
    (beijing(10, 6, 30), "2025-09-10", beijing(11, 7, 0)),   # today's was sent already
    (beijing(10, 6, 30), "2025-09-09", beijing(10, 7, 0)),
    (datetime(2025, 9, 10, 22, 30, tzinfo=timezone.utc), None, beijing(11, 7, 0)),  # 06:30 on the 11th in Beijing
    (datetime(2025, 9, 10, 23, 30, tzinfo=timezone.utc), None, beijing(12, 7, 0)),  # 07:30 on the 11th
])
def test_next_daily_push(now, last_sent_on, expected):
    assert next_daily_push("07:00", now, TZ, last_sent_on) == expected


def test_turning_on_a_past_time_pushes_nothing_until_tomorrow(knowledge_service):
    service = practice_service(knowledge_service, beijing(10, 14, 58))
    status = service.subscribe(5, "07:00")
    assert status.enabled and status.next_push == beijing(11, 7, 0)
    for moment in (beijing(10, 14, 58), beijing(10, 14, 59), beijing(10, 23, 59), beijing(11, 6, 59)):
        service.clock.now = moment
        assert service.due_daily() == [], f"pushed at {moment:%m-%d %H:%M}"
    text, keyboard = screens.daily_settings(service.daily_status(5), "notice")
    assert "下一次推送：今天 07:00" in text  # 06:59 on the 11th
    service.clock.now = beijing(11, 7, 0)
    assert service.due_daily() == [5]
    assert labels(keyboard)[-1] == ["« 返回订阅设置", "« 主菜单"]
    assert callbacks(keyboard)[-2] == NoticeSettings()


def test_a_time_still_ahead_today_comes_today_and_the_screen_says_so(knowledge_service):
    service = practice_service(knowledge_service, beijing(10, 14, 58))
    status = service.subscribe(5, "18:00")
    assert status.next_push == beijing(10, 18, 0)
    service.clock.now = beijing(10, 18, 0)
    assert service.due_daily() == [5]
    text, keyboard = screens.daily_settings(status, "practice")
    assert "当前：每天 18:00 推送" in text and "下一次推送：今天 18:00" in text
    assert "✅ 18:00" in sum(labels(keyboard), [])
    assert screens.DailyChoose("off", "practice") in callbacks(keyboard)
    assert callbacks(keyboard)[-2] == Menu("practice")
    assert screens.DailyChoose("0700", "practice").pack() == "pD:0700:practice"
    off = service.subscribe(5, None)
    text, keyboard = screens.daily_settings(off, "me")
    assert "未开启" in text and off.next_push is None and callbacks(keyboard)[-2] == Menu("me")
    assert not any(c == screens.DailyChoose("off", "me") for c in callbacks(keyboard))
