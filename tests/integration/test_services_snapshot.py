"""The ledger as the parser sees it (services/snapshot.py) and ``python bot.py parse``,
on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from cli import parse_cmd
from db.models import Household, Issue, Township, Village
from db.session import Database
from nlp.snapshot import HouseholdRef, IssueRef, PlaceRef
from services.snapshot import load_snapshot


def _ledger(database: Database) -> None:
    with database.transaction() as session:
        township = Township(name="东光镇")
        other = Township(name="汪清镇")
        village = Village(township=township, name="东台村")
        session.add_all([
            township, other, village, Village(township=other, name="天平村"),
        ])
        household = Household(code="222424-0002", village=village, head_name="刘在龙", size=3, status="监测户")
        session.add(household)
        session.add_all([
            Issue(code="ZG-0003", village=village, category="饮水", description="管道冻裂", status="未整改"),
            Issue(code="ZG-0004", village=village, household=household, category="产业",
                  description="黄牛养殖补贴未到位", status="整改中"),
            Issue(code="ZG-0023", village=village, household=household, category="兜底保障",
                  description="临时救助未发放", status="已销号"),
        ])


def test_snapshot_holds_places_households_and_open_issues(database: Database) -> None:
    _ledger(database)
    with database.transaction() as session:
        snapshot = load_snapshot(session)
    assert snapshot.townships == ("东光镇", "汪清镇")
    assert set(snapshot.villages) == {PlaceRef("东光镇", "东台村"), PlaceRef("汪清镇", "天平村")}
    assert snapshot.households == (HouseholdRef("222424-0002", "东光镇", "东台村", "刘在龙"),)
    assert snapshot.issues == (
        IssueRef("ZG-0003", "东光镇", "东台村", None, "饮水", "未整改", "管道冻裂"),
        IssueRef("ZG-0004", "东光镇", "东台村", "222424-0002", "产业", "整改中", "黄牛养殖补贴未到位"),
    )  # 已销号 is left out


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser()
    parse_cmd.add_parser(parser.add_subparsers())
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = parser.parse_args(["parse", *argv])
    return args.func(args)


def test_parse_command_prints_one_contract_object_per_message(
        database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    _ledger(database)
    code = _run(["--db", db_url, "--today", "2026-12-01", "东台村饮水问题已解决", "刘在龙家黄牛补贴下周五前到位"],
                monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["text"] == "东台村饮水问题已解决"  # not escaped: ensure_ascii=False
    assert "东台村" in lines[0]
    assert (first["intent"], first["village"], first["status"], first["needs_confirmation"]) == \
        ("report", "东台村", "resolved", False)
    assert (second["household"], second["status"], second["deadline"]) == ("刘在龙", "in_progress", "2026-12-11")


def test_parse_command_reads_stdin_lines_with_scope(
        database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    _ledger(database)
    code = _run(["--db", db_url, "--today", "2026-12-01", "--scope", "东光镇/东台村"], monkeypatch,
                stdin="水管修好了\n\n本周到期的有哪些\n")
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(g["intent"], g["village"], g["needs_confirmation"]) for g in got] == \
        [("report", "东台村", True), ("query_due", None, False)]


def test_parse_command_without_a_ledger_says_so(
        db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    code = _run(["--db", db_url, "东台村"], monkeypatch)
    assert code == 2
    assert "python bot.py demo" in capsys.readouterr().err


def test_parse_command_never_creates_a_database(
        tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "none.db"
    assert _run(["--db", f"sqlite:///{missing}", "东台村"], monkeypatch) == 2
    assert not missing.exists()
    assert "不存在" in capsys.readouterr().err
