"""答题回顾: letters as the participant saw them, 多选 and timed-out answers, paging, who may open it and when."""

from __future__ import annotations

import pytest

from bot.contest_review import Review, page_of, review_access, review_items
from bot.quiz import QuizQuestion
from bot.ui.ask import OpenTopic
from bot.ui.contest import ContestCard, ContestReview, contest_card, result_keyboard
from bot.ui.menu import Menu
from bot.ui.results import REVIEW_REFUSED, review_screen
from tests.unit.test_contest_results import ORGANISER, make_contest, setting  # noqa: F401  (setting is a fixture)
from tests.unit.test_contests import TZ, world  # noqa: F401  (world is a fixture)

OPTIONS = ("甲", "乙", "丙", "丁")


def question(qid: str, kind: str, answer: set[int], options=OPTIONS, topic: str = "leak.roof") -> QuizQuestion:
    return QuizQuestion(qid, kind, f"题干{qid}", tuple(options), frozenset(answer), f"解析{qid}", topic, 1)


def answer_row(position: int, chosen: str, correct: bool = False, timed_out: bool = False, points: float = 0.0):
    return {"position": position, "chosen": chosen, "correct": int(correct), "timed_out": int(timed_out),
            "points": points}


BANK = {"q1": question("q1", "single", {0}), "q2": question("q2", "multiple", {0, 2}),
        "q3": question("q3", "judge", {1}, ("正确", "错误")), "q4": question("q4", "single", {3})}


# --- the letters the participant saw ------------------------------------------------------------------------------

def test_letters_are_those_shown_with_the_shuffled_options():
    # q1 shown as 丙 甲 丁 乙: the right 甲 was B; the stored "D" (丁, the bank's 4th) was shown as C
    items = review_items([["q1", [2, 0, 3, 1]]], [answer_row(0, "D")], BANK)
    (item,) = items
    assert item.options == ("丙", "甲", "丁", "乙")
    assert (item.chosen_letters, item.right_letters) == ("C", "B")
    assert item.options[item.chosen[0]] == "丁" and item.options[item.right[0]] == "甲"
    assert (item.number, item.correct, item.timed_out) == (1, False, False)


def test_multiple_choice_answers_map_every_ticked_option():
    # q2 shown as 丁 丙 乙 甲; right 甲+丙 are D and B; the stored "AB" (甲+乙) was ticked as D and C
    (item,) = review_items([["q2", [3, 2, 1, 0]]], [answer_row(0, "AB")], BANK)
    assert (item.chosen_letters, item.right_letters) == ("CD", "BD")
    (right,) = review_items([["q2", [3, 2, 1, 0]]], [answer_row(0, "AC", correct=True, points=10)], BANK)
    assert right.chosen == right.right and right.correct and right.points == 10


def test_timed_out_questions_have_no_choice_and_are_marked():
    plan = [["q1", [1, 0, 2, 3]], ["q3", [0, 1]], ["q4", [0, 1, 2, 3]]]
    rows = [answer_row(1, "", timed_out=True), answer_row(0, "A", correct=True, points=10)]  # any order from storage
    items = review_items(plan, rows, BANK)
    assert [item.number for item in items] == [1, 2], "in the order asked; the unanswered third is left out"
    timed_out = items[1]
    assert timed_out.timed_out and timed_out.chosen == () and timed_out.right_letters == "B" and not timed_out.correct
    assert items[0].chosen_letters == "B" == items[0].right_letters, "the bank's A (甲) was shown second"


def test_a_question_gone_from_the_bank_keeps_its_stored_letters():
    (item,) = review_items([["gone", [1, 0]]], [answer_row(0, "B")], BANK)
    assert item.question is None and item.options == () and item.chosen_letters == "B"


# --- paging and permission ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("count, page, expected", [
    (12, 0, (0, 3, 0, 5)), (12, 1, (1, 3, 5, 10)), (12, 2, (2, 3, 10, 12)), (12, 9, (2, 3, 10, 12)),
    (12, -1, (0, 3, 0, 5)), (5, 1, (0, 1, 0, 5)), (0, 0, (0, 1, 0, 0))])
def test_pages_of_five_clamped_to_those_there_are(count, page, expected):
    shown = page_of(count, page)
    assert (shown.number, shown.pages, shown.first, shown.last) == expected


def attempt(user_id: int = 5, finished: bool = True, position: int = 3) -> dict:
    return {"id": 1, "user_id": user_id, "position": position,
            "finished_at": "2025-09-20T02:00:00+00:00" if finished else None}


@pytest.mark.parametrize("row, user_id, ended, access", [
    (attempt(), 5, True, "ok"),
    (attempt(finished=False, position=2), 5, True, "ok"),      # closed early while answering: over for everyone
    (attempt(), 6, True, "not_yours"),
    (None, 5, True, "not_yours"),
    (attempt(), 6, False, "not_yours"),
    (attempt(finished=False), 5, False, "answering"),
    (attempt(), 5, False, "running"),                          # finished, but others may still be answering
    (attempt(finished=False, position=0), 5, True, "empty")])
def test_only_the_participant_and_only_once_the_contest_is_over(row, user_id, ended, access):
    assert review_access(row, user_id, ended) == access
    assert access == "ok" or REVIEW_REFUSED[access]


# --- the screen ---------------------------------------------------------------------------------------------------

def labels(keyboard) -> list[str]:
    return [button.label for row in keyboard for button in row]


