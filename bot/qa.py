"""Question answering as the bot offers it: the current knowledge and index, follow-ups, the question log, gaps."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.knowledge import KnowledgeBase, Topic
from bot.quiz import QuestionBank, require_bank
from bot.search.engine import Hit, SearchEngine, SearchResult
from bot.search.normalise import Normalised
from bot.storage import Storage

log = logging.getLogger(__name__)

# Short questions that ask for another section of the topic just answered ("原因呢", "那怎么处理").
FOLLOWUP_PHRASES = {
    "causes": ("什么原因", "啥原因", "原因", "为什么", "为啥", "咋回事", "怎么回事", "怎么造成", "咋造成", "什么导致", "怎么引起"),
    "remedy": ("怎么处理", "如何处理", "咋处理", "处理方法", "怎么办", "咋办", "怎么修", "咋修", "怎么整改", "如何整改",
               "整改", "怎么补救", "怎么解决", "咋整", "怎么弄", "维修", "返修", "修补", "处理"),
    "prevention": ("怎么预防", "如何预防", "预防", "怎么避免", "如何避免", "避免", "防止", "怎么防", "防治", "注意什么",
                   "注意事项", "注意啥"),
    "symptoms": ("什么现象", "现象", "什么样", "表现", "症状", "怎么判断", "怎么看出来"),
    "standards": ("哪个规范", "什么规范", "规范依据", "规范", "标准", "依据", "国标", "规定", "条文"),
    "hainan": ("海南", "台风", "本地"),
    "related": ("相关问题", "相关", "类似"),
}
FOLLOWUP_GLUE = re.compile(r"(那么|那|这个|这|它|呢|吗|啊|的|要|应该|该|一般|有|什么|哪些|是|咋|怎么|如何|还有|具体|说说|讲讲|看看|\s)+")


def followup_section(normalised: Normalised) -> str | None:
    """The section a short follow-up asks for, or None when the text is a question of its own."""
    text = normalised.text
    if not text or len(text) > 12:
        return None
    for section, phrases in FOLLOWUP_PHRASES.items():
        for phrase in phrases:
            if phrase in text:
                rest = FOLLOWUP_GLUE.sub("", text.replace(phrase, ""))
                if not rest:
                    return section
    return None


class KnowledgeService:
    """The knowledge base and its search index; `reload` swaps both only when the new files pass the check."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.engine = SearchEngine.load(directory)
        self.kb: KnowledgeBase = self.engine.kb
        self.bank: QuestionBank = require_bank(directory)

    def reload(self) -> KnowledgeBase:
        # both are checked before either is swapped in; on a problem the old ones keep serving
        engine = SearchEngine.load(self.directory)
        bank = require_bank(self.directory)
        kb = engine.kb
        self.kb, self.engine, self.bank = kb, engine, bank
        log.info("Knowledge base reloaded: %d topics", len(kb.topics))
        return kb


FOLLOWUP_SECONDS = 600  # "原因呢" refers to the last answer for ten minutes


@dataclass(frozen=True)
class LastAnswer:
    """The topic a person was last shown, so that a short follow-up ("原因呢") opens a section of it."""
    topic_id: str
    question_id: int | None
    at: float  # time.monotonic()


@dataclass
class Answer:
    result: SearchResult | None      # None for a follow-up, which is not searched
    question_id: int | None
    topic: Topic | None = None       # the card to show, when there is one
    section: str | None = None       # the section to open on it (a follow-up, or the intent of the question)

    @property
    def remembered(self) -> LastAnswer | None:
        """What a follow-up may refer to next."""
        return LastAnswer(self.topic.id, self.question_id, time.monotonic()) if self.topic else None


# Why an answer got 👎: asked once, right after the press, and shown in `kb gaps`.
FEEDBACK_REASONS: dict[str, str] = {"off": "答非所问", "wrong": "内容有误", "unclear": "看不懂"}
ALTERNATIVES = 3  # other topics offered after a 👎


