"""The knowledge base: topics loaded from `knowledge/topics/*.yaml`, validated, and rendered for chat."""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.render import MESSAGE_LIMIT, escape
from bot.standards import check_citations, load_register
from bot.yamlfile import LineDict, LineList, Problem, iter_entries

log = logging.getLogger(__name__)

# (key, heading) of the answer sections, in the order a worker reads them.
SECTIONS = [("symptoms", "现象"), ("causes", "原因"), ("prevention", "预防措施"), ("remedy", "处理方法")]
SECTION_TITLES = dict(SECTIONS) | {"standards": "规范依据", "hainan": "海南提示", "related": "相关问题"}
LIST_FIELDS = ["symptoms", "causes", "prevention", "remedy", "questions", "keywords", "related"]
TOPIC_KEYS = {"id", "category", "title", "summary", "standards", "hainan", *LIST_FIELDS}
REQUIRED_KEYS = TOPIC_KEYS - {"hainan"}
SUMMARY_LIMIT = 80
ITEM_LIMIT = 120
TITLE_LIMIT = 30
MIN_QUESTIONS = 8
ID_PATTERN = re.compile(r"^[a-z]+\.[a-z0-9_]+$")


@dataclass(frozen=True)
class Standard:
    code: str
    name: str
    clause: str | None = None
    note: str | None = None  # e.g. 据条文解读资料（二手），条号待核原文

    def render(self) -> str:
        clause = f" 第 {self.clause} 条" if self.clause else ""
        note = f"（{self.note}）" if self.note else ""
        return (f"{self.code}《{self.name}》{clause}" if self.name else f"{self.code}{clause}") + note


@dataclass(frozen=True)
class Topic:
    id: str
    category: str
    title: str
    summary: str
    symptoms: tuple[str, ...]
    causes: tuple[str, ...]
    prevention: tuple[str, ...]
    remedy: tuple[str, ...]
    standards: tuple[Standard, ...]
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    hainan: str | None = None
    file: str = ""
    line: int = 0

    def plain_text(self) -> str:
        """Every answer section as plain text (for export and search)."""
        parts = [self.summary]
        for key, heading in SECTIONS:
            parts.append(heading + "：" + "；".join(getattr(self, key)))
        parts.append("规范依据：" + "；".join(s.render() for s in self.standards))
        if self.hainan:
            parts.append("海南提示：" + self.hainan)
        return "\n".join(parts)


@dataclass
class KnowledgeBase:
    topics: dict[str, Topic] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # e.g. citations of superseded standards

    def by_category(self, category: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.category == category]

    def get(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)


