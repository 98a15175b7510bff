"""Training the statistical reader (nlp/reader.py) from labelled messages, with scikit-learn.

Used only by ``python bot.py learn``; the bot itself reads the exported JSON and never imports
scikit-learn. Training is deterministic: features are sorted, the solver (L-BFGS) has no
randomness, and the exported weights are rounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.reader import WRITE, StatisticalReader

MIN_COUNT = 3  # a feature seen once or twice says more about those messages than about wording (and costs RSS)
REGULARISATION = 4.0  # scikit-learn's C
MODEL_VERSION = 1


@dataclass(frozen=True)
class Example:
    """One labelled message as the reader sees it."""

    text: str  # the reader text (names by kind)
    intent: str  # write | query_… | undo | help | unknown
    status: str | None  # for writes: resolved | in_progress | open
    category: str | None = None  # for writes: the problem's category, when known


def example_of(reader_text: str, intent: str, status: str | None, category: str | None = None) -> Example:
    """A labelled message (contract intent) as a training example."""
    label = WRITE if intent in ("report", "new_issue") else intent
    writes = label == WRITE
    return Example(reader_text, label, status if writes else None, category if writes else None)


def train(examples: Sequence[Example], reader: StatisticalReader) -> dict:
    """A model (plain dict, see nlp/reader.py) trained on ``examples``; ``reader`` supplies the
    feature extraction (its vocabulary), not its weights."""
    feats = [reader.features(example.text) for example in examples]
    intent = _fit(feats, [example.intent for example in examples])
    writes = [(f, e.status) for f, e in zip(feats, examples) if e.intent == WRITE and e.status]
    status = _fit([f for f, _ in writes], [s for _, s in writes])
    named = [(f, e.category) for f, e in zip(feats, examples) if e.intent == WRITE and e.category]
    model = {"kind": "gongjian-reader", "version": MODEL_VERSION, "examples": len(examples),
             "intent": intent, "status": status}
    if len({c for _, c in named}) > 1:
        model["category"] = _fit([f for f, _ in named], [c for _, c in named])
    return model


def _fit(feats: Sequence[Sequence[str]], labels: Sequence[str]) -> dict:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    counts = Counter(f for row in feats for f in set(row))
    kept = {f for f, n in counts.items() if n >= MIN_COUNT}
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform([{f: 1 for f in row if f in kept} for row in feats])
    model = LogisticRegression(C=REGULARISATION, max_iter=5000)
    model.fit(matrix, list(labels))
    classes = [str(c) for c in model.classes_]
    coef, bias = model.coef_, model.intercept_
    if len(classes) == 2:  # one row for two classes: softmax scores [0, w·x + b]
        rows = [[0.0, float(w)] for w in coef[0]]
        biases = [0.0, float(bias[0])]
    else:
        rows = [[float(w) for w in coef[:, j]] for j in range(coef.shape[1])]
        biases = [float(b) for b in bias]
    weights = {
        name: [round(w, 3) for w in row]
        for name, row in zip(vectorizer.get_feature_names_out(), rows)
        if max(abs(w) for w in row) >= 0.01
    }
    return {"classes": classes, "bias": [round(b, 4) for b in biases], "weights": weights}
