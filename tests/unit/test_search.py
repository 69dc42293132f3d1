"""The retrieval engine: normalisation, typo repair, verdicts, hostile input and the development-set targets."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.qa import followup_section
from bot.search.engine import VERDICTS
from bot.search.evaluate import evaluate, read_eval_set

DEV_SET = Path(__file__).parents[1] / "data" / "qa_dev.jsonl"


def test_normalisation_folds_script_width_emoji_repeats_and_filler(engine):
    n = engine.normaliser.normalise("師傅好👷 請問 ＡＢＣ衛生間漏水漏水漏水！！！怎麼辦？？谢谢🙏")
    assert n.greeting and n.thanks
    assert "卫生间" in n.text and "👷" not in n.text and "！" not in n.text and "abc" in n.text
    assert "请问" not in n.text and "师傅" not in n.text and "谢谢" not in n.text
    assert engine.normaliser.normalise("漏漏漏漏").text == "漏"


@pytest.mark.parametrize("typed, meant", [("后交带", "后浇带"), ("拉节筋", "拉结筋"), ("止水截", "止水节"),
                                           ("套通灌浆", "套筒灌浆"), ("等点位", "等电位")])
def test_homophone_typos_are_repaired_by_pinyin(engine, typed, meant):
    synonyms = engine.normaliser.synonyms
    assert typed not in synonyms, "this typo must be repaired by sound, not by a synonym entry"
    normalised = engine.normaliser.normalise(f"这个{typed}怎么做")
    assert [typed] == [wrong for wrong, _ in normalised.corrections]
    assert synonyms.get(meant, meant) in normalised.tokens


@pytest.mark.parametrize("typed, meant", [("空古", "空鼓"), ("渗楼", "渗漏"), ("为生间", "卫生间"), ("起沙", "起砂")])
def test_common_typos_reach_the_right_word(engine, typed, meant):
    normalised = engine.normaliser.normalise(f"墙面有点{typed}怎么办")
    assert engine.normaliser.synonyms.get(meant, meant) in normalised.tokens, normalised


def test_real_words_and_particles_are_not_mistaken_for_typos(engine):
    assert "铁" not in engine.normaliser.normalise("墙上贴的瓷砖").tokens
    assert engine.normaliser.normalise("事故").corrections == []


@pytest.mark.parametrize("question, topic", [
    ("卫生间漏水漏到楼下咋办", "leak.bathroom_floor"),
    ("墙上贴的瓷砖一敲咚咚响", "fin.wall_tile_hollow"),
    ("衛生間漏水怎麼辦", "leak.bathroom_floor"),
    ("地漏返臭咋整", "plumb.odor"),
    ("插座左零右火接反了", "elec.socket_wiring"),
    ("保修期多久", "mgmt.warranty"),
])
def test_typical_questions_are_answered(engine, question, topic):
    result = engine.search(question)
    assert result.answered and result.hits[0].id == topic, result.as_json(3)


@pytest.mark.parametrize("question", ["今天天气怎么样", "钢筋工一天多少钱", "二建考试怎么复习", "塔吊基础怎么验收"])
def test_out_of_domain_questions_are_not_answered(engine, question):
    assert not engine.search(question).answered


def test_a_bare_ambiguous_term_is_suggested_not_answered(engine):
    result = engine.search("空鼓")
    assert result.verdict == "suggest" and len(result.hits) == 3


@pytest.mark.parametrize("text, verdict", [("", "empty"), ("   ", "empty"), ("😀😀", "empty"), ("你好", "smalltalk"),
                                           ("谢谢师傅", "smalltalk")])
def test_empty_and_smalltalk(engine, text, verdict):
    assert engine.search(text).verdict == verdict


@pytest.mark.parametrize("text, section", [("原因呢", "causes"), ("那怎么处理", "remedy"), ("怎么预防", "prevention"),
                                           ("有什么规范", "standards"), ("外墙渗水怎么处理", None)])
def test_followups(engine, text, section):
    assert followup_section(engine.normaliser.normalise(text)) == section


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300) | st.sampled_from(["'; DROP TABLE users; --", "<script>alert(1)</script>",
                                                 "\x00\x1b[31m", "A" * 4000, "漏" * 4000, "\u202e\u200b"]))
def test_hostile_input_never_raises(engine, text):
    result = engine.search(text)
    assert result.verdict in VERDICTS
    assert len(result.hits) <= 3


def test_development_set_targets(engine):
    report = evaluate(engine, read_eval_set(DEV_SET)).as_json()
    assert report["questions"] >= 250 and report["out_of_domain"] >= 50
    assert report["top1_accuracy"] >= 0.90, report
    assert report["top3_accuracy"] >= 0.97, report
    assert report["ood_rejection_rate"] >= 0.90, report


def test_search_cli_json_and_batch(tmp_path, capsys):
    assert main(["kb", "search", "--json", "--top", "2", "卫生间漏水怎么办"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"query", "answered", "elapsed_ms", "results"} and len(result["results"]) == 2
    assert set(result["results"][0]) == {"id", "title", "score"}
    batch = tmp_path / "questions.txt"
    batch.write_text("地漏返臭\n\n今天吃什么\n", encoding="utf-8")
    assert main(["kb", "search", "--json", "--top", "3", "--batch", str(batch)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["地漏返臭", "", "今天吃什么"]
    assert lines[0]["answered"] and not lines[1]["answered"] and not lines[2]["answered"]


def test_eval_cli_prints_the_metrics(tmp_path, capsys):
    data = tmp_path / "eval.jsonl"
    data.write_text('{"q": "地漏返臭", "ids": ["plumb.odor"]}\n{"q": "股票怎么买", "ids": []}\n', encoding="utf-8")
    assert main(["kb", "eval", str(data)]) == 0
    out = capsys.readouterr().out
    for key in ("top1_accuracy: 1.0", "top3_accuracy", "mrr", "ood_rejection_rate: 1.0", "wrong_confident_rate: 0.0"):
        assert key in out


def test_reload_refuses_a_broken_knowledge_base_and_keeps_serving(knowledge_copy):
    from bot.knowledge import KnowledgeError
    from bot.qa import KnowledgeService

    service = KnowledgeService(knowledge_copy)
    before = service.engine
    path = knowledge_copy / "topics" / "plumb.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "title: [", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        service.reload()
    assert any(p.file.endswith("plumb.yaml") and "YAML syntax error" in p.message for p in error.value.problems)
    assert service.engine is before and service.engine.search("地漏返臭").hits[0].id == "plumb.odor"