class KnowledgeError(ValueError):
    """The knowledge base has problems; `problems` lists them with file and line."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the knowledge base; first: {problems[0]}")
        self.problems = problems


def read_topic_list(path: Path) -> list[dict[str, str]]:
    """The official topic list (id, category, title, scope) that evaluation sets refer to."""
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def normalise_phrase(text: str) -> str:
    """Compare phrasings while ignoring width, case, spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_topic(raw: LineDict, display: str, problems: list[Problem]) -> Topic | None:
    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(display, raw.line_of(key) if key else raw.line, message))

    topic_id = raw.get("id")
    label = f"topic {topic_id}" if isinstance(topic_id, str) else "topic"
    for key in sorted(REQUIRED_KEYS - set(raw)):
        problem(None, f"{label}: missing '{key}'")
    for key in sorted(set(raw) - TOPIC_KEYS):
        problem(key, f"{label}: unknown key '{key}'")
    if not isinstance(topic_id, str) or not ID_PATTERN.match(topic_id):
        problem("id", f"{label}: id must look like 'conc.slab_cracks'")
        return None
    for key in ("category", "title", "summary"):
        value = raw.get(key)
        if key in raw and (not isinstance(value, str) or not value.strip()):
            problem(key, f"{label}: '{key}' must be non-empty text")
    if isinstance(raw.get("title"), str) and len(raw["title"]) > TITLE_LIMIT:
        problem("title", f"{label}: title longer than {TITLE_LIMIT} characters")
    if isinstance(raw.get("summary"), str) and len(raw["summary"].strip()) > SUMMARY_LIMIT:
        problem("summary", f"{label}: summary is {len(raw['summary'].strip())} characters (limit {SUMMARY_LIMIT})")
    if "hainan" in raw and raw["hainan"] is not None and (not isinstance(raw["hainan"], str) or not raw["hainan"].strip()):
        problem("hainan", f"{label}: 'hainan' must be text (or be left out)")
    for key in LIST_FIELDS:
        if key not in raw:
            continue
        value = raw[key]
        if not _strings(value):
            problem(key, f"{label}: '{key}' must be a list of texts")
            continue
        if not value:
            problem(key, f"{label}: '{key}' is empty")
        for index, item in enumerate(value):
            line = value.line_of(index) if isinstance(value, LineList) else raw.line_of(key)
            if not item.strip():
                problems.append(Problem(display, line, f"{label}: empty item in '{key}'"))
            elif len(item) > ITEM_LIMIT:
                problems.append(Problem(display, line, f"{label}: item in '{key}' longer than {ITEM_LIMIT} characters"))
    if _strings(raw.get("questions")) and len(raw["questions"]) < MIN_QUESTIONS:
        problem("questions", f"{label}: {len(raw['questions'])} questions (at least {MIN_QUESTIONS})")

    standards: list[Standard] = []
    raw_standards = raw.get("standards")
    if "standards" in raw:
        if not isinstance(raw_standards, list) or not raw_standards:
            problem("standards", f"{label}: 'standards' must be a non-empty list of {{code, name, clause}}")
        else:
            for index, entry in enumerate(raw_standards):
                line = raw_standards.line_of(index)
                if not isinstance(entry, dict) or not isinstance(entry.get("code"), str) or not entry["code"].strip():
                    problems.append(Problem(display, line, f"{label}: a standard needs a 'code'"))
                    continue
                unknown = set(entry) - {"code", "name", "clause", "note"}
                if unknown:
                    problems.append(Problem(display, line, f"{label}: unknown standard key(s) {sorted(unknown)}"))
                clause = entry.get("clause")
                if clause is not None and not isinstance(clause, str):
                    problems.append(Problem(display, line, f"{label}: clause must be quoted text, e.g. \"8.2.1\""))
                    clause = str(clause)
                note = entry.get("note")
                if note is not None and (not isinstance(note, str) or not note.strip()):
                    problems.append(Problem(display, line, f"{label}: a standard's note must be text (or be left out)"))
                    note = None
                standards.append(Standard(entry["code"].strip(), str(entry.get("name") or "").strip(), clause,
                                          note.strip() if note else None))

    try:
        return Topic(
            id=topic_id, category=str(raw.get("category", "")).strip(), title=str(raw.get("title", "")).strip(),
            summary=str(raw.get("summary", "")).strip(),
            **{key: tuple(s.strip() for s in raw.get(key) or [] if isinstance(s, str)) for key in LIST_FIELDS},
            standards=tuple(standards), hainan=(raw.get("hainan") or "").strip() or None,
            file=display, line=raw.line,
        )
    except TypeError:
        return None


