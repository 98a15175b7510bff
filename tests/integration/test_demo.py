"""The demo county: story rows present, generated rows plausible and deterministic, and a
second build changing nothing. Database tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sys
import types
from collections import Counter

import pytest
from sqlalchemy import select

import bot
from db.models import Household, Issue, IssueEvent, Township, User, Village
from tests.support.ledger_files import ledger_snapshot, row_counts, sample_sheets, write_xlsx
from nlp.pinyin_index import toneless
from services.demo import build_demo, demo_ledger, load_demo_county
from services.errors import Conflict
from services.ledger_headers import HOUSEHOLDS, ISSUES
from services.ledger_import import import_ledger
from vocab import CATEGORIES, IssueStatus

TODAY = dt.date(2026, 12, 1)


def _household(session, township: str, village: str, head: str) -> list[Household]:
    return session.scalars(
        select(Household).join(Village).join(Township)
        .where(Township.name == township, Village.name == village, Household.head_name == head)
    ).all()


def test_demo_holds_the_story_households_the_walkthrough_names(database):
    summary = build_demo(database, TODAY)

    assert summary.created
    with database.transaction() as s:
        assert [h.code for h in _household(s, "汪清镇", "天平村", "李兆满")] == ["222424-0001"]
        assert [h.code for h in _household(s, "东光镇", "东台村", "刘在龙")] == ["222424-0002"]
        assert [h.code for h in _household(s, "春阳镇", "新村村", "赵连生")] == ["222424-0003"]
        assert len(_household(s, "百草沟镇", "三道村", "张玉兰")) == 2
        zg9 = s.scalar(select(Issue).where(Issue.code == "ZG-0009"))
        assert zg9.household.code == "222424-0006"
        zg6 = s.scalar(select(Issue).where(Issue.code == "ZG-0006"))
        assert (zg6.deadline, zg6.supervised) == (TODAY - dt.timedelta(days=2), True)
        assert s.scalar(select(Issue).where(Issue.code == "ZG-0003")).household is None


def test_demo_is_county_sized_with_every_category_status_and_overdue_items(database):
    summary = build_demo(database, TODAY)

    assert summary.townships == 9 and summary.villages == 73
    assert summary.households == 8200
    assert 400 <= summary.issues <= 450
    assert summary.overdue > 20
    with database.transaction() as s:
        issues = s.execute(select(Issue.category, Issue.status, Issue.deadline)).all()
    assert {c for c, _, _ in issues} == set(CATEGORIES)
    assert {st for _, st, _ in issues} == {s.value for s in IssueStatus}
    deadlines = [d for _, _, d in issues]
    assert min(deadlines) >= TODAY - dt.timedelta(days=30)
    assert max(deadlines) <= TODAY + dt.timedelta(days=45)


def test_demo_users_have_no_telegram_id_and_an_admin(database):
    build_demo(database, TODAY)

    with database.transaction() as s:
        users = s.scalars(select(User)).all()
    assert {u.name for u in users} == {u["name"] for u in load_demo_county()["users"]}
    assert all(u.telegram_id is None for u in users)
    assert ("演示管理员", "admin") in {(u.name, u.role) for u in users}
    assert next(u for u in users if u.name == "东台村工作队").scope == ["东光镇/东台村"]


def test_second_build_changes_nothing(database):
    build_demo(database, TODAY)
    before, counts = ledger_snapshot(database), row_counts(database)

    again = build_demo(database, TODAY + dt.timedelta(days=3))

    assert not again.created
    assert ledger_snapshot(database) == before
    assert row_counts(database) == counts
    with database.transaction() as s:
        assert len(s.scalars(select(User)).all()) == len(load_demo_county()["users"])


def test_demo_issues_carry_their_creation_in_the_history(database):
    build_demo(database, TODAY)

    with database.transaction() as s:
        events = s.execute(select(IssueEvent.field, IssueEvent.source)).all()
    assert Counter(events) == {("created", "system"): row_counts(database)["issue"]}


def test_demo_refuses_a_database_that_holds_a_real_ledger(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sample_sheets()))
    counts = row_counts(database)

    with pytest.raises(Conflict):
        build_demo(database, TODAY)
    assert row_counts(database) == counts


def test_generation_is_the_same_every_time():
    county = load_demo_county()

    first, second = demo_ledger(county, TODAY), demo_ledger(county, TODAY)

    assert first.sheets[HOUSEHOLDS].rows == second.sheets[HOUSEHOLDS].rows
    assert first.sheets[ISSUES].rows == second.sheets[ISSUES].rows


def test_no_generated_head_sounds_like_a_story_head():
    county = load_demo_county()
    story_codes = {h["code"] for h in county["households"]}
    story_sounds = {toneless(h["head"]) for h in county["households"]}

    generated = [v for _, v in demo_ledger(county, TODAY).sheets[HOUSEHOLDS].rows if v["code"] not in story_codes]

    assert len(generated) > 8000
    assert not [v["head"] for v in generated if toneless(v["head"]) in story_sounds]
    assert {v["size"] for v in generated} == {1, 2, 3, 4, 5, 6}


def test_generated_issues_only_in_villages_without_a_story_issue():
    county = load_demo_county()
    story_codes = {i["code"] for i in county["issues"]}
    story_places = {(i["township"], i["village"]) for i in county["issues"]}

    issues = [v for _, v in demo_ledger(county, TODAY).sheets[ISSUES].rows if v["code"] not in story_codes]

    assert 380 <= len(issues) <= 420
    assert not [v["code"] for v in issues if (v["township"], v["village"]) in story_places]


def _run_demo(db_url: str, monkeypatch, console) -> int:
    """``python bot.py demo --db URL`` with ``console`` standing in for cli.console_cmd
    (None: the module cannot be imported)."""
    args = bot.build_parser().parse_args(["demo", "--db", db_url])
    monkeypatch.setitem(sys.modules, "cli.console_cmd", console)
    return args.func(args)


def _fake_console(calls: list):
    console = types.ModuleType("cli.console_cmd")
    console.run_console = lambda settings, url, user_name=None: calls.append((url, user_name)) or 0
    return console


def test_cli_demo_opens_the_console_when_there_is_one(db_url, monkeypatch, capsys):
    calls = []

    assert _run_demo(db_url, monkeypatch, _fake_console(calls)) == 0

    assert calls == [(db_url, None)]
    assert "演示数据已建好" in capsys.readouterr().out


def test_cli_demo_without_a_console_says_how_to_start_it(db_url, monkeypatch, capsys):
    args = bot.build_parser().parse_args(["demo", "--db", db_url])
    monkeypatch.setitem(sys.modules, "cli.console_cmd", None)

    assert args.func(args) == 0
    assert args.func(args) == 0

    out = capsys.readouterr().out
    assert "8200 户" in out and "未重复创建" in out
    assert "python bot.py console" in out


def test_cli_demo_with_stdin_closed_prints_how_to_start_instead_of_chatting(db_url, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(sys, "stdin", None)  # what `python bot.py demo <&-` gives

    assert _run_demo(db_url, monkeypatch, _fake_console(calls)) == 0

    assert calls == []
    assert "python bot.py console --db" in capsys.readouterr().out
