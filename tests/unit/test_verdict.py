"""The calibrated answer verdict, intents, and the floors held on questions nothing was tuned on."""

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge import KnowledgeError, require_knowledge
from bot.search.engine import SearchEngine, SearchResult, fingerprint
from bot.search.evaluate import evaluate, read_eval_set
from bot.search.normalise import Normalised
from bot.search.verdict import FEATURES, VerdictModel

DATA = Path(__file__).parents[1] / "data"


def test_heldout_floors(engine):
    """Regression floors at what the engine reached on the held-out part (docs/benchmarks.md), not the targets.
    Its wrong cards (2.1 %) are above the issue's 2 % target; the ceiling here leaves room for topic edits."""
    report = evaluate(engine, read_eval_set(DATA / "qa_heldout.jsonl")).as_json()
    kinds = report["by_kind"]
    assert report["top1_accuracy"] >= 0.95, report
    assert kinds["[worker]"]["answered_right"] >= 0.92, kinds["[worker]"]
    assert kinds["[web]"]["answered_right"] >= 0.92, kinds["[web]"]
    assert kinds["long"]["answered_right"] >= 0.88, kinds["long"]
    assert report["ood_rejection_rate"] >= 0.96, report
    assert report["wrong_confident_rate"] <= 0.03, report


@pytest.mark.parametrize("question", ["家里水管保修几年", "卫生间漏水还在保修期吗", "外墙渗水开发商保几年", "装修完水电质保多久",
                                      "墙面开裂过了两年开发商还管不管"])
def test_warranty_questions_rank_the_warranty_topic_first(engine, question):
    assert engine.search(question).hits[0].id == "mgmt.warranty"


def test_the_same_words_without_a_warranty_intent_find_the_defect(engine):
    result = engine.search("水管漏水怎么办")
    assert result.answered and result.hits[0].id == "plumb.supply_leak" and result.intent == "remedy"


@pytest.mark.parametrize("question, section", [
    ("卫生间地面渗水怎么处理", "remedy"), ("地漏返臭咋整", "remedy"), ("楼板裂缝是什么原因", "causes"),
    ("墙面空鼓咋回事", "causes"), ("栏杆高度规范要求多少", "standards"), ("外墙保温怎么预防脱落", "prevention"),
    ("地砖空鼓有什么现象", "symptoms"), ("卫生间漏水", None),
])
def test_the_section_asked_for(engine, question, section):
    assert engine.search(question).intent == section


@pytest.mark.parametrize("question", ["工地食堂几点开饭", "今天天气怎么样", "股票怎么买", "钢筋工一天多少钱", "二建考试怎么复习",
                                      "明天几点上班"])
def test_off_domain_questions_get_the_menu_not_unrelated_topics(engine, question):
    result = engine.search(question)
    assert result.verdict in ("offdomain", "none") and not result.answered, result.as_json(3)


@pytest.mark.parametrize("question, topic", [
    ("我家住三楼，最近楼下邻居找上门说他家卫生间顶上一直往下滴水，物业来看了说是我家卫生间地面防水层坏了，当初装修也刷过防水，"
     "现在不知道是哪里出的问题，这种情况一般怎么处理，是不是要把地砖全部砸掉重做", "leak.bathroom_floor"),
    ("我们项目地下室外墙拆模以后，对拉螺杆的洞口有好几个往里渗水，墙面一片湿，班组长说用水泥砂浆抹一下就行，我担心以后还会漏，"
     "这些螺杆洞到底应该怎么封堵才对", "leak.wall_holes"),
    ("我们工地上个月浇的三楼楼板，拆模后发现板底有好多细小的裂缝，有的还是贯通的，监理说可能是拆模太早或者养护没做好，"
     "要我们出处理方案，这种楼板裂缝一般是什么原因，怎么处理", "conc.slab_cracks"),
])
def test_long_descriptions_get_a_card(engine, question, topic):
    result = engine.search(question)
    assert result.answered and result.hits[0].id == topic, result.as_json(3)


def test_probable_is_a_card_and_the_json_keeps_its_shape():
    result = SearchResult(query="q", normalised=Normalised("q", "q", ["q"]), hits=[], verdict="probable",
                          elapsed_ms=1.0, intent="remedy", confidence=0.9)
    assert result.answered
    assert set(result.as_json(3)) == {"query", "answered", "elapsed_ms", "results"}


def test_decision_order():
    features = dict.fromkeys(FEATURES, 0.0)
    model = VerdictModel(right={"bias": 0.0, "best": 10.0}, domain={"bias": 0.0, "known": 10.0},
                         answer=0.99, probable=0.8, offdomain=0.5)
    assert model.decide({**features, "best": 1.0, "known": 1.0})[0] == "answer"
    assert model.decide({**features, "best": 0.2, "known": 1.0})[0] == "probable"
    assert model.decide({**features, "best": 0.0, "known": 1.0})[0] == "suggest"
    assert model.decide({**features, "best": 1.0, "known": -1.0})[0] == "offdomain"
    assert VerdictModel.uncalibrated().decide(features)[0] == "suggest"


def test_calibrate_is_deterministic_and_writes_a_model_the_engine_reads(tmp_path, capsys):
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    for output in (first, second):
        assert main(["kb", "calibrate", str(DATA / "qa_calibration.jsonl"), "--output", str(output)]) == 0
    assert first.read_bytes() == second.read_bytes()
    model = VerdictModel.load(first)
    assert set(model.right) == {"bias", *FEATURES} and 0 < model.probable <= model.answer < 1
    out = capsys.readouterr().out
    assert "answered_right_rate" in out and "cross-validated" in out and "[worker]" in out


def test_the_index_cache_changes_with_the_verdict_and_intents(knowledge_copy):
    before = fingerprint(knowledge_copy)
    path = knowledge_copy / "dict" / "verdict.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("thresholds:", "thresholds:  # edited"), encoding="utf-8")
    after_verdict = fingerprint(knowledge_copy)
    intents = knowledge_copy / "dict" / "intents.yaml"
    intents.write_text(intents.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert len({before, after_verdict, fingerprint(knowledge_copy)}) == 3


@pytest.mark.parametrize("name, text, message", [
    ("verdict.yaml", "right: [1, 2]\n", "cannot read the verdict model"),
    ("intents.yaml", "sections:\n  reasons: [为什么]\n", "unknown section"),
    ("intents.yaml", "topics:\n  mgmt.nothing: {boost: 0.3, words: [保修]}\n", "do not exist"),
])
def test_a_broken_dictionary_file_is_a_knowledge_problem(knowledge_copy, name, text, message):
    (knowledge_copy / "dict" / name).write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        SearchEngine.build(require_knowledge(knowledge_copy), knowledge_copy)
    problem = error.value.problems[0]
    assert problem.file == f"dict/{name}" and message in problem.message


def test_eval_prints_answered_and_right_and_wrong_cards_per_kind(tmp_path, capsys):
    data = tmp_path / "eval.jsonl"
    rows = [{"q": "地漏返臭", "ids": ["plumb.odor"], "kind": "keyword"}, {"q": "股票怎么买", "ids": [], "kind": "ood"}]
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert main(["kb", "eval", str(data)]) == 0
    out = capsys.readouterr().out
    assert "answered_right_rate: 1.0" in out and "ans+right" in out and "wrong-conf" in out
    assert any(line.startswith("keyword") for line in out.splitlines())