def test_review_screen_pages_with_topics_and_ways_back(knowledge_service):
    kb = knowledge_service.kb
    first, second = list(kb.topics)[:2]
    bank = {f"q{i}": question(f"q{i}", "single", {0}, topic=first if i % 2 else second) for i in range(7)}
    plan = [[f"q{i}", [1, 0, 2, 3]] for i in range(7)]
    rows = [answer_row(0, "B"), answer_row(1, "", timed_out=True)] + [
        answer_row(i, "A", correct=True, points=10) for i in range(2, 7)]
    review = Review({"id": 3, "title": "质量月<竞赛>"}, {"id": 9, "score": 50.0}, review_items(plan, rows, bank))
    text, keyboard = review_screen(review, 0, kb)
    assert "质量月&lt;竞赛&gt; · 答题回顾" in text and "得分 50 分，答对 5/7 题（第 1/2 页）" in text
    one = text.split("<b>第 1 题</b>")[1].split("<b>第 2 题</b>")[0]
    assert "❌ 回答错误" in one and "您选了：A. 乙" in one and "正确答案：B. 甲" in one and "解析：解析q0" in one
    two = text.split("<b>第 2 题</b>")[1]
    assert two.startswith(" ⏰ 超时未作答") and "您选了：未作答（超时）" in two
    assert "<b>第 6 题</b>" not in text
    topics = [(button.label, button.data) for row in keyboard for button in row if button.label.startswith("📖")]
    assert [data for _, data in topics] == [OpenTopic(second), OpenTopic(first)], "one button per topic of the page"
    assert topics[0][0].startswith("📖 第1、3、5题：" + kb.get(second).title[:5])
    assert topics[1][0].startswith("📖 第2、4题：" + kb.get(first).title[:5])
    buttons = [button.data for row in keyboard for button in row]
    assert ContestReview(9, 1) in buttons and ContestCard(3) in buttons and Menu("home") in buttons
    assert "‹ 上一页" not in labels(keyboard)

    text, keyboard = review_screen(review, 1, kb)
    assert "（第 2/2 页）" in text and "<b>第 6 题</b> ✅ 回答正确 +10 分" in text and "<b>第 1 题</b>" not in text
    assert "‹ 上一页" in labels(keyboard) and "下一页 ›" not in labels(keyboard)
    assert ContestReview(9, 0) in [button.data for row in keyboard for button in row]


def test_review_buttons_on_the_result_and_the_card():
    assert ContestReview(9, 0, new=True) in [b.data for row in result_keyboard(3, 9) for b in row]
    contest = {"id": 3, "title": "质量月", "description": "", "starts_at": "2025-09-20T01:00:00+00:00",
               "ends_at": "2025-09-20T03:00:00+00:00", "question_count": 3, "seconds_per_question": 30,
               "speed_bonus": 0, "mode": "self"}
    finished = attempt()
    assert ContestReview(1) in [b.data for row in contest_card(contest, "已结束", finished, TZ)[1] for b in row]
    assert ContestReview(1) in [b.data for row in contest_card(contest, "进行中", finished, TZ)[1] for b in row]
    answering = attempt(finished=False, position=1)
    assert "📝 答题回顾" not in labels(contest_card(contest, "进行中", answering, TZ)[1])
    assert "📝 答题回顾" not in labels(contest_card(contest, "已结束", attempt(finished=False, position=0), TZ)[1])


# --- against storage --------------------------------------------------------------------------------------------

@pytest.fixture
def results_world(request):
    """test_contest_results' setting: storage, contests, accounts, clock and the results service."""
    return request.getfixturevalue("setting")


def test_review_from_the_database_shows_what_the_participant_saw(results_world):
    storage, contests, accounts, clock, results = results_world
    contest = make_contest(contests, questions=4)
    accounts.touch(41, "选手41", None)
    accounts.set_region(41, "三亚市")
    accounts.set_role(41, "worker")
    started = contests.start(contest["id"], accounts.get(41))
    seen = []
    for position in range(4):
        shown, _ = contests.ask(started["id"], position)
        if position == 2:  # time runs out on the third question
            clock.advance(shown.seconds + 2)
            outcome = contests.expire(started["id"], position)
            seen.append((shown.options, (), shown.right_display, True))
            assert outcome.status == "timed_out"
            continue
        wrong = [i for i in range(len(shown.options)) if i not in shown.right_display]
        chosen = shown.right_display if position == 0 else wrong[:2] if shown.question.type == "multiple" else wrong[:1]
        outcome = contests.answer(started["id"], 41, position, chosen)
        assert outcome.status == "recorded" and outcome.chosen == tuple(sorted(chosen))
        seen.append((shown.options, tuple(sorted(chosen)), shown.right_display, False))

    assert results.review(started["id"], 41) == ("running", None), "finished, but the contest still runs"
    assert results.review(started["id"], 42) == ("not_yours", None)
    assert results.review(999, 41) == ("not_yours", None)
    contests.close(contest["id"], ORGANISER)
    assert results.review(started["id"], 42) == ("not_yours", None), "someone else's, even after the end"
    access, review = results.review(started["id"], 41)
    assert access == "ok" and review.contest["id"] == contest["id"] and review.correct == 1
    assert [(tuple(i.options), i.chosen, tuple(i.right), i.timed_out) for i in review.items] == [
        (tuple(options), chosen, tuple(right), timed_out) for options, chosen, right, timed_out in seen]
    assert [i.correct for i in review.items] == [True, False, False, False]


def test_a_participant_closed_out_before_answering_has_nothing_to_review(results_world):
    storage, contests, accounts, clock, results = results_world
    contest = make_contest(contests)
    accounts.touch(43, "选手43", None)
    accounts.set_region(43, "三亚市")
    started = contests.start(contest["id"], accounts.get(43))
    assert results.review(started["id"], 43) == ("answering", None)
    contests.close(contest["id"], ORGANISER)
    assert results.review(started["id"], 43) == ("empty", None)
