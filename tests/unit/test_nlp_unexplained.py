"""What the rules cannot explain is asked, and the reading offered first is the likeliest one
(docs/parser-contract.md, "Explain or ask" and "Two readers"). Messages written for these tests,
over the demo county; today is Tuesday 2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.parser import Parser

TODAY = dt.date(2026, 12, 1)
DONE, DOING, OPEN = "resolved", "in_progress", "open"


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.fixture(scope="module")
def pair(story_pair: Parser) -> Parser:
    return story_pair  # with the shipped second reader


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


@pytest.mark.parametrize("text, status, flag", [
    ("东台村水管材料拉过来了，月底前能装好", DOING, "step"),      # a step done, the work goes on
    ("东台村饮水哪好了，还是没水", OPEN, "denial"),                 # 哪好了: a rhetorical denial
    ("👍 东台村饮水问题解决了", DONE, "thanks"),                    # most likely an answer to a report
    ("东台村饮水镇里说还没通", OPEN, "hearsay"),                    # relayed, whatever the status
    ("东台村饮水解决了，可李兆满家房子还漏", DONE, "several"),      # 可: a turn to another fact
    ("东台村水管不渗了，水压一天没降", DONE, "conflict"),           # done, and a plain 没 of something unknown
])
def test_what_cannot_be_explained_is_asked(rules: Parser, text: str, status: str, flag: str) -> None:
    got = read(rules, text)
    assert got.intent == "report" and got.village == "东台村"
    assert got.status == status
    assert got.needs_confirmation and flag in got.flags and got.reasons


def test_a_question_beside_a_report_is_asked_about(rules: Parser) -> None:
    got = read(rules, "李兆满家房子修好了吗？另外东台村饮水已经解决了")
    assert got.needs_confirmation and "question" in got.flags
    assert "unread" not in got.flags  # the question is not a fact the parser failed to read


@pytest.mark.parametrize("text, status, deadline", [
    ("东台村水管开始换了", DOING, None),              # 开始V, whatever the verb
    ("东台村水管已经派人去修了", DOING, None),        # 派人去V: the verb after 去 is the purpose
    ("东台村水管下周五前换好", DOING, dt.date(2026, 12, 11)),  # a bare complement after a date
])
def test_constructions_read_whatever_the_verb(rules: Parser, text: str, status: str, deadline) -> None:
    got = read(rules, text)
    assert (got.intent, got.category, got.status, got.deadline) == ("report", "饮水", status, deadline)
    assert not got.needs_confirmation


def test_a_fix_then_a_relapse_needs_no_question(rules: Parser) -> None:
    got = read(rules, "东台村水管修好了，但是又冻了")
    assert got.status == OPEN and not got.needs_confirmation


def test_a_plan_after_waiting_is_no_report(rules: Parser) -> None:
    assert read(rules, "等东台村水管修好了我再去看看").intent == "unknown"


def test_no_readable_status_offers_the_second_readers_guess(rules: Parser, pair: Parser) -> None:
    alone = read(rules, "李兆满家房子那个事")
    assert alone.status is None and alone.needs_confirmation
    both = read(pair, "李兆满家房子那个事")
    # only the matter is named: no status is read into it, the reader's guess is offered first
    assert both.status is None and both.offered_status is not None
    assert "reader_status" in both.flags and both.needs_confirmation


def test_the_second_reader_stops_a_confident_misreading(rules: Parser, pair: Parser) -> None:
    text = "东台村水管子哗哗的了，晚上不用挑水了"  # water flows again: the rules read "open"
    assert not read(rules, text).needs_confirmation
    assert read(pair, text).needs_confirmation


def test_a_report_the_rules_cannot_read_is_asked_not_dropped(rules: Parser, pair: Parser) -> None:
    text = "李兆满家房子这回住着可得劲了，晚上睡觉不冷了"  # no status word the rules know
    assert read(rules, text).intent == "unknown"
    got = read(pair, text)
    assert (got.intent, got.household, got.category) == ("report", "李兆满", "住房")
    assert got.needs_confirmation and "reader_intent" in got.flags


@pytest.mark.parametrize("text, status, deadline", [
    ("东台村水管材料拉到了，还没装", DOING, None),     # a step done, another verb not yet
    ("东台村通水了，还有两户没通", OPEN, None),        # the same verb not yet for some: it stands
    ("刘在龙家黄牛补贴今天到账", DONE, None),          # today with a completion: when, not a deadline
    ("刘在龙家黄牛补贴今天之内必须到账", OPEN, TODAY),  # today as a limit, in an order
])
def test_steps_and_today(rules: Parser, text: str, status: str, deadline) -> None:
    got = read(rules, text)
    assert (got.status, got.deadline) == (status, deadline)


def test_a_head_right_after_a_village_is_found_by_sound(rules: Parser) -> None:
    got = read(rules, "天平村李照满家危房改造完工了")  # 李照满: a homophone of 李兆满
    assert got.household == "李兆满" and got.needs_confirmation


def test_a_plain_negation_alone_still_says_not_done(rules: Parser) -> None:
    """没降 alone is the problem standing; only beside a completion is it a conflict."""
    got = read(rules, "东台村水塔水位一天没降")
    assert "conflict" not in got.flags


@pytest.mark.parametrize("text, rules_category", [
    ("河北村集体的果园租给老板了钱还没给", "产业"),  # 果园 says 产业, 集体…租给老板 says 集体经济
])
def test_a_category_the_second_reader_doubts_is_asked_with_both_offered(
        pair: Parser, text: str, rules_category: str) -> None:
    got = read(pair, text)
    assert got.intent == "new_issue" and got.needs_confirmation and "category" in got.flags
    assert got.category_choices[0] == rules_category and len(got.category_choices) >= 2
    assert any("问题类别不确定" in reason for reason in got.reasons)


def test_a_named_category_is_not_doubted(pair: Parser) -> None:
    """教育问题 names its category: whatever the second reader thinks, it is not asked about."""
    got = read(pair, "东台村教育问题已解决")
    assert "category" not in got.flags and got.category == "教育"
