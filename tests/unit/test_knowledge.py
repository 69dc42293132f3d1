"""The shipped knowledge base is clean, and every kind of defect planted in a copy is reported with file and line."""

import json
import re

import pytest

from bot.cli import main
from bot.config import KNOWLEDGE_DIR
from bot.knowledge import SECTIONS, export_records, load_knowledge, read_topic_list, render_topic

OFFICIAL = read_topic_list(KNOWLEDGE_DIR / "topic_ids.tsv")


def test_shipped_knowledge_base_is_clean_and_complete():
    kb, problems = load_knowledge(KNOWLEDGE_DIR)
    assert problems == []
    assert [row["id"] for row in OFFICIAL] == sorted(kb.topics, key=[r["id"] for r in OFFICIAL].index)
    assert len(kb.topics) == 85
    for topic in kb.topics.values():
        assert len(topic.questions) >= 8 and all(getattr(topic, key) for key, _ in SECTIONS) and topic.standards
        assert len(topic.summary) <= 80 and len(render_topic(topic)) <= 4096


def test_quality_month_topic_is_for_workers_with_the_2025_plan_as_background():
    kb, _ = load_knowledge(KNOWLEDGE_DIR)
    topic = kb.get("mgmt.quality_month")
    text = render_topic(topic)
    for action in ("自查", "答题", "样板观摩", "合理化建议"):
        assert any(action in item for item in topic.prevention), action
    for fact in ("加强全面质量管理", "促进质量强国建设", "2025", "9月", "以赛促学", "双随机", "9月30日", "治理手册"):
        assert fact in text, fact
    # the dated plan is background: the summary and the worker's actions carry no year, and the text says
    # that each year's arrangements follow that year's notice
    assert "2025" not in topic.summary and not any("2025" in item for item in topic.prevention)
    assert "以当年通知为准" in text and "往年方案" in text


def test_export_keys_are_exactly_as_documented(capsys):
    assert main(["kb", "export", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 85
    assert all(set(r) == {"id", "category", "title", "questions", "keywords", "text"} for r in records)
    assert all(r["text"] and len(r["questions"]) >= 8 for r in records)


def test_show_prints_the_rendered_topic(capsys):
    assert main(["kb", "show", "leak.water_test"]) == 0
    assert "<b>蓄水试验与淋水试验</b>" in capsys.readouterr().out
    assert main(["kb", "show", "no.such_topic"]) == 2


def _plant(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path, fragment):
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


def _problems(directory):
    _, problems = load_knowledge(directory)
    return [str(p) for p in problems]


def test_yaml_syntax_error_names_file_and_line(knowledge_copy):
    path = knowledge_copy / "topics" / "conc.yaml"
    line = _line_of(path, "title: 现浇楼板裂缝")
    _plant(path, "title: 现浇楼板裂缝", "title: [现浇楼板裂缝")
    problems = _problems(knowledge_copy)
    assert any(p.startswith("knowledge/topics/conc.yaml:") and "YAML syntax error" in p for p in problems)
    reported = int(re.search(r"conc.yaml:(\d+)", problems[0]).group(1))
    assert abs(reported - line) <= 2


@pytest.mark.parametrize("old, new, message", [
    ("    title: 现浇楼板裂缝", "    titel: 现浇楼板裂缝", "unknown key 'titel'"),
    ("    title: 现浇楼板裂缝", "    title: ''", "'title' must be non-empty"),
    ("    related:", "    related: [no.such_topic]\n    unused:", "related id no.such_topic does not exist"),
])
def test_schema_defects_are_reported(knowledge_copy, old, new, message):
    path = knowledge_copy / "topics" / "conc.yaml"
    _plant(path, old, new)
    assert any("conc.yaml:" in p and message in p for p in _problems(knowledge_copy)), _problems(knowledge_copy)


def test_duplicate_id_missing_id_and_category(knowledge_copy):
    conc = knowledge_copy / "topics" / "conc.yaml"
    _plant(conc, "id: conc.honeycomb", "id: conc.slab_cracks")
    problems = _problems(knowledge_copy)
    lines = [i for i, text in enumerate(conc.read_text(encoding="utf-8").splitlines(), 1) if "id: conc.slab_cracks" in text]
    line = lines[1]
    assert any("duplicate id conc.slab_cracks" in p for p in problems)
    assert any("topic conc.honeycomb" in p and "missing" in p for p in problems)
    assert any(f"conc.yaml:{line}:" in p for p in problems)


def test_long_summary_empty_section_and_too_few_questions(knowledge_copy):
    path = knowledge_copy / "topics" / "mas.yaml"
    data = path.read_text(encoding="utf-8")
    start = data.index("summary:")
    end = data.index("\n", start)
    path.write_text(data[:start] + "summary: " + "长" * 81 + data[end:], encoding="utf-8")
    _plant(path, "    symptoms:", "    symptoms: []\n    old_symptoms:")
    problems = _problems(knowledge_copy)
    assert any("summary is 81 characters" in p for p in problems)
    assert any("'symptoms' is empty" in p for p in problems)


def test_same_question_in_two_topics_is_ambiguous(knowledge_copy):
    kb, _ = load_knowledge(KNOWLEDGE_DIR)
    borrowed = kb.get("leak.roof").questions[0]
    path = knowledge_copy / "topics" / "fin.yaml"
    _plant(path, "    questions:\n", f"    questions:\n      - '{borrowed}'\n")
    problems = _problems(knowledge_copy)
    assert any("ambiguous" in p and "fin.yaml:" in p and "leak.roof" in p for p in problems)


def test_missing_topic_of_the_official_list(knowledge_copy):
    (knowledge_copy / "topics" / "hn.yaml").unlink()
    problems = _problems(knowledge_copy)
    assert sum("is missing" in p for p in problems) == 4


def test_check_command_exit_codes(knowledge_copy, capsys):
    assert main(["kb", "check", "--knowledge", str(knowledge_copy)]) == 0
    _plant(knowledge_copy / "topics" / "elec.yaml", "    title:", "    title: ''\n    x_title:")
    assert main(["kb", "check", "--knowledge", str(knowledge_copy)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and all(re.match(r"^knowledge/topics/elec\.yaml:\d+: ", line) for line in lines)


def test_dictionary_and_synonyms_are_large_enough():
    import yaml

    words = [line.split()[0] for line in (KNOWLEDGE_DIR / "dict" / "user_dict.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    groups = yaml.safe_load((KNOWLEDGE_DIR / "dict" / "synonyms.yaml").read_text(encoding="utf-8"))["groups"]
    assert len(set(words)) >= 400 and len(groups) >= 100
    members = [w for g in groups for w in g]
    assert len(members) == len(set(members)), "a word belongs to one synonym group only"
    assert {"空鼓", "起砂", "后浇带", "马牙槎", "闭水试验", "套筒灌浆"} <= set(words) | set(members)


def test_export_records_text_has_every_section():
    kb, _ = load_knowledge(KNOWLEDGE_DIR)
    record = next(r for r in export_records(kb) if r["id"] == "leak.roof")
    assert all(heading in record["text"] for heading in ("现象", "原因", "预防措施", "处理方法", "规范依据"))
