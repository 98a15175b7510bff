"""Reading the ledger: counts and lists limited to a scope, in SQL, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from db.models import Household, Township, Village
from services.errors import Forbidden, InvalidInput
from services.queries import (
    Area,
    area_issues,
    area_named,
    area_summary,
    due_issues,
    household_view,
    overdue_by_unit,
    overdue_issues,
)
from services.scope import Scope, resolve_scope_name
from tests.support.engine_chat import TODAY

DONGTAI = Scope.from_names(["东光镇/东台村"])
WATER = Scope.from_names(["饮水"])


def test_an_area_summary_counts_by_status_and_category(demo_database):
    with demo_database.transaction() as s:
        summary = area_summary(s, DONGTAI, Area("东光镇", "东台村"), TODAY)
    assert summary.total == 2 and summary.by_status == {"未整改": 2}
    assert [(c.category, c.count, c.nearest_deadline) for c in summary.by_category] == [
        ("产业", 1, dt.date(2026, 12, 21)), ("饮水", 1, dt.date(2026, 12, 3)),
    ]
    assert summary.overdue == 0


def test_a_township_seen_by_a_village_cadre_holds_only_their_village(demo_database):
    with demo_database.transaction() as s:
        rows = area_issues(s, DONGTAI, Area("东光镇"))
        whole = area_issues(s, Scope.county(), Area("东光镇"))
    assert {r.code for r in rows} == {"ZG-0003", "ZG-0004"}
    assert len(whole) > len(rows)


def test_an_area_outside_the_scope_is_refused(demo_database):
    with demo_database.transaction() as s, pytest.raises(Forbidden, match="不在您的查看范围"):
        area_summary(s, DONGTAI, Area("汪清镇", "天平村"), TODAY)


def test_a_department_sees_its_category_everywhere(demo_database):
    with demo_database.transaction() as s:
        rows = area_issues(s, WATER, Area())
    assert rows and {r.category for r in rows} == {"饮水"}
    assert {"ZG-0003", "ZG-0019", "ZG-0029"} <= {r.code for r in rows}


def test_due_and_overdue_take_unresolved_issues_only(demo_database):
    with demo_database.transaction() as s:
        due = due_issues(s, Scope.county(), Area(), TODAY, TODAY + dt.timedelta(days=3))
        overdue = overdue_issues(s, Scope.county(), Area(), TODAY)
        units = overdue_by_unit(s, Scope.county(), Area(), TODAY)
    assert all(TODAY <= r.deadline <= TODAY + dt.timedelta(days=3) for r in due)
    assert all(r.status in ("未整改", "整改中") for r in due + overdue)
    assert all(r.deadline < TODAY for r in overdue)
    assert "ZG-0022" not in {r.code for r in overdue}  # 已整改, though past its deadline
    assert sum(u.count for u in units) == len(overdue)
    building = next(u for u in units if u.unit == "住建局")
    assert building.most_days >= 10  # ZG-0014 is 10 days overdue


def test_counts_are_aggregated_in_sql_not_by_loading_rows(demo_database):
    statements: list[str] = []
    with demo_database.transaction() as s:
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(demo_database.engine, "before_cursor_execute", listener)
        try:
            area_summary(s, Scope.county(), Area(), TODAY)
        finally:
            event.remove(demo_database.engine, "before_cursor_execute", listener)
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3
    assert all("count(" in sql.lower() for sql in selects)


def test_a_household_view_has_its_record_and_open_issues(demo_database):
    with demo_database.transaction() as s:
        household_id = s.scalar(select(Household.id).where(Household.code == "222424-0001"))
        view = household_view(s, household_id)
    assert (view.head_name, view.size, view.status, view.poverty_cause, view.helper) == (
        "李兆满", 4, "未脱贫", "因病", "王建国")
    assert [row.code for row in view.issues] == ["ZG-0002", "ZG-0001"]


def test_a_place_name_means_one_area_or_none(demo_database):
    with demo_database.transaction() as s:
        s.add(Village(township_id=s.scalar(select(Township.id).where(Township.name == "汪清镇")), name="东台村"))
        s.flush()
        assert area_named(s, "东光镇") == Area("东光镇")
        assert area_named(s, " 东光镇／东台村 ") == Area("东光镇", "东台村")
        assert area_named(s, "天平村") == Area("汪清镇", "天平村")
        assert area_named(s, "东台村") is None  # two townships have one
        assert area_named(s, "西台村") is None
        with pytest.raises(InvalidInput, match="东光镇/东台村、汪清镇/东台村"):
            resolve_scope_name(s, "东台村")
        assert resolve_scope_name(s, "天平村") == "汪清镇/天平村"
        assert resolve_scope_name(s, "东光镇") == "东光镇"
