"""How cadres actually name households and problems (round 8, from the development sets):
a household by its head's surname (双河村老于家), facts joined by spoken connectors with no
punctuation (…修好了啊然后就是…), and a problem said in other words than the ledger's
description (修路 for the item 村道破损). Over the demo county's story part; today is Tuesday
2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.parser import Parser
from tests.corpus.evaluate import default_calendar, snapshot_from_county_yaml

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def rules() -> Parser:
    return Parser(snapshot_from_county_yaml(), default_calendar(), reader=None)


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


@pytest.mark.parametrize("text", ["东台村老刘家黄牛补贴到位了", "东台村刘家黄牛补贴到位了", "东台村的小刘家黄牛补贴到位了"])
def test_a_household_named_by_surname_is_found_and_asked(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert (got.village, got.household) == ("东台村", "刘在龙")
    assert got.needs_confirmation and any("按姓氏" in reason for reason in got.reasons)


def test_a_surname_nobody_in_the_village_has_names_no_household(rules: Parser) -> None:
    got = read(rules, "东台村老郑家黄牛补贴到位了")
    assert got.household is None


def test_everyone_is_no_surname(rules: Parser) -> None:
    """大家: 大 is nobody's surname in the village, so it stays the word it is."""
    got = read(rules, "东台村大家饮水都解决了")
    assert got.household is None and got.village == "东台村"


def test_spoken_connectors_separate_facts(rules: Parser) -> None:
    got = read(rules, "嗯 东台村水管修好了然后就是红日村王秀英家房子也不漏了")
    assert got.needs_confirmation and "several" in got.flags
    assert [(f.village, f.household, f.category) for f in got.facts] == [
        ("东台村", None, "饮水"), ("红日村", "王秀英", "住房")]


@pytest.mark.parametrize("text", ["百草沟镇新兴村正在修路", "百草沟镇新兴村的路还是土道，还没修"])
def test_the_same_thing_in_other_words_is_the_ledgers_item(rules: Parser, text: str) -> None:
    """修路 / 土道 and the item 村道破损 are one thing (道路), though they share no character."""
    got = read(rules, text)
    assert got.intent == "report" and got.issue_code == "ZG-0026"
    assert "new_problem" not in got.flags


def test_another_thing_of_the_same_category_is_asked_as_new(rules: Parser) -> None:
    """修路 against the item 路灯损坏: both 基础设施, different things."""
    got = read(rules, "红日村正在修路")
    assert got.intent == "new_issue" and "new_problem" in got.flags and got.needs_confirmation


@pytest.mark.parametrize("text", [
    "明天去东台村看看饮水",
    "计划下周去核实东台村通水情况",
    "周四到东台村开群众会",
    "这周抽时间去红日村看看路灯",
])
def test_the_speakers_plan_to_go_and_look_is_no_report(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.intent == "unknown" and got.status is None


def test_a_visit_with_what_was_found_is_a_report(rules: Parser) -> None:
    got = read(rules, "我去东台村看了，水管修好了")
    assert got.intent == "report" and got.status == "resolved"


def test_a_problem_that_names_the_thing_says_no_status(rules: Parser) -> None:
    """漏水的管子 names the pipe; 鼓捣妥帖了 (unknown to the rules) is the status, so the rules
    read none and ask, instead of reading 漏水 as 'still leaking'."""
    got = read(rules, "东台村漏水的管子鼓捣妥帖了")
    assert got.status is None and got.needs_confirmation


@pytest.mark.parametrize("text, intent", [("咋个用这个", "help"), ("东台村还是莫得水", "report")])
def test_dialect_words_read_as_the_standard_ones(rules: Parser, text: str, intent: str) -> None:
    got = read(rules, text)
    assert got.intent == intent
    if intent == "report":
        assert got.status == "open"


@pytest.mark.parametrize("text, status", [
    ("东台村水管已经在修了", "in_progress"),           # 在 before the verb: going on, though 已经…了
    ("东台村水管接通了，再不用去井边挑水", "resolved"),  # 再不用: the problem is gone
])
def test_aspect_and_no_longer_words_say_the_status(rules: Parser, text: str, status: str) -> None:
    assert read(rules, text).status == status


@pytest.mark.parametrize("text", [
    "东台村管子还漏着呢还有刘在龙的补贴也没到",   # 还有 before a name: the next fact
    "东台村水管修好了，路灯又坏了",                 # a clause's own problem came back: its own fact
])
def test_a_second_problem_is_a_second_fact(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert "several" in got.flags and got.needs_confirmation and len(got.facts) == 2
