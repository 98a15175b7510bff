"""Vocabularies as data: categories, status words and intent words from nlp/lexicon/*.yaml.

A county extends them by editing the files (or by passing a directory of its own files,
whose words are added to the defaults). A bad entry is reported with its file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from vocab import CATEGORIES

DEFAULT_DIR = Path(__file__).resolve().parent / "lexicon"
CATEGORY_FILE = "categories.yaml"
STATUS_FILE = "status.yaml"
INTENT_FILE = "intents.yaml"
DOUBT_FILE = "doubts.yaml"
REGIONAL_FILE = "regional.yaml"  # regional words read as standard ones before parsing
TOKENIZER_BASE = DEFAULT_DIR / "jieba_base.txt"  # a one-word dictionary: names are added at start-up
COMMON_WORDS = DEFAULT_DIR / "jieba_common_words.txt"  # jieba's words known >= 100 times (nlp/gazetteer.py)
# spoken connectors that begin a new matter, as a comma would (speech input has no punctuation):
# nlp/clauses.py cuts clauses at them, nlp/gazetteer.py reads a name after them as at a clause's start
SPOKEN_CONNECTORS = ("还有就是", "然后就是", "再就是", "然后", "另外", "此外", "其次", "再者")

STATUS_GROUPS = (
    "completion", "progress", "problem", "negator", "no_longer", "problem_noun", "perfective",
    "promise", "order", "remaining", "relapse", "ignore", "not_copula", "hedge", "step_object",
)
INTENT_GROUPS = (
    "question_word", "question_count", "question_particle", "query_cue", "help", "undo", "overdue", "due",
    "instruction", "chat", "county", "own_place", "generic_place", "household_after",
    "household_before", "ask_group", "evidence", "send_request", "conditional", "correction", "group_address", "close_out", "reopen",
)
DOUBT_GROUPS = (
    "hearsay", "unverified", "near", "denial", "contrast", "double_negation", "quote", "new_problem",
    "ack", "thanks", "filler", "ignore",
)
IGNORE = "ignore"  # in categories.yaml: words that are no category (电话 holds 电)


class LexiconError(ValueError):
    """A lexicon file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    word: str
    labels: tuple[str, ...]


class KeywordMatcher:
    """Leftmost-longest, non-overlapping keyword matches with labels.

    Keywords are bucketed by first character, so a scan costs one dict look-up per
    position plus a ``startswith`` per keyword sharing that first character.
    """

    def __init__(self, words: Mapping[str, Iterable[str]]) -> None:
        buckets: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for word, labels in words.items():
            if word:
                buckets.setdefault(word[0], []).append((word, tuple(labels)))
        for entries in buckets.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        self._buckets = buckets

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Match]:
        """All matches in ``text[start:end]``, left to right, longest first at each position."""
        end = len(text) if end is None else end
        found: list[Match] = []
        buckets = self._buckets
        i = start
        while i < end:
            entries = buckets.get(text[i])
            if entries:
                for word, labels in entries:
                    if text.startswith(word, i) and i + len(word) <= end:
                        found.append(Match(i, i + len(word), word, labels))
                        i += len(word)
                        break
                else:
                    i += 1
            else:
                i += 1
        return found


@dataclass(frozen=True)
class Lexicon:
    """Every vocabulary the parser reads, as plain tuples."""

    category_words: dict[str, tuple[str, ...]]  # category -> words
    category_weak: dict[str, tuple[str, ...]]   # category -> weak words (IGNORE: no category)
    status: dict[str, tuple[str, ...]]          # group -> words
    intents: dict[str, tuple[str, ...]]         # group -> words
    doubts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> words
    sources: tuple[str, ...] = field(default=())
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "category/topic" -> words
    wholes: frozenset[str] = frozenset()  # "category/topic" of topics that are the whole thing (危房改造)
    regional: dict[str, str] = field(default_factory=dict)  # regional word -> the standard word (咗 -> 了)

    def words(self, group: str) -> tuple[str, ...]:
        """Words of a status or intent group."""
        if group in self.status:
            return self.status[group]
        return self.intents[group]


def _with_regional_not(words: list[str], negators: list[str]) -> list[str]:
    """Undo words said with another region's 不 (那条莫算, 唔算数): every one-character negator
    that is not standard Mandarin stands in for 不."""
    regional = [n for n in negators if len(n) == 1 and n not in "没无未不别"]
    return [word.replace("不", n) for word in words if "不" in word for n in regional]