@dataclass
class GapGroup:
    example: str
    count: int
    questions: list[str]
    last_asked: str
    downvoted: int
    reasons: dict[str, list[str]] = field(default_factory=dict)  # 👎 reason -> the cards it was given on

    def reasons_text(self) -> str:
        """'答非所问×2（leak.floor）; 看不懂×1' for the report."""
        parts = []
        for reason, topics in self.reasons.items():
            shown = "、".join(dict.fromkeys(t for t in topics if t))
            parts.append(f"{FEEDBACK_REASONS.get(reason, reason)}×{len(topics)}" + (f"（{shown}）" if shown else ""))
        return "; ".join(parts)


class QuestionAnswering:
    def __init__(self, storage: Storage, knowledge: KnowledgeService):
        self.storage = storage
        self.knowledge = knowledge

    def ask(self, user_id: int | None, chat_id: int | None, text: str, last: LastAnswer | None = None) -> Answer:
        """A follow-up on the last answer, or a search whose verdict says what to show; questions are logged."""
        kb = self.knowledge.kb
        if last is not None and time.monotonic() - last.at < FOLLOWUP_SECONDS:
            section = followup_section(self.knowledge.engine.normaliser.normalise(text))
            topic = kb.get(last.topic_id)
            if section and topic:
                return Answer(None, last.question_id, topic, section)
        result = self.knowledge.engine.search(text, top=3)
        question_id = None
        if result.verdict not in ("empty", "smalltalk"):
            top = result.hits[0] if result.hits else None
            question_id = self.storage.log_question({
                "user_id": user_id, "chat_id": chat_id, "question": text[:1000],
                "normalised": " ".join(result.normalised.tokens)[:500], "verdict": result.verdict,
                "top_id": top.id if top else None, "score": round(top.score, 4) if top else None,
                "answered": int(result.answered), "latency_ms": round(result.elapsed_ms, 3),
            })
        topic = kb.get(result.hits[0].id) if result.answered and result.hits else None
        return Answer(result, question_id, topic, result.intent if topic else None)

    @staticmethod
    def remember(topic_id: str, question_id: int | None) -> LastAnswer:
        """A card was opened from a button: follow-ups now refer to it."""
        return LastAnswer(topic_id, question_id, time.monotonic())

    def feedback(self, question_id: int, user_id: int, helpful: bool) -> str:
        """'saved', 'already' (one vote per question) or 'invalid' (no such question, or someone else's)."""
        return self.storage.set_feedback(question_id, user_id, 1 if helpful else -1)

    def feedback_reason(self, question_id: int, user_id: int, reason: str, topic_id: str | None) -> str:
        """Why the asker's 👎 (on the card of `topic_id`): 'saved', 'already' (recorded once) or 'invalid'."""
        if reason not in FEEDBACK_REASONS:
            return "invalid"
        return self.storage.set_feedback_reason(question_id, user_id, reason, topic_id or None)

    def alternatives(self, question_id: int, user_id: int, shown_topic: str | None) -> list[Hit]:
        """The other topics the matcher finds for the asker's question, without the card they turned down."""
        row = self.storage.question(question_id)
        if row is None or row["user_id"] != user_id:
            return []
        result = self.knowledge.engine.search(row["question"], top=ALTERNATIVES + 1)
        return [hit for hit in result.hits if hit.id != shown_topic][:ALTERNATIVES]


def find_gaps(storage: Storage, since: str | None = None, similarity: float = 70.0) -> list[GapGroup]:
    """Unanswered and 👎 questions, grouped by similarity, most frequent first."""
    groups: list[dict[str, Any]] = []
    for row in storage.unanswered_questions(since):
        key = row["normalised"] or row["question"]
        for group in groups:
            if fuzz.token_sort_ratio(key, group["key"]) >= similarity:
                break
        else:
            group = {"key": key, "questions": [], "last": row["asked_at"], "down": 0, "reasons": {}}
            groups.append(group)
        group["questions"].append(row["question"])
        group["last"] = max(group["last"], row["asked_at"])
        group["down"] += int(row["feedback"] == -1)
        if row.get("feedback_reason"):
            group["reasons"].setdefault(row["feedback_reason"], []).append(row.get("feedback_topic") or "")
    result = [GapGroup(example=g["questions"][0], count=len(g["questions"]), questions=g["questions"],
                       last_asked=g["last"], downvoted=g["down"], reasons=g["reasons"]) for g in groups]
    result.sort(key=lambda g: (-g.count, g.last_asked))
    return result
