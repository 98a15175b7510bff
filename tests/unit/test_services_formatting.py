"""Phone-friendly text: markers, one-line changes, pages under Telegram's limit."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.workdays import WorkCalendar
from services.formatting import (
    TELEGRAM_LIMIT,
    Marker,
    change_line,
    deadline_mark,
    issue_line,
    paginate,
    split_text,
)
from services.queries import IssueRow

TODAY = dt.date(2026, 12, 1)  # a Tuesday
CALENDAR = WorkCalendar()


def _row(**fields) -> IssueRow:
    base = dict(
        id=1, code="ZG-0003", township="东光镇", village="东台村", household_id=None, household=None,
        category="饮水", description="自来水管道冻裂", status="未整改", deadline=dt.date(2026, 12, 3),
        responsible_unit="水利局", supervised=False,
    )
    return IssueRow(**(base | fields))


def test_overdue_is_red_and_due_within_three_working_days_is_yellow():
    mark = lambda day: deadline_mark(day, TODAY, CALENDAR, 3)  # noqa: E731
    assert mark(dt.date(2026, 11, 30)) == "🔴"
    assert mark(TODAY) == "🟡"
    assert mark(dt.date(2026, 12, 4)) == "🟡"  # Friday: third working day
    assert mark(dt.date(2026, 12, 5)) == ""  # Saturday after it
    assert mark(None) == ""


def test_a_change_is_one_line_saying_exactly_what_changed():
    line = change_line("东光镇东台村", "饮水", [("status", "整改中", "已整改")], dt.date(2026, 12, 15), TODAY)
    assert line == "✅ 东光镇东台村 · 饮水：整改中 → 已整改（期限 12-15）"
    both = change_line("东光镇东台村", "饮水", [("status", "未整改", "整改中"), ("deadline", "2026-12-03", "2027-01-10")],
                       dt.date(2027, 1, 10), TODAY)
    assert both == "✅ 东光镇东台村 · 饮水：未整改 → 整改中（期限 12-03 → 2027-01-10）"
    only_deadline = change_line("东光镇东台村", "饮水", [("deadline", None, "2026-12-20")], None, TODAY)
    assert only_deadline == "✅ 东光镇东台村 · 饮水：期限 未定 → 12-20"


def test_names_with_markup_characters_are_not_escaped():
    marker = Marker(TODAY, CALENDAR)
    line = issue_line(_row(household_id=5, household="<b>李</b>&*_兆满"), marker, show_household=True)
    assert "<b>李</b>&*_兆满" in line


def test_a_village_issue_line_has_marker_code_place_and_deadline():
    marker = Marker(TODAY, CALENDAR)
    assert issue_line(_row(), marker, show_household=False) == (
        "🟡 ZG-0003 东光镇东台村 饮水：自来水管道冻裂 · 未整改 · 期限 12-03"
    )


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.text(min_size=0, max_size=900), min_size=0, max_size=120),
    header=st.text(max_size=300),
    page=st.integers(min_value=-2, max_value=200),
)
def test_every_page_fits_and_every_line_is_on_some_page(lines, header, page):
    shown = paginate(header, lines, page)
    assert len(shown.text) <= TELEGRAM_LIMIT
    assert 0 <= shown.number < shown.count
    pages = [paginate(header, lines, n).text for n in range(shown.count)]
    assert all(len(text) <= TELEGRAM_LIMIT for text in pages)
    short_lines = [line for line in lines if 0 < len(line) < 2000 and "\n" not in line]
    for line in short_lines:
        assert any(line in text for text in pages)


@given(st.text(max_size=20000))
def test_split_text_keeps_every_character_in_pieces_under_the_limit(text):
    chunks = split_text(text)
    assert all(len(chunk) <= 3800 for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
