"""Round 12, second part (from the development sets): a day and a bare one-character verb may be
only a plan; another problem said without a status is not swallowed by the fact beside it;
[转发] and 「转」 mark quoted text; 饮水 and 住房 items are different things (a pump is not the
frozen pipes). Messages written for these tests over the demo county's story part; today is
Tuesday 2026-12-01."""

from __future__ import annotations

import pytest

from nlp.parser import Parser
from tests.support.story_reading import read


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.parametrize("text", ["东台村水管明天修", "东台村水管下周换"])
def test_a_day_and_a_bare_verb_may_be_only_a_plan(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "in_progress" and got.needs_confirmation and "plan" in got.flags


@pytest.mark.parametrize("text", ["东台村水管明天能修好", "东台村水管月底前修", "东台村水管下周修完"])
def test_a_promise_a_limit_or_a_result_is_more_than_a_plan(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "in_progress" and "plan" not in got.flags


def test_another_problem_without_a_status_is_not_swallowed(rules: Parser) -> None:
    got = read(rules, "东台村饮水问题解决了，刘在龙的黄牛补贴还拖着")
    assert got.needs_confirmation
    assert "unread" in got.flags or "several" in got.flags


@pytest.mark.parametrize("text", [
    "[转发] 东台村饮水问题已解决", "「转」东台村饮水问题已解决", "老王转过来的：东台村饮水问题已解决",
])
def test_quote_markers_are_read(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "resolved" and got.needs_confirmation and "quote" in got.flags


def test_a_sticker_is_still_dropped(rules: Parser) -> None:
    got = read(rules, "东台村饮水问题已解决[强]")
    assert got.status == "resolved" and "quote" not in got.flags


@pytest.mark.parametrize("text, new", [
    ("东台村水泵坏了", True),         # the item is 自来水管道冻裂: a pump is another thing
    ("东台村水管又冻了", False),       # the pipes: that item
    ("李兆满家房顶还是漏", False),     # 危房改造 is the whole house, roof included
])
def test_a_water_or_house_problem_fits_the_item_only_when_it_is_the_same_thing(
        rules: Parser, text: str, new: bool) -> None:
    got = read(rules, text)
    assert (got.intent == "new_issue") == new
    if new:
        assert got.needs_confirmation
