"""Importing a ledger file: workbooks and CSV folders, upserts, history, and bad files that
must leave the ledger untouched. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from sqlalchemy import select

import bot
from db.models import Issue, IssueEvent
from tests.support.ledger_files import (
    ledger_snapshot,
    office_workbook,
    row_counts,
    sample_sheets,
    write_csv_folder,
    write_xlsx,
)
from services.errors import Conflict
from services.ledger_import import (
    Counts,
    LedgerFileError,
    apply_plan,
    import_ledger,
    plan_import,
    read_ledger,
)

EMPTY = {"township": 0, "village": 0, "household": 0, "issue": 0, "issue_event": 0}


def _expected_issue(code: str) -> tuple:
    """The sample's issue row as ledger_snapshot shows it."""
    by_code = {
        "ZG-0001": ("ZG-0001", "汪清镇", "天平村", "222424-0001", "住房", "危房改造未完工", "整改中",
                    dt.date(2026, 12, 11), "住建局", False),
        "ZG-0003": ("ZG-0003", "东光镇", "东台村", None, "饮水", "自来水管道冻裂，饮水不安全", "未整改",
                    dt.date(2026, 12, 3), "水利局", True),
        "ZG-0009": ("ZG-0009", "百草沟镇", "三道村", "222424-0006", "档案", "户档缺帮扶人签字", "未整改",
                    dt.date(2026, 12, 2), "百草沟镇", False),
    }
    return by_code[code]


def test_office_workbook_with_title_variants_and_padding_imports_every_row(database, tmp_path):
    result = import_ledger(database, office_workbook(tmp_path / "台账.xlsx"))

    assert result.counts["villages"] == Counts(created=6)
    assert result.counts["households"] == Counts(created=5)
    assert result.counts["issues"] == Counts(created=5)
    snapshot = ledger_snapshot(database)
    assert ("222424-0001", "汪清镇", "天平村", "李兆满", 4, "未脱贫", "因病", "王建国") in snapshot["households"]
    for code in ("ZG-0001", "ZG-0003", "ZG-0009"):
        assert _expected_issue(code) in snapshot["issues"]


def test_text_and_excel_dates_give_the_same_ledger(database, tmp_path):
    import_ledger(database, office_workbook(tmp_path / "office.xlsx"))
    office = ledger_snapshot(database)

    assert office == _snapshot_of(tmp_path, write_xlsx(tmp_path / "plain.xlsx", sample_sheets()), database)


def _snapshot_of(tmp_path, path, database) -> dict:
    from tests.support.ledger_files import wipe_ledger

    wipe_ledger(database)
    import_ledger(database, path)
    return ledger_snapshot(database)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_folder_in_utf8_bom_and_gbk(database, tmp_path, encoding):
    folder = write_csv_folder(tmp_path / "csv", sample_sheets(), encoding=encoding)

    result = import_ledger(database, folder)

    assert result.counts["issues"].created == 5
    assert _expected_issue("ZG-0003") in ledger_snapshot(database)["issues"]
    assert ("222424-0006", "百草沟镇", "三道村", "张玉兰", 3, "未脱贫", "因病", "孙丽") in ledger_snapshot(database)["households"]


def test_second_import_of_the_same_file_changes_nothing(database, tmp_path):
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())
    import_ledger(database, path)
    before = ledger_snapshot(database)
    with database.transaction() as s:
        versions = dict(s.execute(select(Issue.code, Issue.version)).all())
    events = row_counts(database)["issue_event"]

    again = import_ledger(database, path)

    assert again.counts["households"] == Counts(unchanged=5)
    assert again.counts["issues"] == Counts(unchanged=5)
    assert again.counts["villages"] == Counts(unchanged=6)
    assert again.events == 0
    assert row_counts(database)["issue_event"] == events
    assert ledger_snapshot(database) == before
    with database.transaction() as s:
        assert dict(s.execute(select(Issue.code, Issue.version)).all()) == versions


def test_new_issues_are_recorded_as_created_by_the_import(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sample_sheets()))

    with database.transaction() as s:
        events = s.scalars(select(IssueEvent)).all()
    assert len(events) == 5
    assert {(e.field, e.source, e.actor) for e in events} == {("created", "import", "import")}
    assert all(e.message_text == "导入 台账.xlsx" for e in events)


