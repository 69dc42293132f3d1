"""The question bank: quiz questions loaded from `knowledge/quiz/*.yaml`, validated against the knowledge base."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.knowledge import load_knowledge, normalise_phrase
from bot.standards import check_citations, load_register
from bot.yamlfile import LineDict, Problem, iter_entries

log = logging.getLogger(__name__)

TYPES = {"single": "单选", "multiple": "多选", "judge": "判断"}
JUDGE_OPTIONS = ["正确", "错误"]
LETTERS = "ABCD"
STEM_LIMIT = 200
OPTION_LIMIT = 60          # longer options do not fit a phone screen even in the message body
# Telegram cuts long button labels on phones: when every option of a question is this short, the options are on
# the buttons only; otherwise they are written in the message and the buttons carry A/B/C/D.
BUTTON_OPTION_LIMIT = 16
EXPLANATION_LIMIT = 120
DUPLICATE_STEM_SIMILARITY = 90.0
QUESTION_KEYS = {"id", "type", "stem", "options", "answer", "explanation", "topic", "difficulty", "source"}
ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*-\d{3,}$")
CATCH_ALL = re.compile(r"以上(都|均|皆|全)")


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    type: str
    stem: str
    options: tuple[str, ...]
    answer: frozenset[int]        # indexes into options
    explanation: str
    topic: str
    difficulty: int
    source: str | None = None
    file: str = ""
    line: int = 0

    @property
    def answer_letters(self) -> str:
        return "".join(LETTERS[i] for i in sorted(self.answer))

    def as_json(self) -> dict[str, Any]:
        answer: Any = self.answer_letters if self.type != "multiple" else list(self.answer_letters)
        record = {"id": self.id, "type": self.type, "stem": self.stem, "options": list(self.options),
                  "answer": answer, "explanation": self.explanation, "topic": self.topic,
                  "difficulty": self.difficulty}
        if self.source:
            record["source"] = self.source
        return record


def options_fit_buttons(options: tuple[str, ...] | list[str]) -> bool:
    """The one rule for where options are shown: full text on the buttons only when every option is short."""
    return all(len(option) <= BUTTON_OPTION_LIMIT for option in options)


@dataclass
class QuestionBank:
    questions: dict[str, QuizQuestion]
    warnings: list[Problem] = field(default_factory=list)  # e.g. citations of superseded standards


def _parse_answer(raw: Any, kind: str, option_count: int) -> tuple[frozenset[int] | None, str | None]:
    letters = raw if isinstance(raw, list) else list(str(raw).replace(",", "").replace(" ", "")) if raw else []
    letters = [str(letter).strip().upper() for letter in letters]
    if not letters or any(len(letter) != 1 or letter not in LETTERS[:option_count] for letter in letters):
        return None, f"answer {raw!r} is not among the options ({LETTERS[:option_count]})"
    indexes = frozenset(LETTERS.index(letter) for letter in letters)
    if len(indexes) != len(letters):
        return None, f"answer {raw!r} repeats a letter"
    if kind in ("single", "judge") and len(indexes) != 1:
        return None, f"a {kind} question has exactly one answer"
    if kind == "multiple" and len(indexes) < 2:
        return None, "a multiple question has at least two right answers"
    return indexes, None


def _check_question(raw: LineDict, display: str, topic_ids: set[str], problems: list[Problem]) -> QuizQuestion | None:
    qid = raw.get("id")
    label = f"question {qid}" if isinstance(qid, str) else "question"

    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(display, raw.line_of(key) if key else raw.line, f"{label}: {message}"))

    count_before = len(problems)
    for key in sorted({"id", "type", "stem", "options", "answer", "explanation", "topic", "difficulty"} - set(raw)):
        problem(None, f"missing '{key}'")
    for key in sorted(set(raw) - QUESTION_KEYS):
        problem(key, f"unknown key '{key}'")
    if not isinstance(qid, str) or not ID_PATTERN.match(qid):
        problem("id", "id must look like 'conc-001'")
    kind = raw.get("type")
    if kind not in TYPES:
        problem("type", f"type must be one of {', '.join(TYPES)}")
    for key, limit in (("stem", STEM_LIMIT), ("explanation", EXPLANATION_LIMIT)):
        value = raw.get(key)
        if key in raw and (not isinstance(value, str) or not value.strip()):
            problem(key, f"'{key}' must be non-empty text")
        elif isinstance(value, str) and len(value.strip()) > limit:
            problem(key, f"{key} is {len(value.strip())} characters (limit {limit})")
    options = raw.get("options")
    if "options" in raw and (not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options)):
        problem("options", "options must be a list of non-empty texts")
        options = None
    elif isinstance(options, list):
        expected = 2 if kind == "judge" else 4
        if len(options) != expected:
            problem("options", f"a {kind} question has {expected} options, found {len(options)}")
        if kind == "judge" and [o.strip() for o in options] != JUDGE_OPTIONS:
            problem("options", "judge options are exactly [正确, 错误]")
        if len({normalise_phrase(o) for o in options}) != len(options):
            problem("options", "two options are the same")
        for index, option in enumerate(options):
            if len(option.strip()) > OPTION_LIMIT:
                problems.append(Problem(display, options.line_of(index),
                                        f"{label}: option {LETTERS[index]} longer than {OPTION_LIMIT} characters"))
            if CATCH_ALL.search(option):
                problems.append(Problem(display, options.line_of(index),
                                        f"{label}: option {LETTERS[index]} is an 'all of the above' catch-all"))
    answer = None
    if isinstance(options, list) and kind in TYPES and "answer" in raw:
        answer, error = _parse_answer(raw["answer"], kind, len(options))
        if error:
            problem("answer", error)
    topic = raw.get("topic")
    if "topic" in raw and topic not in topic_ids:
        problem("topic", f"topic {topic!r} is not a knowledge base topic id")
    difficulty = raw.get("difficulty")
    if "difficulty" in raw and difficulty not in (1, 2, 3):
        problem("difficulty", "difficulty is 1, 2 or 3")
    source = raw.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        problem("source", "source must be text (or be left out)")
    if len(problems) != count_before or answer is None:
        return None
    return QuizQuestion(id=qid, type=kind, stem=raw["stem"].strip(), options=tuple(o.strip() for o in options),
                        answer=answer, explanation=raw["explanation"].strip(), topic=topic, difficulty=difficulty,
                        source=source.strip() if isinstance(source, str) else None, file=display, line=raw.line)


def load_bank(knowledge_dir: Path) -> tuple[QuestionBank, list[Problem]]:
    """Load and check every quiz file; returns the bank and its problems (empty when clean)."""
    problems: list[Problem] = []
    kb, _ = load_knowledge(knowledge_dir)  # its own problems are `qualitybot kb check`'s to report
    topic_ids = set(kb.topics)
    questions: dict[str, QuizQuestion] = {}
    for display, raw in iter_entries(knowledge_dir / "quiz", "questions", problems):
        question = _check_question(raw, display, topic_ids, problems)
        if question is None:
            continue
        if question.id in questions:
            other = questions[question.id]
            problems.append(Problem(display, raw.line, f"duplicate id {question.id} (also {other.file}:{other.line})"))
            continue
        questions[question.id] = question
    problems += _near_duplicate_stems(list(questions.values()))
    # the register is shared with the knowledge base; a broken one leaves both checks blind, so both report it
    register, register_problems = load_register(knowledge_dir)
    warnings, stale = check_citations(knowledge_dir / "quiz", register)
    return QuestionBank(questions, warnings), sorted(problems + register_problems + stale)


def _near_duplicate_stems(questions: list[QuizQuestion]) -> list[Problem]:
    """Stems that say the same thing (rapidfuzz similarity above the threshold) are reported once per pair."""
    stems = [normalise_phrase(q.stem) for q in questions]
    problems = []
    for i, question in enumerate(questions):
        matches = process.extract(stems[i], stems[i + 1:], scorer=fuzz.ratio,
                                  score_cutoff=DUPLICATE_STEM_SIMILARITY, limit=None)
        for _, score, offset in matches:
            other = questions[i + 1 + offset]
            problems.append(Problem(other.file, other.line,
                                    f"question {other.id}: stem is {score:.0f}% similar to {question.id} "
                                    f"({question.file}:{question.line})"))
    return problems


def require_bank(knowledge_dir: Path) -> QuestionBank:
    """The checked bank; raises KnowledgeError (with every problem) when `qualitybot quiz check` would fail."""
    from bot.knowledge import KnowledgeError

    bank, problems = load_bank(knowledge_dir)
    if problems:
        raise KnowledgeError(problems)
    for warning in bank.warnings:
        log.warning("question bank: %s", warning)
    return bank
