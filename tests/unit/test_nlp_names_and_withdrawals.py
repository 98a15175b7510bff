"""Round 13 (from the development sets): heads named by part of their name (尔布家 for 马海尔布),
long names said by sound, ethnic townships said without their people (依果 for 依果彝族乡),
a message withdrawn by pointing at it (刚才发的…那条撤回), thanks to someone at the end, and
dialect words of the south-west (巴适, 咋样了). Over a small ledger written for these tests;
today is Tuesday 2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.parser import Parser
from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef
from tests.corpus.evaluate import default_calendar

TODAY = dt.date(2026, 12, 1)
TOWNSHIP, OTHER = "依果彝族乡", "觉洛镇"


@pytest.fixture(scope="module")
def rules() -> Parser:
    villages = (PlaceRef(TOWNSHIP, "觉莫村"), PlaceRef(TOWNSHIP, "阿坡村"), PlaceRef(OTHER, "团结村"))
    households = (HouseholdRef("H1", TOWNSHIP, "觉莫村", "马海尔布"), HouseholdRef("H2", TOWNSHIP, "阿坡村", "阿苦日哈"),
                  HouseholdRef("H3", OTHER, "团结村", "王德华"))
    issues = (IssueRef("I1", TOWNSHIP, "觉莫村", "H1", "就业", "未整改", "交通补贴未发放"),
              IssueRef("I2", TOWNSHIP, "阿坡村", "H2", "档案", "未整改", "户档缺本人签字"),
              IssueRef("I3", TOWNSHIP, "阿坡村", None, "饮水", "未整改", "蓄水池渗漏"))
    snapshot = LedgerSnapshot((TOWNSHIP, OTHER), villages, households, issues)
    return Parser(snapshot, default_calendar(), reader=None)


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


@pytest.mark.parametrize("text", ["觉莫村尔布家交通补贴发下来了", "觉莫村海尔布的交通补贴发下来了"])
def test_part_of_a_heads_name_after_the_village_finds_the_household_and_asks(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.household == "马海尔布" and got.needs_confirmation
    assert any("按名字的一部分" in reason for reason in got.reasons)


def test_a_long_name_said_by_sound_is_found_and_asked(rules: Parser) -> None:
    got = read(rules, "阿库日哈户档签字补上了")  # 库 for 苦; 哈 is also a word of chat
    assert got.household == "阿苦日哈" and got.needs_confirmation


def test_an_ethnic_township_is_also_named_without_its_people(rules: Parser) -> None:
    got = read(rules, "依果阿坡村")
    assert (got.intent, got.township, got.village) == ("query_area", TOWNSHIP, "阿坡村")


def test_pointing_at_a_message_withdraws_it(rules: Parser) -> None:
    assert read(rules, "刚才发的马海尔布那条撤回").intent == "undo"


def test_a_new_report_beside_a_withdrawal_is_asked(rules: Parser) -> None:
    got = read(rules, "马海尔布交通补贴发了，刚才那条撤回")
    assert got.intent == "report" and got.needs_confirmation and "undo_too" in got.flags


@pytest.mark.parametrize("text", ["收到👍 马海尔布交通补贴发了 辛苦各位", "好的，马海尔布交通补贴发了，谢谢人社局"])
def test_a_report_between_thanks_is_an_acknowledgement(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


def test_thanks_at_the_end_alone_keep_the_report(rules: Parser) -> None:
    got = read(rules, "马海尔布交通补贴发了，谢谢人社局")
    assert got.intent == "report" and got.needs_confirmation


@pytest.mark.parametrize("text, intent, status", [
    ("阿坡村蓄水池弄巴适了", "report", "resolved"),
    ("阿坡村问题整改得咋样了", "query_area", None),
])
def test_south_western_words(rules: Parser, text: str, intent: str, status: str | None) -> None:
    got = read(rules, text)
    assert (got.intent, got.status) == (intent, status)


def test_the_yi_new_year_is_no_spring_festival(rules: Parser) -> None:
    got = read(rules, "阿坡村蓄水池彝历年前能补好")
    assert got.status == "in_progress" and got.deadline is None


@pytest.fixture(scope="module")
def two_items() -> Parser:
    """A village with two 基础设施 items (路灯 and 村道) and a household with a 住房 item about the
    whole house."""
    villages = (PlaceRef(OTHER, "南岗村"),)
    households = (HouseholdRef("H9", OTHER, "南岗村", "黄德胜"), HouseholdRef("H8", OTHER, "南岗村", "黄玉梅"))
    issues = (IssueRef("J1", OTHER, "南岗村", None, "基础设施", "未整改", "路灯损坏"),
              IssueRef("J2", OTHER, "南岗村", None, "基础设施", "未整改", "村道坑洼"),
              IssueRef("J3", OTHER, "南岗村", "H9", "住房", "整改中", "危房改造未完工"),
              IssueRef("J4", OTHER, "南岗村", "H8", "住房", "未整改", "房屋漏雨"))
    return Parser(LedgerSnapshot((OTHER,), villages, households, issues), default_calendar(), reader=None)


def test_two_things_of_one_category_where_the_village_has_both_items_are_asked(two_items: Parser) -> None:
    got = read(two_items, "南岗村路灯修好了，村道月底前铺完")
    assert got.needs_confirmation and "things" in got.flags
    assert not read(two_items, "南岗村路灯修好了").needs_confirmation


@pytest.mark.parametrize("text, new", [
    ("黄德胜家房顶还漏", False),   # his item is the whole house (危房改造): the roof is part of it
    ("黄玉梅家后墙裂了", True),    # her item is the roof (漏雨): a wall is another thing
])
def test_an_item_about_the_whole_house_covers_its_parts_only(two_items: Parser, text: str, new: bool) -> None:
    assert (read(two_items, text).intent == "new_issue") == new


def test_a_surname_said_outright_finds_the_households(two_items: Parser) -> None:
    got = read(two_items, "南岗村姓黄那户房顶还漏")
    assert got.needs_confirmation and any("姓黄的有2户" in reason for reason in got.reasons)
