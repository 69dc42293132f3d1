"""The answer verdict: two small logistic models fitted on questions nobody tuned the engine on.

`domain` estimates the probability that the question is about a topic of the knowledge base at all;
`right`  estimates the probability that the first hit is the topic the question is about.

    p(domain) < offdomain  -> "offdomain" not a quality question: the chat offers the topic menu, not unrelated topics
    p(right) >= answer     -> "answer"    the card alone
    p(right) >= probable   -> "probable"  the card at once, "您是不是想问" alternatives beneath it
    otherwise              -> "suggest"   a list of suggestions ("没有找到确切答案")

Coefficients and thresholds live in knowledge/dict/verdict.yaml, written by `qualitybot kb calibrate FILE`
(bot/search/calibrate.py); this module only reads them, in plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

# What the engine measures about a ranking (SearchEngine._features); the order is the order of verdict.yaml.
FEATURES = (
    "best",            # score of the first hit (0-1)
    "tie",             # -log(0.01 + lead over the second hit as a share of the best score): 0 clear, 4.6 a tie
    "coverage",        # share of the question's informative word weight that the first topic's words explain
    "known",           # share of the question's informative word weight made of words some topic uses
    "evidence",        # log(1 + matched word weight of the first topic): one rare domain word is about 1
    "fuzzy",           # rapidfuzz partial_ratio of the question to the first topic's title and phrasings (0-1)
    "length",          # log(1 + number of content words)
    "offdomain_cue",   # 1 when the question uses a phrase of intents.yaml's offdomain list
    "domain_match",    # share of that explained weight carried by the domain's own words (dictionary, synonyms)
)


class VerdictError(ValueError):
    """verdict.yaml is malformed or was written for other features."""


def logistic(coefficients: dict[str, float], features: dict[str, float]) -> float:
    z = coefficients.get("bias", 0.0) + sum(coefficients.get(name, 0.0) * features[name] for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class VerdictModel:
    right: dict[str, float]
    domain: dict[str, float]
    answer: float
    probable: float
    offdomain: float

    @classmethod
    def uncalibrated(cls) -> VerdictModel:
        """Without a fitted file nothing is answered: every ranking becomes a list of suggestions."""
        return cls({"bias": -50.0}, {"bias": 50.0}, answer=1.1, probable=1.1, offdomain=0.0)

    @classmethod
    def load(cls, path: Path) -> VerdictModel:
        if not path.is_file():
            return cls.uncalibrated()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            models = {name: {key: float(value) for key, value in data[name]["coefficients"].items()}
                      for name in ("right", "domain")}
            thresholds = {key: float(data["thresholds"][key]) for key in ("answer", "probable", "offdomain")}
        except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VerdictError(f"cannot read the verdict model ({exc}); "
                               "regenerate it with `qualitybot kb calibrate`") from None
        for name, coefficients in models.items():
            unknown = set(coefficients) - {"bias", *FEATURES}
            if unknown:
                raise VerdictError(f"{name} has coefficients for unknown features {sorted(unknown)}; "
                                   "regenerate it with `qualitybot kb calibrate`")
        return cls(models["right"], models["domain"], **thresholds)

    def probability_right(self, features: dict[str, float]) -> float:
        return logistic(self.right, features)

    def probability_domain(self, features: dict[str, float]) -> float:
        return logistic(self.domain, features)

    def decide(self, features: dict[str, float]) -> tuple[str, float]:
        """(verdict, p(right)) for a ranking with at least one hit."""
        p_right = self.probability_right(features)
        if self.probability_domain(features) < self.offdomain:
            return "offdomain", p_right
        if p_right >= self.answer:
            return "answer", p_right
        if p_right >= self.probable:
            return "probable", p_right
        return "suggest", p_right
