"""History rows as every writer builds them (services/issue_events.py), without a database."""

from __future__ import annotations

import datetime as dt

from services.issue_events import EVENT_COLUMNS, event_rows

AT = dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)


def test_one_row_per_field_sharing_the_change_and_the_author():
    rows = event_rows(7, [("status", "未整改", "已整改"), ("deadline", None, "2026-12-31")], AT,
                      change_id="c1", actor="东台村工作队", source="telegram", user_id=3,
                      message_text="东台村饮水问题已解决", chat_id=-100, message_id=9)
    assert [(r["field"], r["old_value"], r["new_value"]) for r in rows] == [
        ("status", "未整改", "已整改"), ("deadline", None, "2026-12-31"),
    ]
    assert {(r["issue_id"], r["change_id"], r["actor"], r["user_id"], r["chat_id"], r["at"]) for r in rows} == {
        (7, "c1", "东台村工作队", 3, -100, AT),
    }


def test_every_row_has_every_column_issue_id_first():
    [row] = event_rows(1, [("created", None, "未整改")], AT, change_id="c", actor="import", source="import")
    assert tuple(row) == EVENT_COLUMNS and EVENT_COLUMNS[0] == "issue_id"
    assert (row["user_id"], row["message_text"], row["undoes"]) == (None, None, None)
