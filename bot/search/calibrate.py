"""Fitting the answer verdict (bot/search/verdict.py) on a calibration set: `qualitybot kb calibrate FILE`.

Two logistic regressions over the engine's ranking features, fitted by Newton's method with a small ridge penalty on
standardised features (numpy, only here: the bot evaluates the result in plain Python), then three thresholds
chosen for stated targets on out-of-fold probabilities (each question scored by a model fitted on the other four
fifths of the set, so the thresholds are not fooled by how well a model fits its own questions):

- offdomain: the highest p(domain) below which at most OFFDOMAIN_IN_DOMAIN of the in-domain questions fall;
- probable: among the others, the lowest p(right) at which cards of either kind stay within WRONG_CARDS wrong cards
  (a wrong topic, or a card for a question that must not be answered) per question asked, and at most OOD_CARDS
  of the questions that must not be answered get a card;
- answer: the lowest p(right) at which cards shown alone are right at least ANSWER_PRECISION of the time.

The command also prints what the whole procedure (fit and thresholds) does on questions it has not seen: fitted on
four fifths of the set and judged on the fifth left out, five times. Everything is deterministic: same questions
and same engine, same file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from bot.search.engine import SearchEngine
from bot.search.evaluate import GROUP_OF, KIND_GROUPS, EvalItem, evaluate, read_eval_set
from bot.search.verdict import FEATURES, VerdictModel, logistic

WRONG_CARDS = 0.005          # the issue asks for at most 2 %; other sets showed 2-3 times this set's rate
OOD_CARDS = 0.04             # the target is at least 95 % of them refused
ANSWER_PRECISION = 0.999      # the card alone only when (nearly) never wrong; below it, alternatives beneath
OFFDOMAIN_IN_DOMAIN = 0.01
RIDGE = 1.0
ITERATIONS = 50
FOLDS = 5


@dataclass(frozen=True)
class Row:
    features: dict[str, float] | None  # None: no hits, so no card whatever the model says
    in_domain: bool
    right: bool          # the first hit is one of the right topics
    kind: str


def collect(engine: SearchEngine, items: list[EvalItem]) -> list[Row]:
    """The ranking features of every question."""
    rows = []
    for item in items:
        result = engine.search(item.question, top=3)
        right = bool(result.hits) and result.hits[0].id in item.ids
        rows.append(Row(result.features or None, bool(item.ids), right, item.kind))
    return rows


def fit_logistic(rows: list[Row], label) -> dict[str, float]:
    """Ridge-penalised logistic regression; coefficients on the raw feature scale, rounded to 4 decimals."""
    import numpy as np

    rows = [row for row in rows if row.features]
    x = np.array([[row.features[name] for name in FEATURES] for row in rows], dtype=np.float64)
    y = np.array([1.0 if label(row) else 0.0 for row in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    penalty = np.eye(z.shape[1]) * RIDGE
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    w = np.zeros(z.shape[1])
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    coefficients = w[1:] / scale
    bias = w[0] - float(np.sum(coefficients * mean))
    return {"bias": round(float(bias), 4), **{name: round(float(c), 4) for name, c in zip(FEATURES, coefficients)}}


def _candidates(values: list[float]) -> list[float]:
    """Thresholds worth trying: midway between consecutive distinct probabilities, and the ends."""
    ordered = sorted({round(v, 6) for v in values})
    return [0.0] + [round((a + b) / 2, 6) for a, b in pairwise(ordered)] + [1.0]


def folds(rows: list[Row], count: int = FOLDS) -> list[int]:
    """A fold number per row, dealt in turn within each kind (deterministic, every fold has every kind)."""
    seen: dict[str, int] = {}
    numbers = []
    for row in rows:
        numbers.append(seen.get(row.kind, 0) % count)
        seen[row.kind] = seen.get(row.kind, 0) + 1
    return numbers


def out_of_fold(rows: list[Row], label) -> list[float]:
    """Each row's probability from a model fitted without its fold: what the fit does on unseen questions."""
    fold_of = folds(rows)
    result = [0.0] * len(rows)
    for fold in range(FOLDS):
        coefficients = fit_logistic([row for row, f in zip(rows, fold_of) if f != fold], label)
        for i, (row, f) in enumerate(zip(rows, fold_of)):
            if f == fold and row.features:
                result[i] = logistic(coefficients, row.features)
    return result


def choose_thresholds(rows: list[Row], p_right: list[float], p_domain: list[float]) -> dict[str, float]:
    """The thresholds for the targets in the module's docstring, given each row's p(right) and p(domain)."""
    in_domain = sum(1 for row in rows if row.in_domain) or 1
    out_of_domain = sum(1 for row in rows if not row.in_domain) or 1
    scored = [(row, p, q) for row, p, q in zip(rows, p_right, p_domain) if row.features]
    offdomain = 0.0
    for threshold in _candidates([q for _, _, q in scored]):
        if sum(1 for row, _, q in scored if row.in_domain and q < threshold) <= OFFDOMAIN_IN_DOMAIN * in_domain:
            offdomain = threshold
    ours = [(row, p) for row, p, q in scored if q >= offdomain]
    probable = 1.0
    for threshold in _candidates([p for _, p in ours]):
        shown = [row for row, p in ours if p >= threshold]
        wrong = sum(1 for row in shown if not row.right)
        ood_cards = sum(1 for row in shown if not row.in_domain)
        if wrong <= WRONG_CARDS * len(rows) and ood_cards <= OOD_CARDS * out_of_domain:
            probable = threshold
            break
    answer = 1.0
    for threshold in _candidates([p for _, p in ours]):
        shown = [row for row, p in ours if p >= threshold]
        if threshold >= probable and shown and sum(row.right for row in shown) >= ANSWER_PRECISION * len(shown):
            answer = threshold
            break
    return {"answer": answer, "probable": probable, "offdomain": offdomain}