def test_changed_issue_is_updated_and_each_field_change_recorded_once(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    sheets = sample_sheets()
    sheets["问题"][1][6] = "已整改"  # ZG-0001 status
    sheets["问题"][1][7] = dt.date(2026, 12, 20)
    sheets["户"][1][4] = 5  # 李兆满's household grew

    result = import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert result.counts["issues"] == Counts(updated=1, unchanged=4)
    assert result.counts["households"] == Counts(updated=1, unchanged=4)
    with database.transaction() as s:
        issue = s.scalar(select(Issue).where(Issue.code == "ZG-0001"))
        assert (issue.status, issue.deadline, issue.version) == ("已整改", dt.date(2026, 12, 20), 2)
        changes = s.scalars(
            select(IssueEvent).where(IssueEvent.issue_id == issue.id, IssueEvent.field != "created")
        ).all()
    assert {(e.field, e.old_value, e.new_value) for e in changes} == {
        ("status", "整改中", "已整改"),
        ("deadline", "2026-12-11", "2026-12-20"),
    }
    assert len({e.change_id for e in changes}) == 1
    assert {(e.source, e.actor) for e in changes} == {("import", "import")}


def test_file_without_supervision_column_keeps_the_ledgers_flag(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    sheets = sample_sheets()
    for row in sheets["问题"]:
        del row[10]  # no 督办 column at all

    result = import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert result.counts["issues"] == Counts(unchanged=5)
    assert _expected_issue("ZG-0003") in ledger_snapshot(database)["issues"]  # still 督办


def test_dry_run_reports_changes_and_writes_nothing(database, tmp_path):
    result = import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sample_sheets()), dry_run=True)

    assert result.dry_run and result.counts["households"] == Counts(created=5)
    assert row_counts(database) == EMPTY


