"""Deadline grammar: expressions resolved against fixed todays (dates worked out by hand).

Weeks run Monday to Sunday; 2026-12-01 is a Tuesday (its week: 11-30 .. 12-06). Working
days: 2026 from chinese_calendar (国庆 10-01..10-07 off, Sunday 09-20 and Saturday 10-10
worked; 中秋 09-25..09-27 off), 2027 from config.yaml (01-01 and 02-05..02-13 off, Sunday
02-14 and Saturday 02-20 worked), 2028 from neither (Monday to Friday, with a warning).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from nlp.deadlines import find_deadline, resolve_deadline
from nlp.workdays import WorkCalendar, calendar_from_settings
from settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
D = dt.date
TUE = D(2026, 12, 1)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    """The calendar a county runs with: config.yaml supplies 2027."""
    return calendar_from_settings(load_settings(ROOT / "config.yaml", environ={}))


CASES = [
    # this week / next week (today Tuesday 2026-12-01)
    ("下周五前", TUE, D(2026, 12, 11)),
    ("这周五", TUE, D(2026, 12, 4)),
    ("周五前", TUE, D(2026, 12, 4)),
    ("礼拜五前", TUE, D(2026, 12, 4)),
    ("星期四之前", TUE, D(2026, 12, 3)),
    ("本周内", TUE, D(2026, 12, 6)),
    ("这周", TUE, D(2026, 12, 6)),
    ("周末前", TUE, D(2026, 12, 6)),
    ("下周", TUE, D(2026, 12, 13)),
    ("下周内", TUE, D(2026, 12, 13)),
    ("下周一前", TUE, D(2026, 12, 7)),
    ("下周日", TUE, D(2026, 12, 13)),
    ("下下周三", TUE, D(2026, 12, 16)),
    ("下下周五前", TUE, D(2026, 12, 18)),
    # months
    ("月底前", TUE, D(2026, 12, 31)),
    ("本月底", TUE, D(2026, 12, 31)),
    ("这个月底", TUE, D(2026, 12, 31)),
    ("本月中旬", TUE, D(2026, 12, 20)),
    ("12月中旬", TUE, D(2026, 12, 20)),
    ("12月底", TUE, D(2026, 12, 31)),
    ("下个月", TUE, D(2027, 1, 31)),
    ("下个月底前", TUE, D(2027, 1, 31)),
    ("下月初", TUE, D(2027, 1, 5)),
    ("明年3月底", TUE, D(2027, 3, 31)),
    # counted days, weeks, months
    ("3天内", TUE, D(2026, 12, 4)),
    ("三天内", TUE, D(2026, 12, 4)),
    ("两三天内", TUE, D(2026, 12, 4)),
    ("十天之内", TUE, D(2026, 12, 11)),
    ("5日内", TUE, D(2026, 12, 6)),
    ("一周内", TUE, D(2026, 12, 8)),
    ("近一周", TUE, D(2026, 12, 8)),
    ("两周内", TUE, D(2026, 12, 15)),
    ("半个月内", TUE, D(2026, 12, 16)),
    ("一个月内", TUE, D(2027, 1, 1)),
    ("三个工作日内", TUE, D(2026, 12, 4)),
    ("五个工作日内", TUE, D(2026, 12, 8)),
    # dates
    ("12月15日前", TUE, D(2026, 12, 15)),
    ("十二月十五日前", TUE, D(2026, 12, 15)),
    ("12.20前", TUE, D(2026, 12, 20)),
    ("12/18前", TUE, D(2026, 12, 18)),
    ("1月5号", TUE, D(2027, 1, 5)),
    ("11月20日前", TUE, D(2027, 11, 20)),  # already past this year
    ("2027年3月1日前", TUE, D(2027, 3, 1)),
    ("2026-12-25前", TUE, D(2026, 12, 25)),
    ("20号前", TUE, D(2026, 12, 20)),
    # relative days
    ("明天", TUE, D(2026, 12, 2)),
    ("后天", TUE, D(2026, 12, 3)),
    ("明后天", TUE, D(2026, 12, 3)),
    ("今天之内", TUE, D(2026, 12, 1)),
    # year, holidays
    ("年底", TUE, D(2026, 12, 31)),
    ("年底前", TUE, D(2026, 12, 31)),
    ("今年内", TUE, D(2026, 12, 31)),
    ("元旦前", TUE, D(2026, 12, 31)),
    ("春节前", TUE, D(2027, 2, 5)),
    ("过年前", TUE, D(2027, 2, 5)),
    ("国庆节前", TUE, D(2027, 9, 30)),
    ("五一前", TUE, D(2027, 4, 30)),
    ("中秋前", TUE, D(2027, 9, 14)),
    ("端午节前", TUE, D(2027, 6, 8)),
    ("本季度内", TUE, D(2026, 12, 31)),
    # inside sentences
    ("新村村卫生室药还没配齐，下周五前完成", TUE, D(2026, 12, 11)),
    ("县里要求本月底前整改到位", TUE, D(2026, 12, 31)),
    ("东台村水管１２月１５日前换完", TUE, D(2026, 12, 15)),
    # week edges: Sunday and Friday
    ("本周内", D(2026, 12, 6), D(2026, 12, 6)),
    ("周五前", D(2026, 12, 6), D(2026, 12, 11)),
    ("周五前", D(2026, 12, 4), D(2026, 12, 4)),
    ("下周一前", D(2026, 12, 6), D(2026, 12, 7)),
    # month and year edges
    ("下月初", D(2026, 1, 31), D(2026, 2, 5)),
    ("一个月内", D(2026, 1, 31), D(2026, 2, 28)),
    ("元旦前", D(2026, 12, 31), D(2026, 12, 31)),
    ("下个月底", D(2026, 12, 31), D(2027, 1, 31)),
    ("春节前", D(2027, 3, 1), D(2028, 1, 25)),
    ("春节前", D(2029, 12, 1), D(2030, 2, 2)),
    # around 国庆 2026: 10-01..10-07 off, Saturday 10-10 worked
    ("三个工作日内", D(2026, 9, 28), D(2026, 10, 8)),
    ("两个工作日内", D(2026, 9, 29), D(2026, 10, 8)),
    ("一个工作日内", D(2026, 9, 30), D(2026, 10, 8)),
    ("两个工作日内", D(2026, 10, 9), D(2026, 10, 12)),
    ("国庆前", D(2026, 9, 30), D(2026, 9, 30)),
    ("三天内", D(2026, 10, 1), D(2026, 10, 4)),
    ("下周一前", D(2026, 10, 5), D(2026, 10, 12)),
    # 中秋 2026 (09-25..09-27 off) and the make-up Sunday 09-20
    ("两个工作日内", D(2026, 9, 24), D(2026, 9, 29)),
    ("一个工作日内", D(2026, 9, 18), D(2026, 9, 20)),
    # 2027 from config.yaml
    ("五个工作日内", D(2026, 12, 28), D(2027, 1, 5)),
    ("五个工作日内", D(2027, 2, 1), D(2027, 2, 15)),
    ("三个工作日内", D(2027, 2, 3), D(2027, 2, 15)),
    ("一个工作日内", D(2027, 2, 19), D(2027, 2, 20)),
]


@pytest.mark.parametrize(("text", "today", "expected"), CASES, ids=[f"{t}@{d}" for t, d, _ in CASES])
def test_deadline_expressions(calendar: WorkCalendar, text: str, today: dt.date, expected: dt.date) -> None:
    assert resolve_deadline(text, today, calendar) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("text", [
    "东台村饮水问题已解决", "尽快", "马上修", "三合村", "五七村饮水", "停水3天了", "两年前的事", "有2户",
    "3.5万元", "王二小家",
])
def test_no_deadline(calendar: WorkCalendar, text: str) -> None:
    assert resolve_deadline(text, TUE, calendar) is None


def test_bare_day_is_not_a_bounded_deadline(calendar: WorkCalendar) -> None:
    said = find_deadline("施工队明天进场", TUE, calendar)
    assert said is not None and said.date == D(2026, 12, 2) and not said.bounded
    assert find_deadline("明天之前修好", TUE, calendar).bounded


def test_bounded_deadline_wins_over_a_day_mentioned_first(calendar: WorkCalendar) -> None:
    said = find_deadline("今天去看了，月底前完工", TUE, calendar)
    assert said.date == D(2026, 12, 31) and said.text == "月底前"


def test_year_without_holiday_data_falls_back_to_monday_to_friday(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar()  # nothing configured; chinese_calendar knows no 2028
    with caplog.at_level(logging.WARNING, logger="nlp.workdays"):
        assert resolve_deadline("一个工作日内", D(2028, 1, 28), calendar) == D(2028, 1, 31)
    assert "2028" in caplog.text