def load_knowledge(directory: Path) -> tuple[KnowledgeBase, list[Problem]]:
    """Load and check every topic file; returns the knowledge base and its problems (empty when clean)."""
    problems: list[Problem] = []
    kb = KnowledgeBase()
    topic_list_path = directory / "topic_ids.tsv"
    official = read_topic_list(topic_list_path) if topic_list_path.is_file() else []
    official_by_id = {row["id"]: row for row in official}
    kb.categories = list(dict.fromkeys(row["category"] for row in official))
    seen_questions: dict[str, tuple[str, str, int]] = {}
    for display, raw in iter_entries(directory / "topics", "topics", problems):
        topic = _check_topic(raw, display, problems)
        if topic is None:
            continue
        if topic.id in kb.topics:
            other = kb.topics[topic.id]
            problems.append(Problem(display, raw.line, f"duplicate id {topic.id} (also {other.file}:{other.line})"))
            continue
        if official_by_id and topic.id not in official_by_id:
            problems.append(Problem(display, raw.line, f"topic {topic.id}: not in knowledge/topic_ids.tsv"))
        elif official_by_id and topic.category != official_by_id[topic.id]["category"]:
            problems.append(Problem(display, raw.line_of("category"),
                                    f"topic {topic.id}: category should be {official_by_id[topic.id]['category']}"))
        questions = raw.get("questions") if isinstance(raw.get("questions"), LineList) else LineList()
        for q_index, question in enumerate(topic.questions):
            key = normalise_phrase(question)
            line = questions.line_of(q_index) if questions else raw.line
            if key in seen_questions and seen_questions[key][0] != topic.id:
                other_id, other_file, other_line = seen_questions[key]
                problems.append(Problem(display, line, f"topic {topic.id}: question {question!r} is also asked "
                                                       f"in {other_id} ({other_file}:{other_line}); ambiguous"))
            seen_questions.setdefault(key, (topic.id, display, line))
        kb.topics[topic.id] = topic
        if topic.category not in kb.categories:
            kb.categories.append(topic.category)
    for topic in kb.topics.values():
        for related in topic.related:
            if related not in kb.topics:
                problems.append(Problem(topic.file, topic.line, f"topic {topic.id}: related id {related} does not exist"))
        length = len(render_topic(topic))
        if length > MESSAGE_LIMIT:
            problems.append(Problem(topic.file, topic.line,
                                    f"topic {topic.id}: rendered text is {length} characters (limit {MESSAGE_LIMIT})"))
    for row in official:
        if row["id"] not in kb.topics:
            problems.append(Problem(str(topic_list_path.name), 0, f"topic {row['id']} ({row['title']}) is missing"))
    register, register_problems = load_register(directory)
    kb.warnings, stale = check_citations(directory / "topics", register)
    return kb, sorted(problems + register_problems + stale)


def require_knowledge(directory: Path) -> KnowledgeBase:
    """The checked knowledge base; raises KnowledgeError on problems. Warnings are logged, never refused."""
    kb, problems = load_knowledge(directory)
    if problems:
        raise KnowledgeError(problems)
    for warning in kb.warnings:
        log.warning("knowledge base: %s", warning)
    return kb


# --- rendering (Telegram HTML) -------------------------------------------------------------------------

def render_section(topic: Topic, key: str) -> str:
    if key == "standards":
        items = [s.render() for s in topic.standards]
    elif key == "hainan":
        items = [topic.hainan] if topic.hainan else []
    else:
        items = list(getattr(topic, key))
    heading = SECTION_TITLES[key]
    return f"<b>{heading}</b>\n" + "\n".join(f"• {escape(item)}" for item in items)


def render_summary(topic: Topic) -> str:
    return f"<b>{escape(topic.title)}</b>\n{escape(topic.summary)}"


def render_topic(topic: Topic) -> str:
    """The whole topic as one message: title, summary and every section."""
    parts = [render_summary(topic)]
    parts += [render_section(topic, key) for key, _ in SECTIONS]
    parts.append(render_section(topic, "standards"))
    if topic.hainan:
        parts.append("🌴 " + render_section(topic, "hainan"))
    return "\n\n".join(parts)


def export_records(kb: KnowledgeBase) -> list[dict[str, Any]]:
    return [{"id": t.id, "category": t.category, "title": t.title, "questions": list(t.questions),
             "keywords": list(t.keywords), "text": t.plain_text()} for t in kb.topics.values()]
