"""Any text at all parses without an exception, into the contract's shape."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.parser import Parser

INTENTS = {"report", "new_issue", "query_household", "query_area", "query_due", "query_overdue", "undo",
           "help", "unknown"}
STATUSES = {None, "resolved", "in_progress", "open"}
# Pieces of real messages, so that random text also reaches the deeper rules.
PIECES = ["东台村", "东抬村", "李兆满", "李照满家", "新兴村", "汪清", "饮水", "危房", "修好了", "还没", "不是",
          "吗", "？", "下周五前", "月底前", "三个工作日内", "发错了", "撤回", "，", "。", "✅", "😀", "一是",
          "二是", "要求", "正在", "又漏了", "幸福村", "十二月十五日", "12.20", "ZG-0003", "222424-0001"]


@pytest.fixture(scope="module")
def parser(story_pair: Parser) -> Parser:
    return story_pair


def _check(parser: Parser, text: str, today: dt.date, scope: list[str]) -> None:
    got = parser.parse(text, today, scope).to_contract()
    assert got["intent"] in INTENTS
    assert got["status"] in STATUSES
    assert 0.0 <= got["confidence"] <= 1.0
    if got["intent"] not in ("report", "new_issue"):
        assert got["status"] is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=10_000), today=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
def test_any_unicode_text_parses(parser: Parser, text: str, today: dt.date) -> None:
    _check(parser, text, today, [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=60),
    scope=st.lists(st.sampled_from(["东光镇", "东光镇/东台村", "汪清镇", "饮水", "", "不存在镇/某村"]), max_size=3),
)
def test_message_like_text_parses(parser: Parser, pieces: list[str], scope: list[str]) -> None:
    _check(parser, "".join(pieces), dt.date(2026, 12, 1), scope)


@pytest.mark.parametrize("text", [
    "村" * 10_000, "东台村" * 3_000, "没" * 10_000, "？" * 10_000, "1" * 10_000, "\U0001f600" * 5_000,
    "还没修好吗" * 2_000, "十" * 10_000, "12.20前" * 1_400,
])
def test_long_repetitive_text_parses(parser: Parser, text: str) -> None:
    _check(parser, text, dt.date(2026, 12, 1), [])
