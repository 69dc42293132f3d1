"""The shipped bank is clean and balanced, and planted defects of each kind are reported with file and line."""

import collections
import json
import re

import pytest

from bot.cli import main
from bot.config import KNOWLEDGE_DIR
from bot.knowledge import read_topic_list
from bot.quiz import load_bank


def test_shipped_bank_is_clean_and_covers_every_topic():
    bank, problems = load_bank(KNOWLEDGE_DIR)
    assert problems == []
    questions = list(bank.questions.values())
    assert len(questions) >= 400
    per_topic = collections.Counter(q.topic for q in questions)
    assert {row["id"] for row in read_topic_list(KNOWLEDGE_DIR / "topic_ids.tsv")} == set(per_topic)
    assert min(per_topic.values()) >= 3
    types = collections.Counter(q.type for q in questions)
    assert 0.50 <= types["single"] / len(questions) <= 0.60
    assert 0.15 <= types["multiple"] / len(questions) <= 0.25
    assert 0.20 <= types["judge"] / len(questions) <= 0.30
    assert set(collections.Counter(q.difficulty for q in questions)) == {1, 2, 3}
    assert per_topic["mgmt.quality_month"] + per_topic["mgmt.warranty"] >= 20


def test_answers_are_not_given_away_by_position_or_length():
    bank, _ = load_bank(KNOWLEDGE_DIR)
    singles = [q for q in bank.questions.values() if q.type == "single"]
    positions = collections.Counter(q.answer_letters for q in singles)
    assert max(positions.values()) / len(singles) < 0.35
    longest = sum(1 for q in singles
                  if sorted(len(o) for o in q.options)[-1] > sorted(len(o) for o in q.options)[-2]
                  and len(q.options[min(q.answer)]) == max(len(o) for o in q.options))
    assert longest / len(singles) < 0.35


def test_export(capsys):
    assert main(["quiz", "export", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) >= 400
    assert {"id", "type", "stem", "options", "answer", "explanation", "topic", "difficulty"} <= set(records[0])
    multiple = next(r for r in records if r["type"] == "multiple")
    assert isinstance(multiple["answer"], list) and len(multiple["answer"]) >= 2


def _plant(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("type: single", "type: essay", 1), "type must be one of"),
    (lambda t: re.sub(r"answer: [A-D]\n", "answer: E\n", t, count=1), "is not among the options"),
    (lambda t: re.sub(r"topic: [a-z]+\.[a-z_]+", "topic: no.such_topic", t, count=1), "not a knowledge base topic"),
    (lambda t: re.sub(r"difficulty: \d", "difficulty: 7", t, count=1), "difficulty is 1, 2 or 3"),
    (lambda t: re.sub(r"explanation: .*", "explanation: " + "长" * 121, t, count=1), "limit 120"),
    (lambda t: re.sub(r"(\n\s*-\s*|\[)正确", r"\1对", t, count=1), "judge options are exactly"),
    (lambda t: t.replace("type: judge", "type: single", 1), "a single question has 4 options"),
])
def test_planted_defects_are_reported_with_file_and_line(knowledge_copy, mutate, message):
    path = sorted((knowledge_copy / "quiz").glob("*.yaml"))[0]
    path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
    _, problems = load_bank(knowledge_copy)
    matching = [str(p) for p in problems if message in p.message]
    assert matching and all(re.match(rf"^knowledge/quiz/{path.name}:\d+: ", p) for p in matching), problems


def test_duplicate_ids_and_near_duplicate_stems(knowledge_copy):
    path = knowledge_copy / "quiz" / "extra.yaml"
    bank, _ = load_bank(KNOWLEDGE_DIR)
    original = next(iter(bank.questions.values()))
    record = original.as_json()
    copy = {**record, "stem": record["stem"].rstrip("。？?") + "？"}
    path.write_text(json.dumps({"questions": [copy]}, ensure_ascii=False), encoding="utf-8")
    _, problems = load_bank(knowledge_copy)
    messages = [str(p) for p in problems]
    assert any("duplicate id" in m and "extra.yaml:" in m for m in messages)
    copy["id"] = "x-001"
    path.write_text(json.dumps({"questions": [copy]}, ensure_ascii=False), encoding="utf-8")
    _, problems = load_bank(knowledge_copy)
    assert any("similar to" in p.message for p in problems)


def test_syntax_error_and_catch_all_option(knowledge_copy, capsys):
    path = knowledge_copy / "quiz" / "bad.yaml"
    path.write_text("questions:\n  - id: z-001\n    type: single\n    stem: 下列说法正确的是\n"
                    "    options: [甲, 乙, 丙, 以上都对]\n    answer: D\n    explanation: 因为\n"
                    "    topic: leak.roof\n    difficulty: 1\n  - id: [oops\n", encoding="utf-8")
    assert main(["quiz", "check", "--knowledge", str(knowledge_copy)]) == 1
    out = capsys.readouterr().out
    assert "knowledge/quiz/bad.yaml:10: YAML syntax error" in out
    path.write_text("questions:\n  - id: z-001\n    type: single\n    stem: 下列说法正确的是\n"
                    "    options: [甲, 乙, 丙, 以上都对]\n    answer: D\n    explanation: 因为\n"
                    "    topic: leak.roof\n    difficulty: 1\n", encoding="utf-8")
    _, problems = load_bank(knowledge_copy)
    assert any(str(p).startswith("knowledge/quiz/bad.yaml:5:") and "catch-all" in str(p) for p in problems)
