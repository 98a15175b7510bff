"""The second, independent reader: a linear model over character and word n-grams.

The rule reader (nlp/parser.py) explains a message by its grammar; this one has learnt from
labelled messages which wordings mean a report and which status. It knows nothing of the
rules: it sees the message with ledger names replaced by their kind (Ⓥ a village, Ⓗ a
household, Ⓣ a township), digits as 0, and reads

- character 1-3-grams of that text, and
- word 1-2-grams, the words cut leftmost-longest by the county's vocabulary (the lexicon
  files used as a dictionary only; what the rules make of a word plays no part).

Three heads: the intent (``write`` for report/new_issue, else the query, undo, help or
unknown intent) and, for writes, the status and the problem's category (the last is optional:
a model trained before it existed has none). The model is plain JSON (weights per feature and
class), trained by ``python bot.py learn`` (nlp/reader_training.py, scikit-learn), small and
deterministic; reading it needs nothing but this module.
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from operator import add
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlp.lexicon import KeywordMatcher, Lexicon

SHIPPED_MODEL = Path(__file__).resolve().parent / "model" / "reader.json.gz"
WRITE = "write"
PLACEHOLDERS = {"village": "Ⓥ", "household": "Ⓗ", "township": "Ⓣ", "mixed": "Ⓟ", "county": "Ⓟ"}


# The readers agree when the statistical reader gives the rules' reading (write, and its
# status) at least this probability: below it, the second reader finds that reading
# implausible and the bot asks. Chosen on the development sets by cross-validation
# (python -m tests.corpus.crossval), never on a held-out set: on 8,477 messages in round 11,
# 0.5 ("at least as likely as not") made 1 confident wrong write where 0.3 made 3, for 0.3
# point more questions.
AGREE_AT = 0.5


@dataclass(frozen=True)
class Guess:
    """What the reader thinks: the intent and, for a write, the status, with probabilities."""

    intent: str
    intent_p: float
    status: str | None
    status_p: float
    intents: dict[str, float] | None = None  # every intent's probability
    statuses: dict[str, float] | None = None  # every status's probability (if it is a write)
    categories: dict[str, float] | None = None  # every category's probability (a model without
    # a category head gives None)

    @property
    def writes(self) -> bool:
        return self.intent == WRITE

    def finds_plausible(self, status: str | None, threshold: float = AGREE_AT) -> bool:
        """True when a write with ``status`` is at least ``threshold`` likely to this reader."""
        write = (self.intents or {}).get(WRITE, self.intent_p if self.writes else 0.0)
        if write < threshold:
            return False
        if status is None:
            return True
        return (self.statuses or {}).get(status, 0.0) >= threshold

    def doubts_category(self, category: str | None, threshold: float = AGREE_AT) -> bool:
        """True when this reader finds ``category`` less than ``threshold`` likely (never when
        it has no category head or no category is given)."""
        if category is None or not self.categories:
            return False
        return self.categories.get(category, 0.0) < threshold

    @property
    def likeliest_category(self) -> str | None:
        if not self.categories:
            return None
        return max(self.categories, key=self.categories.__getitem__)


class Vocabulary:
    """The words a message is cut into (every lexicon word), leftmost-longest."""

    def __init__(self, lexicon: Lexicon) -> None:
        words: dict[str, tuple[str, ...]] = {}
        for groups in (lexicon.status, lexicon.intents, lexicon.doubts, lexicon.category_words,
                       lexicon.category_weak):
            for members in groups.values():
                for word in members:
                    if len(word) > 1:
                        words[word] = ("w",)
        self._matcher = KeywordMatcher(words)

    def cut(self, text: str) -> list[str]:
        """Words, with every character outside a known word as a word of its own."""
        tokens: list[str] = []
        position = 0
        for match in self._matcher.find(text):
            tokens.extend(ch for ch in text[position:match.start] if ch not in ", ")
            tokens.append(match.word)
            position = match.end
        tokens.extend(ch for ch in text[position:] if ch not in ", ")
        return tokens


def features(text: str, vocabulary: Vocabulary) -> list[str]:
    """The binary features of one reader text (see the module docstring)."""
    padded = f"^{text}$"
    found = {f"c{n}:{padded[i:i + n]}" for n in (1, 2, 3) for i in range(len(padded) - n + 1)}
    words = ["^", *vocabulary.cut(text), "$"]
    found.update(f"w:{word}" for word in words[1:-1])
    found.update(f"b:{a}|{b}" for a, b in zip(words, words[1:]))
    return sorted(found)


class _Heads:
    """The model's multinomial logistic heads side by side: one row per feature holding every
    head's class weights, so that reading a message looks each feature up once. The rows are one
    flat array of 4-byte floats (the JSON's weights have three decimals), found by a feature's row
    number: no Python float objects and no array object per row, which for the model's ~40,000
    rows keeps the bot's memory about 6 MB lower than an array of doubles per row."""

    def __init__(self, heads: dict[str, dict]) -> None:
        self.names = list(heads)
        self.classes: dict[str, list[str]] = {n: list(h["classes"]) for n, h in heads.items()}
        self._slices: dict[str, slice] = {}
        width = 0
        for name in self.names:
            self._slices[name] = slice(width, width + len(self.classes[name]))
            width += len(self.classes[name])
        self._width = width
        self._bias = [b for name in self.names for b in heads[name]["bias"]]
        index: dict[str, int] = {}
        for head in heads.values():
            for feature in head["weights"]:
                index.setdefault(feature, len(index))
        weights = array("f", bytes(4 * width * len(index)))
        for name, head in heads.items():
            cut = self._slices[name]
            for feature, row in head["weights"].items():
                start = index[feature] * width + cut.start
                weights[start:start + len(row)] = array("f", row)
        self._index = index
        self._weights = weights

    def predict(self, feats: Iterable[str]) -> dict[str, dict[str, float]]:
        """Every head's class probabilities."""
        scores = self._bias
        index, weights, width = self._index, self._weights, self._width
        for feat in feats:
            at = index.get(feat)
            if at is not None:
                scores = list(map(add, scores, weights[at * width:(at + 1) * width]))
        found = {}
        for name in self.names:
            part = scores[self._slices[name]]
            top = max(part)
            exps = [math.exp(s - top) for s in part]
            total = sum(exps)
            found[name] = {c: e / total for c, e in zip(self.classes[name], exps)}
        return found


class StatisticalReader:
    """Reads a reader text (names replaced by kind) into a :class:`Guess`."""

    def __init__(self, model: dict, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._heads = _Heads({name: model[name] for name in ("intent", "status", "category") if model.get(name)})
        self._vocabulary = Vocabulary(lexicon)

    @classmethod
    def load(cls, lexicon: Lexicon, path: Path = SHIPPED_MODEL) -> StatisticalReader:
        """The model file (JSON, optionally gzipped) read into a reader."""
        return cls(read_model(path), lexicon)

    @classmethod
    def untrained(cls, lexicon: Lexicon) -> StatisticalReader:
        """A reader with no weights: its features, for training."""
        empty = {"classes": [WRITE], "bias": [0.0], "weights": {}}
        return cls({"kind": "gongjian-reader", "intent": empty, "status": empty}, lexicon)

    def features(self, text: str) -> list[str]:
        """The features of a reader text."""
        return features(text, self._vocabulary)

    def read(self, text: str) -> Guess:
        """The reader's guess for a reader text."""
        heads = self._heads.predict(self.features(text))
        intents, statuses, categories = heads["intent"], heads["status"], heads.get("category")
        intent = max(intents, key=intents.__getitem__)
        status = max(statuses, key=statuses.__getitem__)
        return Guess(intent, intents[intent], status if intent == WRITE else None, statuses[status],
                     intents, statuses, categories)


def read_model(path: Path) -> dict:
    """A model file as a dict (raises OSError or ValueError when it cannot be read)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    model = json.loads(raw.decode("utf-8"))
    if model.get("kind") != "gongjian-reader" or "intent" not in model or "status" not in model:
        raise ValueError(f"{path}: 不是攻坚通的统计模型文件")
    return model


def write_model(model: dict, path: Path) -> None:
    """Write a model file deterministically (sorted keys, gzip without a timestamp)."""
    data = json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


def reader_text(normalised: str, spans: list[tuple[int, int, str]]) -> str:
    """``normalised`` with each name span (start, end, level) replaced by its kind's mark and
    digits as 0, so that the reader learns wording, not the county's names."""
    pieces: list[str] = []
    cursor = 0
    for start, end, level in sorted(spans):
        if start < cursor:
            continue
        pieces.append(normalised[cursor:start])
        pieces.append(PLACEHOLDERS.get(level, "Ⓟ"))
        cursor = end
    pieces.append(normalised[cursor:])
    return "".join("0" if ch.isdigit() else ch for ch in "".join(pieces))
