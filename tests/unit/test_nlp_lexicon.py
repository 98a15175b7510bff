"""Vocabularies are data: a county extends them without code, and a bad entry names file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nlp.lexicon import DEFAULT_DIR, KeywordMatcher, LexiconError, load_lexicon
from nlp.parser import Parser
from nlp.snapshot import LedgerSnapshot, PlaceRef
from nlp.workdays import WorkCalendar

TODAY = dt.date(2026, 12, 1)


def test_default_lexicon_has_every_category_and_group() -> None:
    lexicon = load_lexicon()
    assert "黄牛" in lexicon.category_words["产业"]
    assert "自来水" in lexicon.category_words["饮水"]
    assert "修好" in lexicon.status["completion"]
    assert "帮助" in lexicon.intents["help"]


@pytest.mark.parametrize(("name", "content", "line", "says"), [
    ("categories.yaml", "饮水:\n  words: [吃水]\n养鸡:\n  words: [鸡]\n", 3, "未知类别“养鸡”"),
    ("categories.yaml", "饮水:\n  words: [吃水]\n  strong: [水]\n", 3, "只能有 words、weak、topics 和 whole"),
    ("categories.yaml", "产业:\n  words: 黑木耳\n", 2, "应当是词的列表"),
    ("status.yaml", "completion: [修好]\nfinished: [好了]\n", 2, "未知分组“finished”"),
    ("intents.yaml", "help:\n  - 帮助\n  - ''\n", 3, "非空"),
    ("status.yaml", "completion: [修好\nprogress: [正在]\n", 2, "不是有效的 YAML"),
])
def test_bad_entry_names_file_and_line(tmp_path: Path, name: str, content: str, line: int, says: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError) as error:
        load_lexicon(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / name}:{line}:")
    assert says in message


def test_county_words_extend_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "categories.yaml").write_text("产业:\n  words: [松茸, 林蛙]\n", encoding="utf-8")
    lexicon = load_lexicon(tmp_path)
    assert {"松茸", "林蛙", "黄牛"} <= set(lexicon.category_words["产业"])
    assert lexicon.status == load_lexicon().status  # files a county does not give stay default


def test_parser_reads_county_words(tmp_path: Path) -> None:
    snapshot = LedgerSnapshot(("东光镇",), (PlaceRef("东光镇", "东台村"),), (), ())
    calendar = WorkCalendar()
    default = Parser(snapshot, calendar, reader=None)  # the county's words, read by the rules
    before = default.parse("东台村松茸收购还没落实", TODAY)
    # a named village with no category word: asked (the bot offers the categories), never written
    assert (before.intent, before.category, before.needs_confirmation) == ("new_issue", None, True)
    (tmp_path / "categories.yaml").write_text("产业:\n  words: [松茸]\n", encoding="utf-8")
    county = Parser(snapshot, calendar, lexicon_dir=tmp_path, reader=None)
    parse = county.parse("东台村松茸收购还没落实", TODAY)
    assert (parse.intent, parse.category, parse.status) == ("new_issue", "产业", "open")


def test_default_dir_files_exist() -> None:
    assert {p.name for p in DEFAULT_DIR.glob("*.yaml")} == {"categories.yaml", "status.yaml", "intents.yaml", "doubts.yaml",
                                                           "regional.yaml"}


def test_keyword_matcher_takes_leftmost_longest() -> None:
    matcher = KeywordMatcher({"修好": ["completion"], "好了": ["completion"], "快好了": ["progress"],
                              "通": ["completion"], "通知": ["ignore"]})
    found = [(m.word, m.labels) for m in matcher.find("路快好了，通知说水管修好了")]
    assert found == [("快好了", ("progress",)), ("通知", ("ignore",)), ("修好", ("completion",))]
