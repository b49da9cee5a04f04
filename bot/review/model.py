"""A learnt detector: a linear model over a draft's words and word pairs.

Phrase lists catch what their authors thought of; on messages from sources they were not
tuned on, people say "about you" and "happy to help" in too many ways for them. A
logistic regression over TF-IDF features of words and adjacent word pairs, trained on the
labelled real messages, carries over to new sources better (measured in
tests/data/real/FIGURES.md). It only ever sets a signal, like any detector, and its
evidence is the sentence it scores highest, so a finding still quotes the sender.

Training and inference are plain Python: no numerical library is installed for them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .text import Text
from .text import token_features as features

Span = tuple[int, int]
FORMAT = 1


class ModelError(Exception):
    """A model file that cannot be used: missing, not JSON, or not a model."""


@dataclass(frozen=True)
class WordModel:
    """Weights of a TF-IDF logistic regression: P(signal) for a draft's tokens."""

    bias: float
    table: dict[str, tuple[float, float]] = field(repr=False)  # feature -> (idf, weight)
    about: dict[str, Any] = field(default_factory=dict, repr=False)

    def probability(
        self, text: Text, context: str | None = None, extra: Iterable[str] = ()
    ) -> float:
        """P(signal); a model trained with contexts reads the draft's context as a first
        token (the same words can suit a follow-up and not a first message), and one
        trained with `extra` features reads them too (the verdict model's findings)."""
        return self.probability_of(text.features, (*context_features(text.toks, context), *extra))

    def probability_of(self, counts: Counter[str], extra: Iterable[str] = ()) -> float:
        """P(signal) for a draft's feature counts (see `features`), plus features seen once
        that `counts` does not hold (the context's, so a draft's counts are not copied)."""
        table = self.table
        total = norm = 0.0
        for feature, n in counts.items():
            entry = table.get(feature)
            if entry is not None:
                x = (1.0 + math.log(n)) * entry[0]
                norm += x * x
                total += x * entry[1]
        for feature in extra:
            entry = table.get(feature)
            if entry is not None:
                norm += entry[0] * entry[0]
                total += entry[0] * entry[1]
        return _sigmoid(self.bias + (total / math.sqrt(norm) if norm else 0.0))

    def strongest_sentence(self, text: Text) -> Span:
        """The sentence that on its own scores highest: what a finding quotes."""
        best, best_p = (0, len(text.original.rstrip())), -1.0
        if len(text.sentences) < 2:
            return best
        for start, end in text.sentences:
            p = self.probability_of(features(_tokens(text, start, end)))
            if p > best_p:
                best, best_p = (start, end), p
        return best

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "about": self.about,
            "bias": round(self.bias, 6),
            "features": {f: [round(i, 5), round(w, 5)] for f, (i, w) in sorted(self.table.items())},
        }


def _sigmoid(logit: float) -> float:
    """The logistic function, clamped so a huge logit cannot overflow `exp`."""
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def context_features(tokens: list[str], context: str | None) -> tuple[str, ...]:
    """The features a context adds when it is read as a token before the draft's first."""
    if context is None:
        return ()
    marker = f"<{context}>"
    return (marker, f"{marker} {tokens[0]}") if tokens else (marker,)


def _tokens(text: Text, start: int, end: int) -> list[str]:
    first = text.token_at(start)
    last = text.token_at(end)
    return text.toks[first:last]


def load_model(path: str | Path) -> WordModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the model: {exc}") from None
    try:
        if data["format"] != FORMAT:
            raise ModelError(f"{path}: model format {data['format']!r}; this netcoach reads 1")
        table = {str(f): (float(i), float(w)) for f, (i, w) in data["features"].items()}
        return WordModel(float(data["bias"]), table, dict(data.get("about", {})))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: not a netcoach model ({exc!r} missing or malformed)") from None


def train(
    examples: Iterable[tuple[str, bool]] | Iterable[tuple[str, bool, str]],
    *,
    c: float = 4.0,
    min_df: int = 2,
    iterations: int = 300,
    about: dict[str, Any] | None = None,
    extra: Callable[[str, str], Iterable[str]] | None = None,
) -> WordModel:
    """Fit a class-balanced, L2-regularised logistic regression (the objective of
    scikit-learn's LogisticRegression(C=c, class_weight="balanced")) by full-batch Adam:
    deterministic, so the same data always gives the same model. An example may name its
    context third: the model then reads it as a token (see `context_features`), and
    `extra(text, context)` adds features of its own (the verdict model's findings)."""
    docs: list[Counter[str]] = []
    labels: list[bool] = []
    for text, label, *context in examples:
        draft = Text(text)
        doc = Counter(draft.features)
        doc.update(context_features(draft.toks, context[0] if context else None))
        if extra is not None and context:
            doc.update(extra(text, context[0]))
        docs.append(doc)
        labels.append(bool(label))
    if len(set(labels)) < 2:
        raise ModelError("training needs examples of both kinds (with and without the signal)")
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    names = sorted(f for f, n in df.items() if n >= min_df)
    index = {f: k for k, f in enumerate(names)}
    n_docs = len(docs)
    idf = [math.log((1 + n_docs) / (1 + df[f])) + 1.0 for f in names]
    rows: list[list[tuple[int, float]]] = []
    for doc in docs:
        row = [
            (index[f], (1.0 + math.log(n)) * idf[index[f]]) for f, n in doc.items() if f in index
        ]
        norm = math.sqrt(sum(x * x for _, x in row)) or 1.0
        rows.append([(k, x / norm) for k, x in row])
    positives = sum(labels)
    share = {True: n_docs / (2 * positives), False: n_docs / (2 * (n_docs - positives))}
    sample = [share[y] for y in labels]
    y_num = [1.0 if y else 0.0 for y in labels]

    dim = len(names) + 1  # the last one is the bias, not regularised
    w = [0.0] * dim
    m = [0.0] * dim
    v = [0.0] * dim
    rate, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for step in range(1, iterations + 1):
        grad = [wk / c for wk in w]
        grad[-1] = 0.0
        for row, yi, si in zip(rows, y_num, sample, strict=True):
            g = si * (_sigmoid(w[-1] + sum(w[k] * x for k, x in row)) - yi)
            for k, x in row:
                grad[k] += g * x
            grad[-1] += g
        for k in range(dim):
            m[k] = beta1 * m[k] + (1 - beta1) * grad[k]
            v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k]
            m_hat = m[k] / (1 - beta1**step)
            v_hat = v[k] / (1 - beta2**step)
            w[k] -= rate * m_hat / (math.sqrt(v_hat) + eps)
    table = {f: (idf[k], w[k]) for k, f in enumerate(names)}
    return WordModel(w[-1], table, dict(about or {}))