def fit(rows: list[Row]) -> VerdictModel:
    """Coefficients fitted on every row; thresholds chosen on out-of-fold probabilities, so that they hold for
    questions the coefficients were not fitted on rather than for the fitted ones."""
    if not any(row.right for row in rows) or all(row.in_domain for row in rows):
        raise ValueError("the calibration set needs right and wrong first hits and questions outside the domain")
    is_right, is_in_domain = (lambda row: row.right), (lambda row: row.in_domain)
    thresholds = choose_thresholds(rows, out_of_fold(rows, is_right), out_of_fold(rows, is_in_domain))
    return VerdictModel(fit_logistic(rows, is_right), fit_logistic(rows, is_in_domain), **thresholds)


def cross_validated(rows: list[Row]) -> str:
    """What fitting does for unseen questions: each fifth judged by a model (and thresholds) fitted on the rest."""
    fold_of = folds(rows)
    counts: dict[str, list[int]] = {}  # group -> [in-domain, answered and right, wrong cards, questions, refused]
    for fold in range(FOLDS):
        model = fit([row for row, f in zip(rows, fold_of) if f != fold])
        for row, f in zip(rows, fold_of):
            if f != fold:
                continue
            shown = bool(row.features) and model.decide(row.features)[0] in ("answer", "probable")
            for group in ("all", GROUP_OF.get(row.kind, "")):
                tally = counts.setdefault(group, [0, 0, 0, 0, 0])
                tally[0] += row.in_domain
                tally[1] += row.in_domain and shown and row.right
                tally[2] += shown and not row.right
                tally[3] += 1
                tally[4] += not row.in_domain and not shown
    lines = [f"cross-validated ({FOLDS} folds, fit and thresholds on the other folds):"]
    for group in ("all", *KIND_GROUPS):
        if group not in counts:
            continue
        in_domain, right, wrong, questions, refused = counts[group]
        parts = [f"{group:8s} {questions:4d} questions"]
        if in_domain:
            parts.append(f"answered and right {right / in_domain:.3f}")
        parts.append(f"wrong cards {wrong / questions:.3f}")
        if questions > in_domain:
            parts.append(f"refused {refused / (questions - in_domain):.3f}")
        lines.append("  " + ", ".join(parts))
    return "\n".join(lines)


def calibrate_file(kb, knowledge_dir: Path, source: Path) -> tuple[str, str]:
    """(the text of verdict.yaml, the figures on `source`) for this knowledge base and calibration file."""
    items = read_eval_set(source)
    engine = SearchEngine.build(kb, knowledge_dir, verdict=VerdictModel.uncalibrated())
    rows = collect(engine, items)
    model = fit(rows)
    engine.verdict = model
    figures = f"fitted on all of {source.name}:\n{evaluate(engine, items).as_text()}\n\n{cross_validated(rows)}"
    return render(model, source, items, figures), figures


def render(model: VerdictModel, source: Path, items: list[EvalItem], figures: str) -> str:
    """verdict.yaml: a header that says how it was made, the coefficients, the thresholds, the figures."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]

    def number(value: float) -> str:
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"

    def coefficients(values: dict[str, float]) -> list[str]:
        return [f"    {name}: {number(values.get(name, 0.0))}" for name in ("bias", *FEATURES)]

    lines = [
        "# 答复判定模型（自动生成，请勿手改）/ The answer verdict, written by:",
        f"#     qualitybot kb calibrate {source.name}",
        "# Change the questions, the topics or intents.yaml, then run the command again; bot/search/verdict.py reads",
        "# this file and bot/search/calibrate.py explains the fit and the targets.",
        f"# Fitted on {source.name} (sha256 {digest}…, {len(items)} questions, "
        f"{sum(1 for item in items if item.ids)} in-domain).",
        f"# Targets: wrong cards <= {WRONG_CARDS:.1%} of questions, cards for out-of-domain questions <= "
        f"{OOD_CARDS:.0%} of them,",
        f"# cards shown alone right >= {ANSWER_PRECISION:.1%}, in-domain questions called off-domain <= "
        f"{OFFDOMAIN_IN_DOMAIN:.0%}.",
        "",
        "right:   # p(the first hit is the right topic)",
        "  coefficients:",
        *coefficients(model.right),
        "domain:  # p(the question is about a topic of the knowledge base)",
        "  coefficients:",
        *coefficients(model.domain),
        "thresholds:",
        f"  offdomain: {number(model.offdomain)}   # p(domain) below: not ours, offer the topic menu",
        f"  answer: {number(model.answer)}      # p(right) at or above: the card alone",
        f"  probable: {number(model.probable)}    # p(right) at or above: the card with alternatives beneath",
        "",
        *(f"# {line}" if line else "#" for line in figures.splitlines()),
        "",
    ]
    return "\n".join(lines)
