"""👎 with a reason: recorded once by the asker, alternatives from the matcher, shown in `kb gaps`."""

from __future__ import annotations

from typing import get_args

from bot.cli import main
from bot.qa import FEEDBACK_REASONS, QuestionAnswering, find_gaps
from bot.storage import Storage
from bot.ui import ask as screens

QUESTION = "卫生间漏水漏到楼下咋办"


def asked(qa: QuestionAnswering, user_id: int = 5, text: str = QUESTION):
    answer = qa.ask(user_id, user_id, text)
    assert answer.question_id and answer.topic is not None
    return answer


def test_reason_codes_are_the_ones_the_buttons_carry():
    assert get_args(screens.FeedbackReasonCode) == tuple(FEEDBACK_REASONS)
    text, keyboard = screens.feedback_reasons(12, "leak.floor")
    assert [b.label for b in keyboard[0]] == ["答非所问", "内容有误", "看不懂"]
    assert [screens.FeedbackReason.unpack(b.callback_data) for b in keyboard[0]] == [
        screens.FeedbackReason(12, code, "leak.floor") for code in FEEDBACK_REASONS]
    assert any(b.label.endswith("主菜单") for b in keyboard[-1]), "a way back"


def test_reason_only_after_a_thumbs_down_by_the_asker_and_only_once(knowledge_service):
    storage = Storage.memory()
    qa = QuestionAnswering(storage, knowledge_service)
    answer = asked(qa)
    qid, shown = answer.question_id, answer.topic.id
    assert qa.feedback_reason(qid, 5, "off", shown) == "invalid", "no 👎 yet"
    assert qa.feedback(qid, 5, False) == "saved"
    assert qa.feedback_reason(qid, 6, "off", shown) == "invalid", "someone else's question"
    assert qa.feedback_reason(qid, 5, "bogus", shown) == "invalid"
    assert qa.feedback_reason(qid, 5, "off", shown) == "saved"
    assert qa.feedback_reason(qid, 5, "wrong", shown) == "already", "a second press changes nothing"
    row = storage.question(qid)
    assert (row["feedback"], row["feedback_reason"], row["feedback_topic"]) == (-1, "off", shown)
    liked = asked(qa, text="外墙渗水怎么处理")
    assert qa.feedback(liked.question_id, 5, True) == "saved"
    assert qa.feedback_reason(liked.question_id, 5, "off", liked.topic.id) == "invalid", "no reason for a 👍"


def test_alternatives_are_the_other_candidates_without_the_card_turned_down(knowledge_service):
    qa = QuestionAnswering(Storage.memory(), knowledge_service)
    answer = asked(qa)
    candidates = [hit.id for hit in knowledge_service.engine.search(QUESTION, top=4).hits]
    alternatives = [hit.id for hit in qa.alternatives(answer.question_id, 5, answer.topic.id)]
    assert alternatives and answer.topic.id not in alternatives
    assert alternatives == [c for c in candidates if c != answer.topic.id][:3]
    second = candidates[1]  # turned down after opening the second suggestion: the first is offered again
    assert candidates[0] in [hit.id for hit in qa.alternatives(answer.question_id, 5, second)]
    assert qa.alternatives(answer.question_id, 6, answer.topic.id) == [], "only the asker's own question"
    text, keyboard = screens.feedback_alternatives("wrong", qa.alternatives(answer.question_id, 5, answer.topic.id),
                                                   answer.question_id)
    assert "内容有误" in text and len(keyboard) == len(alternatives) + 1
    text, keyboard = screens.feedback_alternatives("unclear", [], answer.question_id)
    assert "看不懂" in text and keyboard == screens.not_found_keyboard()


def test_gaps_report_the_reasons(knowledge_service, tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    storage = Storage.open(path)
    qa = QuestionAnswering(storage, knowledge_service)
    for user_id, reason in ((5, "off"), (6, "off"), (7, "unclear")):
        answer = asked(qa, user_id)
        qa.feedback(answer.question_id, user_id, False)
        qa.feedback_reason(answer.question_id, user_id, reason, answer.topic.id)
    [group] = [g for g in find_gaps(storage) if g.example == QUESTION]
    topic = answer.topic.id
    assert (group.count, group.downvoted) == (3, 3)
    assert group.reasons == {"off": [topic, topic], "unclear": [topic]}
    assert group.reasons_text() == f"答非所问×2（{topic}）; 看不懂×1（{topic}）"
    storage.close()
    monkeypatch.setenv("QB_DB", str(path))
    assert main(["kb", "gaps"]) == 0
    out = capsys.readouterr().out
    assert f"答非所问×2（{topic}）" in out and QUESTION in out
