"""Finding the ledger's names: longest match, stems, same names, homophones, common words."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from nlp.gazetteer import Gazetteer, Place, ScopeFilter, common_words, jieba_common_words
from nlp.lexicon import load_lexicon
from nlp.parser import Parser
from nlp.pinyin_index import PinyinIndex, loosen
from nlp.snapshot import HouseholdRef, PlaceRef
from nlp.workdays import WorkCalendar
from tests.corpus.evaluate import snapshot_from_county_yaml

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def snapshot():
    """The story county plus a homophone village elsewhere and heads that are common words."""
    story = snapshot_from_county_yaml()
    return dataclasses.replace(
        story,
        villages=story.villages + (PlaceRef("鸡冠乡", "东泰村"),),
        households=story.households + (
            HouseholdRef("222424-9001", "鸡冠乡", "东泰村", "高明"),
            HouseholdRef("222424-9002", "鸡冠乡", "东泰村", "王二小"),
            HouseholdRef("222424-9003", "鸡冠乡", "东泰村", "李明"),
        ),
    )


@pytest.fixture(scope="module")
def gazetteer(snapshot) -> Gazetteer:
    return Gazetteer(snapshot, load_lexicon())


@pytest.fixture(scope="module")
def parser(snapshot) -> Parser:
    return Parser(snapshot, WorkCalendar(), reader=None)


def names(gazetteer: Gazetteer, text: str) -> list[tuple[str, str, set[str | None]]]:
    return [(m.surface, m.how, {p.village for p in m.options}) for m in gazetteer.find_exact(text)]


@pytest.mark.parametrize(("text", "surface", "villages"), [
    ("东光新村墙体开裂", "东光新村", {"东光新村"}),
    ("东光村桥护栏", "东光村", {"东光村"}),
    ("小汪清村周长顺家", "小汪清村", {"小汪清村"}),
    ("新村村卫生室", "新村村", {"新村村"}),
    ("大鸡冠村", "大鸡冠村", {"大鸡冠村"}),
])
def test_longest_most_specific_name_wins(gazetteer: Gazetteer, text: str, surface: str, villages: set) -> None:
    assert names(gazetteer, text)[0] == (surface, "exact", villages)


def test_township_and_village_are_different_names(gazetteer: Gazetteer) -> None:
    assert names(gazetteer, "东光镇东光村") == [("东光镇", "exact", {None}), ("东光村", "exact", {"东光村"})]


def test_bare_stem_keeps_township_and_village_readings(gazetteer: Gazetteer) -> None:
    [mention] = gazetteer.find_exact("汪清那边")
    assert mention.how == "stem"
    assert set(mention.options) == {Place("汪清镇"), Place("汪清镇", "汪清村")}


def test_unique_village_stem_is_that_village(gazetteer: Gazetteer) -> None:
    [mention] = gazetteer.find_exact("东台水管已换新")
    assert mention.options == (Place("东光镇", "东台村"),)


def test_county_name_is_not_the_township(gazetteer: Gazetteer) -> None:
    assert gazetteer.find_exact("汪清县还有多少问题") == []


def test_same_name_village_has_both_townships(gazetteer: Gazetteer) -> None:
    [mention] = gazetteer.find_exact("新兴村自来水")
    assert {p.township for p in mention.options} == {"汪清镇", "百草沟镇"}


def test_common_word_head_needs_household_context(gazetteer: Gazetteer) -> None:
    assert gazetteer.find_exact("提高明年收入") == []
    assert [m.surface for m in gazetteer.find_exact("高明家房子漏雨")] == ["高明"]


def test_the_shipped_common_words_are_those_of_the_installed_jieba() -> None:
    # 高明 above is weak only because the list says jieba knows it well; a list out of step with
    # jieba would quietly accept or refuse names. Write it again with write_common_words().
    shipped = common_words()
    assert {"高明", "平安", "红旗", "光明"} <= shipped and "李兆满" not in shipped
    assert shipped == set(jieba_common_words())


def test_two_character_head_only_where_a_name_can_stand(gazetteer: Gazetteer) -> None:
    assert [m.surface for m in gazetteer.find_exact("李明家低保")] == ["李明"]
    assert gazetteer.find_exact("讲清楚李明白了") == []


def test_household_code_and_issue_code(gazetteer: Gazetteer) -> None:
    [household] = gazetteer.find_exact("222424-0001危房")
    assert household.options[0].household == "李兆满"
    [issue] = gazetteer.find_exact("zg-0003已整改")
    assert issue.issue_code == "ZG-0003" and issue.options[0].village == "东台村"


def test_homophone_village_scope_first(parser: Parser) -> None:
    county = parser.parse("东抬村水管修好了", TODAY)
    assert county.needs_confirmation and county.village is None
    assert {c.village for c in county.candidates} == {"东台村", "东泰村"}
    mine = parser.parse("东抬村水管修好了", TODAY, ["东光镇"])
    assert (mine.township, mine.village, mine.needs_confirmation) == ("东光镇", "东台村", True)
    assert "按读音匹配" in mine.reasons[0]


def test_homophone_head_is_confirmed(parser: Parser) -> None:
    parse = parser.parse("李照满家房子完工了", TODAY)
    assert (parse.household, parse.village, parse.needs_confirmation) == ("李兆满", "天平村", True)
    assert parse.reasons[0] == "“李照满”按读音匹配为“李兆满”"


def test_near_miss_is_offered_but_fills_nothing(parser: Parser) -> None:
    parse = parser.parse("永兴村光伏收益分了", TODAY)
    assert parse.village is None and parse.needs_confirmation
    assert "新兴村" in {c.village for c in parse.candidates}


def test_unknown_village_fills_nothing(parser: Parser) -> None:
    parse = parser.parse("春阳镇胜利村有两户吃不上水", TODAY)
    got = (parse.intent, parse.township, parse.village, parse.needs_confirmation)
    assert got == ("new_issue", None, None, True)


def test_generic_village_words_are_no_village(parser: Parser) -> None:
    parse = parser.parse("东台村全村都通水了", TODAY)
    assert (parse.village, parse.needs_confirmation) == ("东台村", False)


def test_scope_filter_parses_canonical_names() -> None:
    scope = ScopeFilter.from_names(["东光镇", "汪清镇/新兴村", "饮水", "全县", ""])
    assert scope.townships == {"东光镇"} and scope.villages == {("汪清镇", "新兴村")}
    assert scope.categories == {"饮水"}
    assert scope.covers(Place("汪清镇", "新兴村")) and not scope.covers(Place("百草沟镇", "新兴村"))


def test_pinyin_index_exact_then_loose() -> None:
    index = PinyinIndex()
    index.add("李兆满", "a")
    index.add("曾国", "b")  # 曾 read ceng by default, zeng as a surname: both indexed
    assert index.lookup("李照满") == (["a"], False)
    assert index.lookup("尼兆满") == (["a"], True)  # n/l folded
    assert index.lookup("增国")[0] == ["b"]
    assert loosen("zhang") == "zan" and loosen("lin") == "nin"
