"""Exporting the ledger: the workbook an office hands in, scopes, and export -> import
reproducing the same ledger. Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import bot
from db.models import Household, Issue
from tests.support.ledger_files import ledger_snapshot, row_counts, sample_sheets, wipe_ledger, write_xlsx
from services.demo import build_demo
from services.errors import InvalidInput
from services.ledger_export import export_ledger
from services.ledger_import import Counts, import_ledger

TODAY = dt.date(2026, 12, 5)
TZ = ZoneInfo("Asia/Shanghai")
ISSUE_HEADERS = ["编号", "乡镇", "村", "户主姓名", "问题类别", "问题描述", "状态", "整改期限", "责任单位",
                 "户编号", "督办", "最后更新", "佐证数"]


TRICKY = {  # text a cadre could send the bot, which a spreadsheet would run as a formula
    ("issue", "ZG-0001", "description"): '=HYPERLINK("http://x","点我")',
    ("issue", "ZG-0003", "responsible_unit"): "+水利局",
    ("household", "222424-0016", "helper"): "@王刚",
    ("household", "222424-0007", "poverty_cause"): "-缺技术",
    ("issue", "ZG-0018", "description"): "医保未参保\n已通知本人  补缴",  # kept as written
}


def _tricky_ledger(database, tmp_path) -> None:
    """The sample ledger, then formula-like text written straight into the database."""
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))
    models = {"issue": Issue, "household": Household}
    with database.transaction() as s:
        for (kind, code, field), text in TRICKY.items():
            model = models[kind]
            setattr(s.scalar(select(model).where(model.code == code)), field, text)


def _export(database, tmp_path, name="台账.xlsx", **kwargs):
    return export_ledger(database, tmp_path / name, today=TODAY, tz=TZ, **kwargs)


def test_export_then_import_into_an_empty_ledger_reproduces_it(database, tmp_path):
    _tricky_ledger(database, tmp_path)
    before = ledger_snapshot(database)
    result = _export(database, tmp_path)
    wipe_ledger(database)

    again = import_ledger(database, result.path)

    assert ledger_snapshot(database) == before
    assert again.counts["issues"] == Counts(created=5)


def test_demo_county_round_trips_through_its_export(database, tmp_path):
    build_demo(database, TODAY)
    before = ledger_snapshot(database)
    result = _export(database, tmp_path)

    assert import_ledger(database, result.path).counts["households"] == Counts(unchanged=8200)
    wipe_ledger(database)
    import_ledger(database, result.path)

    assert ledger_snapshot(database) == before


def test_workbook_has_the_sheets_headers_and_formats_an_office_expects(database, tmp_path):
    _tricky_ledger(database, tmp_path)

    result = _export(database, tmp_path)

    workbook = load_workbook(result.path)
    assert workbook.sheetnames == ["问题整改台账", "贫困户", "村", "汇总"]
    issues = workbook["问题整改台账"]
    assert [c.value for c in issues[1]] == ISSUE_HEADERS
    assert [c.value for c in workbook["贫困户"][1]] == ["户编号", "乡镇", "村", "户主姓名", "家庭人口", "状态", "致贫原因", "帮扶责任人"]
    assert [c.value for c in workbook["村"][1]] == ["乡镇", "村"]
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.bold
    rows = {row[0].value: row for row in issues.iter_rows(min_row=2)}
    deadline = rows["ZG-0001"][7]
    assert deadline.is_date and deadline.value.date() == dt.date(2026, 12, 11)
    assert deadline.number_format == "yyyy-mm-dd"
    assert issues.column_dimensions["F"].width > issues.column_dimensions["A"].width  # 描述 is wide


def test_open_issues_past_their_deadline_are_filled_red(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    result = _export(database, tmp_path)

    rows = {row[0].value: row for row in load_workbook(result.path)["问题整改台账"].iter_rows(min_row=2)}
    red = {code for code, row in rows.items() if row[0].fill.fgColor.rgb.endswith("FFC7CE")}
    assert red == {"ZG-0003", "ZG-0009"}  # ZG-0025 is past too, but 已销号
    assert result.overdue == 2


def test_formula_like_text_is_written_as_inert_text(database, tmp_path):
    _tricky_ledger(database, tmp_path)

    result = _export(database, tmp_path)

    workbook = load_workbook(result.path)
    rows = {row[0].value: row for row in workbook["问题整改台账"].iter_rows(min_row=2)}
    description = rows["ZG-0001"][5]
    assert description.data_type == "s" and description.value == "'=HYPERLINK(\"http://x\",\"点我\")"
    assert rows["ZG-0003"][8].value == "'+水利局"
    cells = [c for row in workbook.worksheets for line in row.iter_rows() for c in line]
    assert not [c.coordinate for c in cells if c.data_type == "f"]


def test_summary_counts_each_township_by_status(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    result = _export(database, tmp_path)

    summary = load_workbook(result.path)["汇总"]
    table = {row[0]: row[1:] for row in summary.iter_rows(min_row=2, values_only=True) if row[0]}
    assert [c.value for c in summary[1]] == ["乡镇", "未整改", "整改中", "已整改", "已销号", "合计", "逾期"]
    assert table["汪清镇"] == (0, 1, 0, 1, 2, 0)
    assert table["百草沟镇"] == (1, 0, 1, 0, 2, 1)
    assert table["合计"] == (2, 1, 1, 1, 5, 2)


def test_township_scope_exports_only_that_township(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    result = _export(database, tmp_path, scope_name="百草沟镇")

    workbook = load_workbook(result.path)
    assert {r[1] for r in workbook["问题整改台账"].iter_rows(min_row=2, values_only=True)} == {"百草沟镇"}
    assert {r[1] for r in workbook["贫困户"].iter_rows(min_row=2, values_only=True)} == {"百草沟镇"}
    assert (result.issues, result.households, result.villages) == (2, 3, 2)


def test_same_name_village_needs_its_township(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    with pytest.raises(InvalidInput, match="汪清镇/新兴村"):
        _export(database, tmp_path, scope_name="新兴村")
    result = _export(database, tmp_path, scope_name="汪清镇/新兴村")

    assert (result.issues, result.households, result.villages) == (1, 0, 1)


def test_category_scope_carries_only_the_households_its_issues_name(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    result = _export(database, tmp_path, scope_name="档案")

    workbook = load_workbook(result.path)
    assert [r[0] for r in workbook["问题整改台账"].iter_rows(min_row=2, values_only=True)] == ["ZG-0009"]
    assert [r[0] for r in workbook["贫困户"].iter_rows(min_row=2, values_only=True)] == ["222424-0006"]
    assert [r for r in workbook["村"].iter_rows(min_row=2, values_only=True)] == [("百草沟镇", "三道村")]


def test_scoped_export_imports_back_without_changes(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))
    result = _export(database, tmp_path, scope_name="饮水")

    again = import_ledger(database, result.path)

    assert again.counts["issues"] == Counts(unchanged=2)


def test_unknown_scope_is_refused(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))

    with pytest.raises(InvalidInput, match="东光乡"):
        _export(database, tmp_path, scope_name="东光乡")
    assert not (tmp_path / "台账.xlsx").exists()


def test_cli_export_writes_the_file_and_exits_zero(database, db_url, tmp_path, capsys):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))
    out = tmp_path / "导出.xlsx"

    assert bot.main(["export", str(out), "--db", db_url, "--scope", "东光镇"]) == 0
    assert "问题 1 条" in capsys.readouterr().out
    assert load_workbook(out).sheetnames[0] == "问题整改台账"


def test_cli_export_with_unknown_scope_exits_one_and_writes_nothing(database, db_url, tmp_path, capsys):
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sample_sheets()))
    out = tmp_path / "导出.xlsx"

    assert bot.main(["export", str(out), "--db", db_url, "--scope", "火星村"]) == 1
    assert "火星村" in capsys.readouterr().err
    assert not out.exists()
    assert row_counts(database)["issue"] == 5