def test_households_and_issues_may_use_villages_already_in_the_ledger(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    sheets = sample_sheets()
    sheets["村"] = [sheets["村"][0]]  # no villages listed this time
    sheets["问题"].append(["ZG-0100", "东光镇", "东光村", None, "基础设施", "过河桥护栏缺失", "未整改",
                         dt.date(2026, 12, 30), "交通局", None, "否"])

    result = import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert result.counts["issues"] == Counts(created=1, unchanged=5)


def test_protected_formula_text_is_read_back_without_the_apostrophe(database, tmp_path):
    sheets = sample_sheets()
    sheets["问题"][1][5] = "'=1+1 危房"

    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    with database.transaction() as s:
        assert s.scalar(select(Issue.description).where(Issue.code == "ZG-0001")) == "=1+1 危房"


def test_report_saved_while_the_file_was_checked_is_not_overwritten(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    sheets = sample_sheets()
    sheets["问题"][1][6] = "已整改"
    ledger = read_ledger(write_xlsx(tmp_path / "v2.xlsx", sheets))
    with database.transaction() as s:
        plan = plan_import(s, ledger)
    with database.transaction() as s:  # the bot records a report in between
        s.scalar(select(Issue).where(Issue.code == "ZG-0001")).deadline = dt.date(2027, 1, 5)

    with pytest.raises(Conflict):
        with database.transaction() as s:
            apply_plan(s, plan)

    with database.transaction() as s:
        issue = s.scalar(select(Issue).where(Issue.code == "ZG-0001"))
        assert (issue.status, issue.deadline) == ("整改中", dt.date(2027, 1, 5))


# ---------------------------------------------------------------- bad files


def _bad(sheets: dict, sheet: str, row: int, column: int, value) -> dict:
    sheets[sheet][row - 1][column] = value
    return sheets


def _without_column(sheets: dict, sheet: str, column: int) -> dict:
    for row in sheets[sheet]:
        del row[column]
    return sheets


def _duplicate_code(sheets: dict) -> dict:
    sheets["户"].append(["222424-0001", "东光镇", "东台村", "金春花", 2, "未脱贫", "因病", "金明哲"])
    return sheets


BAD_ROWS = {
    # case: (make the file bad, expected error line start, offending value named)
    "unknown township": (lambda s: _bad(s, "户", 3, 1, "东光乡"), "户:3:", "东光乡"),
    "unknown village": (lambda s: _bad(s, "问题", 3, 2, "东抬村"), "问题:3:", "东光镇/东抬村"),
    "duplicate household code": (_duplicate_code, "户:7:", "222424-0001"),
    "bad date": (lambda s: _bad(s, "问题", 2, 7, "2026-13-45"), "问题:2:", "2026-13-45"),
    "unknown household status": (lambda s: _bad(s, "户", 2, 5, "快脱贫了"), "户:2:", "快脱贫了"),
    "unknown issue status": (lambda s: _bad(s, "问题", 4, 6, "差不多了"), "问题:4:", "差不多了"),
    "unknown category": (lambda s: _bad(s, "问题", 2, 4, "水"), "问题:2:", "水"),
    "ambiguous household": (lambda s: _bad(s, "问题", 4, 9, None), "问题:4:", "张玉兰"),
    "head not in village": (lambda s: _bad(s, "问题", 2, 3, "李照满"), "问题:2:", "李照满"),
    "size not a number": (lambda s: _bad(s, "户", 4, 4, "三口"), "户:4:", "三口"),
    "missing required cell": (lambda s: _bad(s, "户", 5, 3, None), "户:5:", "户主姓名"),
    "missing column": (lambda s: _without_column(s, "户", 4), "户:1:", "家庭人口"),
    "household code of another village": (lambda s: _bad(s, "问题", 4, 9, "222424-0001"), "问题:4:", "222424-0001"),
}


def _assert_untouched(database, before: dict) -> None:
    assert row_counts(database) == before


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_imports_nothing_and_names_sheet_row_and_value(database, tmp_path, case):
    make_bad, where, value = BAD_ROWS[case]
    path = write_xlsx(tmp_path / "台账.xlsx", make_bad(sample_sheets()))

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, path)

    assert row_counts(database) == EMPTY
    matching = [e for e in caught.value.errors if e.startswith(where)]
    assert matching, caught.value.errors
    assert value in matching[0]


def test_bad_row_in_an_update_leaves_the_existing_ledger_as_it_was(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    before, counts = ledger_snapshot(database), row_counts(database)
    sheets = sample_sheets()
    sheets["问题"][1][6] = "已整改"  # a good change ...
    sheets["户"][2][1] = "东光乡"  # ... next to a bad row

    with pytest.raises(LedgerFileError):
        import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert ledger_snapshot(database) == before
    assert row_counts(database) == counts


def test_every_bad_row_is_reported_not_just_the_first(database, tmp_path):
    sheets = sample_sheets()
    sheets["户"][1][4] = "很多"
    sheets["户"][3][5] = "?"
    sheets["问题"][5][7] = "明年"

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert [e.split(" ")[0] for e in caught.value.errors] == ["户:2:", "户:4:", "问题:6:"]


def test_csv_errors_name_the_file_and_line(database, tmp_path):
    sheets = _bad(sample_sheets(), "户", 3, 1, "东光乡")
    folder = write_csv_folder(tmp_path / "csv", sheets, encoding="gbk")

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, folder)

    assert caught.value.errors[0].startswith("households.csv:3:")
    assert row_counts(database) == EMPTY


def _zip_not_xlsx(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "不是工作簿")
    return path


def _truncated_xlsx(path):
    write_xlsx(path, sample_sheets())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


CORRUPT = {
    "random bytes": lambda p: (p.write_bytes(bytes(range(256)) * 40), p)[1],
    "zip that is no workbook": _zip_not_xlsx,
    "truncated workbook": _truncated_xlsx,
    "text renamed to xlsx": lambda p: (p.write_text("乡镇,村\n东光镇,东台村\n", encoding="utf-8"), p)[1],
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_file_is_refused_in_chinese(database, tmp_path, case):
    path = CORRUPT[case](tmp_path / "台账.xlsx")

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, path)

    assert "无法读取" in str(caught.value)
    assert row_counts(database) == EMPTY


def test_missing_sheet_is_named(database, tmp_path):
    sheets = sample_sheets()
    del sheets["户"]

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert caught.value.errors == ["台账.xlsx: 缺少工作表「户」（或 households）"]
    assert row_counts(database) == EMPTY


def test_english_sheet_names_are_accepted(database, tmp_path):
    sheets = sample_sheets()
    renamed = {"villages": sheets["村"], "households": sheets["户"], "issues": sheets["问题"]}

    assert import_ledger(database, write_xlsx(tmp_path / "ledger.xlsx", renamed)).counts["issues"].created == 5


# ---------------------------------------------------------------- the command


def test_cli_import_prints_counts_and_exits_zero(db_url, tmp_path, capsys):
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    assert bot.main(["import", str(path), "--db", db_url]) == 0
    assert "户：新增 5，更新 0，不变 0" in capsys.readouterr().out
    assert bot.main(["import", str(path), "--db", db_url]) == 0
    assert "问题：新增 0，更新 0，不变 5" in capsys.readouterr().out


def test_cli_import_of_a_bad_file_prints_every_error_and_exits_one(db_url, tmp_path, capsys):
    sheets = _bad(_bad(sample_sheets(), "户", 3, 1, "东光乡"), "问题", 2, 7, "下周")
    path = write_xlsx(tmp_path / "台账.xlsx", sheets)

    assert bot.main(["import", str(path), "--db", db_url]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("户:3:") and "东光乡" in err[0]
    assert err[1].startswith("问题:2:") and "下周" in err[1]
    assert "未导入任何数据" in err[-1]


def test_cli_dry_run_writes_nothing(database, db_url, tmp_path, capsys):
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    assert bot.main(["import", str(path), "--db", db_url, "--dry-run"]) == 0
    assert "试运行" in capsys.readouterr().out
    assert row_counts(database) == EMPTY


def test_cli_import_of_a_missing_path_exits_one(db_url, tmp_path, capsys):
    assert bot.main(["import", str(tmp_path / "没有.xlsx"), "--db", db_url]) == 1
    assert "不存在" in capsys.readouterr().err
