"""The village-level open issues preloaded for a batch (services/issue_preload.py) give the
very issues the SELECT of open_issues_for gives, and stop answering once the session may
have changed which issues they are."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from db.models import Issue, Township, Village
from services.issue_preload import preload_village_issues, preloaded_village_issues
from services.issues import Target, VillageDirectory, issue_by_code, open_issues_for
from vocab import CATEGORIES, IssueStatus


def codes(issues) -> list[str]:
    return [issue.code for issue in issues]


def village(session, name: str):
    [target] = VillageDirectory.load(session).targets(None, name)
    return target


def every_village(session) -> list[Target]:
    rows = session.execute(select(Village.id, Township.name, Village.name).join(Township))
    return [Target(village_id, township, name) for village_id, township, name in rows]


def test_preloaded_issues_are_what_the_select_finds_in_every_village_and_category(demo_database):
    kinds = (None, *CATEGORIES)
    with demo_database.transaction() as session:
        places = every_village(session)
        wanted = {(t.village_id, c): codes(open_issues_for(session, t, c)) for t in places for c in kinds}
    with demo_database.transaction() as session:
        preload_village_issues(session, [(t.township, t.village) for t in places])
        answered = [key for key in wanted if preloaded_village_issues(session, *key) is not None]
        found = {(t.village_id, c): codes(open_issues_for(session, t, c)) for t in places for c in kinds}
    assert found == wanted
    assert answered  # the demo county has village-level issues: some answers came from the preload


def test_a_new_issue_of_the_village_is_found_after_the_preload(demo_database):
    with demo_database.transaction() as session:
        target = village(session, "东台村")
        preload_village_issues(session, [(target.township, target.village)])
        before = codes(open_issues_for(session, target, "饮水"))
        session.add(Issue(
            code="ZG-9001", village_id=target.village_id, household_id=None, category="饮水",
            description="新发现的饮水问题", status=IssueStatus.OPEN.value,
            deadline=dt.date(2027, 1, 1), responsible_unit="水利局", supervised=False,
        ))
        session.flush()
        assert codes(open_issues_for(session, target, "饮水")) == sorted([*before, "ZG-9001"])


def test_an_issue_closed_by_a_statement_is_not_found_after_the_preload(demo_database):
    with demo_database.transaction() as session:
        target = village(session, "东台村")
        preload_village_issues(session, [(target.township, target.village)])
        [issue] = open_issues_for(session, target, "饮水")
        table = Issue.__table__  # Core: the loaded issue is not told
        session.execute(update(table).where(table.c.id == issue.id).values(status=IssueStatus.CLOSED.value))
        assert issue.code not in codes(open_issues_for(session, target, None))


def test_a_rolled_back_savepoint_drops_the_preload(demo_database):
    with demo_database.transaction() as session:
        target = village(session, "东台村")
        preload_village_issues(session, [(target.township, target.village)])
        assert preloaded_village_issues(session, target.village_id, "饮水") is not None
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("a refused turn")
        assert preloaded_village_issues(session, target.village_id, "饮水") is None


def test_a_village_without_its_own_issue_of_the_category_asks_the_database(demo_database):
    with demo_database.transaction() as session:
        household_issue = issue_by_code(session, "ZG-0004")  # 东台村 刘在龙家, 产业
        target = village(session, "东台村")
        preload_village_issues(session, [(target.township, target.village)])
        assert preloaded_village_issues(session, target.village_id, household_issue.category) is None
        assert household_issue.code in codes(open_issues_for(session, target, household_issue.category))