def load_lexicon(extra_dir: Path | None = None) -> Lexicon:
    """The default lexicon, plus the words in ``extra_dir``'s files when given."""
    dirs = [DEFAULT_DIR]
    if extra_dir is not None and Path(extra_dir).resolve() != DEFAULT_DIR:
        dirs.append(Path(extra_dir))
    category_words: dict[str, list[str]] = {name: [] for name in (*CATEGORIES, IGNORE)}
    category_weak: dict[str, list[str]] = {name: [] for name in (*CATEGORIES, IGNORE)}
    status: dict[str, list[str]] = {name: [] for name in STATUS_GROUPS}
    intents: dict[str, list[str]] = {name: [] for name in INTENT_GROUPS}
    doubts: dict[str, list[str]] = {name: [] for name in DOUBT_GROUPS}
    topics: dict[str, list[str]] = {}
    wholes: set[str] = set()
    regional: dict[str, str] = {}
    sources: list[str] = []
    for index, directory in enumerate(dirs):
        required = index == 0
        path = directory / CATEGORY_FILE
        if required or path.exists():
            _read_categories(path, category_words, category_weak, topics, wholes)
            sources.append(str(path))
        for name, groups in ((STATUS_FILE, status), (INTENT_FILE, intents), (DOUBT_FILE, doubts)):
            path = directory / name
            if required or path.exists():
                _read_groups(path, groups)
                sources.append(str(path))
        path = directory / REGIONAL_FILE
        if required or path.exists():
            regional.update(read_regional(path))
            sources.append(str(path))
    intents["undo"] += _with_regional_not(intents["undo"], status["negator"])
    return Lexicon(
        category_words={k: tuple(dict.fromkeys(v)) for k, v in category_words.items()},
        category_weak={k: tuple(dict.fromkeys(v)) for k, v in category_weak.items()},
        status={k: tuple(dict.fromkeys(v)) for k, v in status.items()},
        intents={k: tuple(dict.fromkeys(v)) for k, v in intents.items()},
        doubts={k: tuple(dict.fromkeys(v)) for k, v in doubts.items()},
        sources=tuple(sources),
        topics={k: tuple(dict.fromkeys(v)) for k, v in topics.items()},
        wholes=frozenset(wholes),
        regional=regional,
    )


def _compose(path: Path) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"{path}: 无法读取: {exc.strerror}") from exc
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise LexiconError(f"{path}{where}: 不是有效的 YAML: {getattr(exc, 'problem', exc)}") from exc


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _mapping(path: Path, node: yaml.Node | None, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise LexiconError(f"{_where(path, node)}: {what}应当是“名称: 内容”的映射")
    return node.value


def _word_list(path: Path, node: yaml.Node) -> list[str]:
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise LexiconError(f"{_where(path, node)}: 应当是词的列表，如 [饮水, 吃水]")
    words = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
            raise LexiconError(f"{_where(path, item)}: 词必须是非空的文字")
        word = item.value.strip().lower()
        if any(ch.isspace() for ch in word):
            raise LexiconError(f"{_where(path, item)}: 词“{word}”里不能有空格")
        words.append(word)
    return words


def _read_categories(path: Path, words: dict[str, list[str]], weak: dict[str, list[str]],
                     topics: dict[str, list[str]], wholes: set[str]) -> None:
    for key, value in _mapping(path, _compose(path), "类别文件"):
        category = key.value
        if category not in words:
            known = "、".join(CATEGORIES)
            raise LexiconError(f"{_where(path, key)}: 未知类别“{category}”，只能是: {known}（或 {IGNORE}）")
        for part_key, part_value in _mapping(path, value, f"类别“{category}”"):
            if part_key.value == "words":
                words[category].extend(_word_list(path, part_value))
            elif part_key.value == "weak":
                weak[category].extend(_word_list(path, part_value))
            elif part_key.value == "topics":
                for topic_key, topic_value in _mapping(path, part_value, f"类别“{category}”的 topics"):
                    topics.setdefault(f"{category}/{topic_key.value}", []).extend(_word_list(path, topic_value))
            elif part_key.value == "whole":
                wholes.update(f"{category}/{name}" for name in _word_list(path, part_value))
            else:
                raise LexiconError(
                    f"{_where(path, part_key)}: 类别下只能有 words、weak、topics 和 whole，不能有“{part_key.value}”")


def _read_groups(path: Path, groups: dict[str, list[str]]) -> None:
    for key, value in _mapping(path, _compose(path), "词表文件"):
        if key.value not in groups:
            known = "、".join(groups)
            raise LexiconError(f"{_where(path, key)}: 未知分组“{key.value}”，只能是: {known}")
        groups[key.value].extend(_word_list(path, value))


def read_regional(path: Path = DEFAULT_DIR / REGIONAL_FILE) -> dict[str, str]:
    """``说法: 普通话`` pairs of a regional words file."""
    words = {}
    for key, value in _mapping(path, _compose(path), "各地说法文件"):
        if not isinstance(value, yaml.ScalarNode) or not key.value.strip() or not value.value.strip():
            raise LexiconError(f"{_where(path, key)}: 应当是“说法: 普通话”，如 咗: 了")
        words[key.value.strip()] = value.value.strip()
    return words
