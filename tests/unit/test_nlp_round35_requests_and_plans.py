"""Round 35 (from h49 碧江县, a development set now): a withdrawal that names the message by its
place or thing (撤回□饮水那条) withdraws it, and the speaker's own next step after it (我再核实一下)
says nothing of the problem; another region's 不 in an undo word (那条莫算); a sending verb with
给我 ending the clause asks for a paper (验收单拍1张给我), unless it asks for a list; 克 (去) and
瞧 / 查 in a visit plan; "tell me when it is done" (修好了喊我一声) is no report; 哪样 is 什么.
Over a small ledger written for these tests; today is Tuesday 2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.parser import Parser
from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef
from tests.corpus.evaluate import default_calendar

TODAY = dt.date(2026, 12, 1)
GORGE = "石门乡"


@pytest.fixture(scope="module")
def rules() -> Parser:
    villages = (PlaceRef(GORGE, "江边村"), PlaceRef(GORGE, "岩脚村"))
    households = (HouseholdRef("H1", GORGE, "江边村", "余阿花"),)
    issues = (IssueRef("I1", GORGE, "江边村", None, "饮水", "未整改", "蓄水池渗漏"),
              IssueRef("I2", GORGE, "岩脚村", None, "基础设施", "未整改", "路灯不亮"),
              IssueRef("I3", GORGE, "江边村", "H1", "住房", "整改中", "危房改造未完工"),
              IssueRef("I4", GORGE, "岩脚村", None, "集体经济", "未整改", "光伏收益未分配"))
    snapshot = LedgerSnapshot((GORGE,), villages, households, issues)
    return Parser(snapshot, default_calendar(), reader=None)


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


@pytest.mark.parametrize("text", ["撤回江边村饮水那条", "江边村蓄水池那条撤回", "撤回江边村那条 我再核实一下"])
def test_a_withdrawal_naming_the_message_by_its_place_or_thing_is_an_undo(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "undo"


def test_a_new_report_beside_a_withdrawal_is_still_asked(rules: Parser) -> None:
    got = read(rules, "余阿花家房子修好了，刚才那条撤回")
    assert got.intent == "report" and got.needs_confirmation


@pytest.mark.parametrize("text", ["刚才那条莫算", "上一条唔算"])
def test_another_regions_not_in_an_undo_word(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "undo"


@pytest.mark.parametrize("text", ["岩脚村光伏收益分配的表发1份给我", "余阿花家的验收单拍一张给我",
                                  "江边村蓄水池的照片整几张给我"])
def test_a_paper_asked_for_is_no_report(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


def test_a_list_asked_for_is_still_a_query(rules: Parser) -> None:
    assert read(rules, "逾期的有几条 发给我看下").intent == "query_overdue"


@pytest.mark.parametrize("text", ["明天克江边村瞧一下蓄水池", "我后天到岩脚村查路灯"])
def test_a_visit_plan_with_ke_or_to_look_is_no_report(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


def test_a_visit_that_already_found_something_is_read(rules: Parser) -> None:
    got = read(rules, "昨天到岩脚村查了，路灯已经修好了")
    assert (got.intent, got.village, got.status) == ("report", "岩脚村", "resolved")


@pytest.mark.parametrize("text", ["等岩脚村路灯修好了喊我一声", "岩脚村路灯修好了告诉我一声"])
def test_tell_me_when_it_is_done_is_no_report(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


def test_nayang_is_what(rules: Parser) -> None:
    got = read(rules, "江边村还有哪样问题")
    assert (got.intent, got.village) == ("query_area", "江边村")
