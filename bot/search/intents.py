"""What a question asks for, from word lists a curator edits (knowledge/dict/intents.yaml).

A section intent ("怎么处理" → remedy) tells the chat which part of the answer card to open; a topic intent
("保修几年" → mgmt.warranty) adds a fixed amount to that topic's score; an off-domain cue ("多少钱", "工资") is one of
the features the answer verdict weighs. Phrases are matched on the cleaned, simplified text, before segmentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SECTION_KEYS = ("symptoms", "causes", "prevention", "remedy", "standards")
# The options of a multiple-choice stem ("… A.大面积施工前 B.工程竣工后 … D.保修期内") are mostly wrong answers:
# what the question asks for is said before them.
_OPTIONS = re.compile(r"(?:^|\s)a\.\S.*\sb\.\S", re.DOTALL)


def question_stem(text: str) -> str:
    """Cleaned question text without the options of a multiple-choice stem."""
    match = _OPTIONS.search(text)
    return text[:match.start()] if match else text


class IntentError(ValueError):
    """intents.yaml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Intents:
    sections: tuple[tuple[str, str], ...] = ()              # (phrase, section key), longest phrase first
    topics: tuple[tuple[str, str, float], ...] = ()         # (phrase, topic id, boost)
    offdomain: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path, clean) -> Intents:
        """Read intents.yaml (an absent file means no intents); `clean` folds a phrase the way queries are folded."""
        if not path.is_file():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise IntentError(f"YAML syntax error: {exc}") from None
        if not isinstance(data, dict):
            raise IntentError("expected the keys sections, topics and offdomain")

        def phrases(value, where: str) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(item, (str, int, float)) for item in value):
                raise IntentError(f"{where} must be a list of phrases")
            return [text for text in (clean(str(item)).replace(" ", "") for item in value) if text]

        sections = []
        for key, words in (data.get("sections") or {}).items():
            if key not in SECTION_KEYS:
                raise IntentError(f"unknown section {key!r} (one of {', '.join(SECTION_KEYS)})")
            sections += [(phrase, key) for phrase in phrases(words, f"sections.{key}")]
        topics = []
        for topic_id, entry in (data.get("topics") or {}).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("boost"), (int, float)):
                raise IntentError(f"topics.{topic_id} needs a numeric boost and a list of words")
            topics += [(phrase, str(topic_id), float(entry["boost"]))
                       for phrase in phrases(entry.get("words"), f"topics.{topic_id}.words")]
        groups = data.get("offdomain") or []
        if not isinstance(groups, list):
            raise IntentError("offdomain must be a list of lists of phrases")
        offdomain = [phrase for number, group in enumerate(groups, start=1)
                     for phrase in (phrases(group, f"offdomain group {number}") if isinstance(group, list)
                                    else phrases([group], "offdomain"))]
        by_length = lambda item: (-len(item[0]), item)  # noqa: E731
        return cls(tuple(sorted(set(sections), key=by_length)), tuple(sorted(set(topics), key=by_length)),
                   tuple(sorted(set(offdomain), key=lambda p: (-len(p), p))))

    def section_of(self, text: str) -> str | None:
        """The section asked for: the phrase that appears first (the longest one at that place)."""
        compact = text.replace(" ", "")
        best: tuple[int, int, str] | None = None
        for phrase, key in self.sections:
            position = compact.find(phrase)
            if position >= 0 and (best is None or (position, -len(phrase)) < best[:2]):
                best = (position, -len(phrase), key)
        return best[2] if best else None

    def section_phrases(self) -> tuple[str, ...]:
        return tuple(phrase for phrase, _ in self.sections)

    def topic_boosts(self, text: str) -> dict[str, float]:
        compact = text.replace(" ", "")
        boosts: dict[str, float] = {}
        for phrase, topic_id, boost in self.topics:
            if phrase in compact:
                boosts[topic_id] = max(boosts.get(topic_id, 0.0), boost)
        return boosts

    def offdomain_cue(self, text: str) -> bool:
        compact = text.replace(" ", "")
        return any(phrase in compact for phrase in self.offdomain)
