"""The register of superseded and withdrawn standards (knowledge/standards.yaml): every citation of a designation it
lists is reported with file and line; superseded ones warn, withdrawn ones fail the check."""

import pytest

from bot.cli import main
from bot.config import KNOWLEDGE_DIR
from bot.knowledge import KnowledgeError, load_knowledge, require_knowledge
from bot.standards import citation_pattern, load_register
from bot.quiz import load_bank, require_bank

ENTRY = "      - code: {code}\n        name: 引用测试\n"


def _cite_in_topic(knowledge_copy, code):
    """Adds a `standards` entry citing `code` to the first topic of conc.yaml; returns the line of its `code:`."""
    path = knowledge_copy / "topics" / "conc.yaml"
    text = path.read_text(encoding="utf-8")
    at = text.index("    standards:\n") + len("    standards:\n")
    path.write_text(text[:at] + ENTRY.format(code=code) + text[at:], encoding="utf-8")
    return text[:at].count("\n") + 1


def _replace_once(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


@pytest.fixture
def check(knowledge_copy, capsys):
    """Runs `qualitybot kb|quiz check` on the copy: (exit code, stdout lines, stderr)."""
    def run(what):
        code = main([what, "check", "--knowledge", str(knowledge_copy)])
        captured = capsys.readouterr()
        return code, captured.out.splitlines(), captured.err
    return run


def test_the_shipped_register_covers_the_restyled_codes_and_nothing_shipped_cites_them():
    register, problems = load_register(KNOWLEDGE_DIR)
    assert problems == []
    by_old = {change.old: change for change in register}
    assert by_old["GB 50010-2010"].status == by_old["GB 50011-2010"].status == "superseded"
    assert "GB/T 50010-2010" in by_old["GB 50010-2010"].current and "GB/T 50011-2010" in by_old["GB 50011-2010"].current
    assert any(change.status == "withdrawn" for change in register)
    kb, kb_problems = load_knowledge(KNOWLEDGE_DIR)
    bank, bank_problems = load_bank(KNOWLEDGE_DIR)
    assert (kb_problems, kb.warnings, bank_problems, bank.warnings) == ([], [], [], [])


def test_a_superseded_citation_warns_with_file_and_line_and_the_check_still_passes(knowledge_copy, check):
    line = _cite_in_topic(knowledge_copy, "GB 50010-2010")
    code, out, err = check("kb")
    assert code == 0, out
    assert out == [line_text for line_text in out if line_text.startswith(f"knowledge/topics/conc.yaml:{line}: warning: ")]
    assert len(out) == 1 and "cites GB 50010-2010" in out[0] and "GB/T 50010-2010（2024年版）" in out[0]
    assert "1 条提醒" in err and err.startswith("检查通过")
    kb = require_knowledge(knowledge_copy)  # warnings never stop the bot loading
    assert [w.line for w in kb.warnings] == [line]


@pytest.mark.parametrize("code", ["GB/T 50010-2010", "GB/T 50010-2010（2024年版）", "GB/T 50011-2010(2024年版)",
                                  "GB 50010-20101", "GB 55008-2021"])
def test_current_and_other_designations_are_not_flagged(knowledge_copy, check, code):
    _cite_in_topic(knowledge_copy, code)
    assert check("kb")[:2] == (0, [])


def test_a_withdrawn_citation_fails_the_check_and_the_bot_refuses_it(knowledge_copy, check):
    line = _cite_in_topic(knowledge_copy, "GB 50368-2005")
    code, out, err = check("kb")
    assert code == 1
    assert out == [o for o in out if o.startswith(f"knowledge/topics/conc.yaml:{line}: cites GB 50368-2005, withdrawn")]
    assert len(out) == 1 and "GB 55038-2025" in out[0]
    with pytest.raises(KnowledgeError):
        require_knowledge(knowledge_copy)


def test_free_text_of_topics_is_checked_but_comment_lines_are_not(knowledge_copy, check):
    path = knowledge_copy / "topics" / "mas.yaml"
    line = _replace_once(path, "    hainan: 海南各市县抗震设防烈度不同，",
                         "    hainan: 海南各市县抗震设防烈度不同（见GB50011—2010），")
    _replace_once(path, "topics:\n", "topics:\n# 旧引 GB 50011-2010 已改\n")
    code, out, _ = check("kb")
    assert code == 0 and len(out) == 1 and out[0].startswith(f"knowledge/topics/mas.yaml:{line + 1}: warning: ")


def test_quiz_stems_options_explanations_and_sources_are_checked(knowledge_copy, check):
    path = knowledge_copy / "quiz" / "structure_leak.yaml"
    stem = _replace_once(path, 'stem: "按 GB/T 50011-2010（2024年版），填充墙',
                         'stem: "按 GB 50011-2010，填充墙')
    source = _replace_once(path, "    source: GB/T 50011-2010（2024年版）\n", "    source: GB 50325-2010\n")
    code, out, _ = check("quiz")
    assert code == 1, out
    assert f"knowledge/quiz/structure_leak.yaml:{stem}: warning: cites GB 50011-2010" in "\n".join(out)
    assert any(o.startswith(f"knowledge/quiz/structure_leak.yaml:{source}: cites GB 50325-2010, withdrawn")
               for o in out)
    with pytest.raises(KnowledgeError):
        require_bank(knowledge_copy)


def test_only_warnings_keep_the_question_bank_loading(knowledge_copy):
    path = knowledge_copy / "quiz" / "structure_leak.yaml"
    _replace_once(path, 'stem: "按 GB/T 50011-2010（2024年版），填充墙', 'stem: "按 GB 50011-2010，填充墙')
    bank = require_bank(knowledge_copy)
    assert len(bank.warnings) == 1 and bank.warnings[0].warning


def test_a_broken_register_is_reported_with_file_and_line_by_both_checks(knowledge_copy, check):
    path = knowledge_copy / "standards.yaml"
    line = _replace_once(path, "    status: withdrawn\n", "    status: [withdrawn\n")
    for what in ("kb", "quiz"):
        code, out, _ = check(what)
        assert code == 1
        assert any(o.startswith("knowledge/standards.yaml:") and "YAML syntax error" in o for o in out), out
        reported = int(next(o for o in out if "YAML syntax error" in o).split(":")[1])
        assert abs(reported - line) <= 2


@pytest.mark.parametrize("old, new, message", [
    ("    status: withdrawn\n", "    status: obsolete\n", "status must be superseded or withdrawn"),
    ("    current: GB/T 50010-2010（2024年版）《混凝土结构设计标准》\n", "", "needs 'current'"),
    ("    since: 2024-08-01\n", "    since: 2024年8月\n", "is not a date"),
    ("  - old: GB 50368-2005\n", "  - old: 住宅建筑规范\n", "is not a designation"),
    ("  - old: GB 50368-2005\n", "  - old: GB 50010-2010\n", "listed twice"),
    ("    name: 住宅建筑规范\n", "    titel: 住宅建筑规范\n", "unknown key 'titel'"),
    ("    current: GB 55038-2025《住宅项目规范》\n", "    current: GB 50368-2005《住宅建筑规范》\n", "would itself count"),
])
def test_register_entries_are_checked(knowledge_copy, old, new, message):
    path = knowledge_copy / "standards.yaml"
    line = _replace_once(path, old, new)
    _, problems = load_register(knowledge_copy)
    assert any(message in p.message and p.file == "knowledge/standards.yaml" and abs(p.line - line) <= 6
               for p in problems), problems


@pytest.mark.parametrize("text, cited", [
    ("按GB 50010-2010第8.2.1条", True),
    ("GB50010-2010", True),
    ("《混凝土结构设计规范》GB 50010—2010", True),
    ("ＧＢ ５００１０－２０１０", True),
    ("gb 50010-2010", True),
    ("GB/T 50010-2010", False),
    ("GB/T 50010-2010（2024年版）", False),
    ("GB / T 50010-2010", False),
    ("GB 50010-20101", False),
    ("GB 500100-2010", False),
    ("DGB 50010-2010", False),
    ("GB 50010", False),
])
def test_what_counts_as_citing_gb_50010_2010(text, cited):
    import unicodedata

    pattern = citation_pattern("GB 50010-2010", "GB/T 50010-2010（2024年版）《混凝土结构设计标准》")
    assert bool(pattern.search(unicodedata.normalize("NFKC", text))) is cited


def test_an_edition_of_the_same_designation_can_be_the_current_one():
    pattern = citation_pattern("GB 50016-2014", "GB 50016-2014（2018年版）《建筑设计防火规范》")
    assert pattern.search("GB 50016-2014") and pattern.search("GB 50016-2014(2009年版)")
    assert not pattern.search("GB 50016-2014(2018年版)") and not pattern.search("GB 50016-2014 (2018 年版)")
    undated = citation_pattern("GB 50016")
    assert undated.search("GB 50016-2006") and undated.search("GB 50016") and not undated.search("GB 50016.1")
    assert citation_pattern("住宅建筑规范") is None
