"""Typed cells in a workbook: a name or text column holds text, 家庭人口 a whole number,
整改期限 a date. Testers found a boolean head imported as "True", a date as
"2020-01-0100:00:00" and a helper as "3.5". Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import bot
from db.models import Household, Issue
from tests.support.ledger_files import row_counts, sample_sheets, write_xlsx
from services.ledger_import import Counts, LedgerFileError, import_ledger

# sheet, row (as the spreadsheet numbers it), column index, cell, the one expected error line
WRONG_TYPES = {
    "boolean head": ("户", 2, 3, True, "户:2: 户主姓名是逻辑值 TRUE，应填文字"),
    "datetime head": ("户", 2, 3, dt.datetime(2020, 1, 1), "户:2: 户主姓名是日期或时间 2020-01-01，应填文字"),
    "number head": ("户", 2, 3, 42, "户:2: 户主姓名是数字 42，应填文字"),
    "float helper": ("户", 2, 7, 3.5, "户:2: 帮扶责任人是数字 3.5，应填文字"),
    "datetime village": ("户", 3, 2, dt.datetime(2020, 1, 1, 8, 30), "户:3: 村是日期或时间 2020-01-01 08:30:00，应填文字"),
    "boolean township": ("村", 2, 0, False, "村:2: 乡镇是逻辑值 FALSE，应填文字"),
    "number cause": ("户", 5, 6, 1, "户:5: 致贫原因是数字 1，应填文字"),
    "date description": ("问题", 4, 5, dt.date(2026, 1, 1), "问题:4: 问题描述是日期或时间 2026-01-01，应填文字"),
    "boolean unit": ("问题", 4, 8, True, "问题:4: 责任单位是逻辑值 TRUE，应填文字"),
    "fractional size": ("户", 2, 4, 3.5, "户:2: 家庭人口「3.5」不是 1–30 的整数"),
    "boolean size": ("户", 2, 4, True, "户:2: 家庭人口「TRUE」不是 1–30 的整数"),
    "date size": ("户", 2, 4, dt.datetime(2020, 1, 4), "户:2: 家庭人口「2020-01-04」不是 1–30 的整数"),
    "boolean deadline": ("问题", 2, 7, True, "问题:2: 整改期限「TRUE」不是有效日期（如 2026-12-31）"),
    "fractional deadline": ("问题", 2, 7, 46387.5, "问题:2: 整改期限「46387.5」不是有效日期（如 2026-12-31）"),
    "time deadline": ("问题", 2, 7, dt.time(8, 30), "问题:2: 整改期限「08:30:00」不是有效日期（如 2026-12-31）"),
    "fractional code": ("户", 6, 0, 3.5, "户:6: 户编号是数字 3.5，应填文字"),
    "boolean code": ("问题", 5, 0, True, "问题:5: 编号是逻辑值 TRUE，应填文字"),
    "rounded long code": ("户", 6, 0, 10**17,  # 18 digits: Excel keeps 15, the rest are 0
                          "户:6: 户编号是超过 15 位的数字 100000000000000000（Excel 已把末几位改成了 0，请把该列设为文本后重新填写），应填文字"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_cell_of_the_wrong_type_is_one_bad_row(database, tmp_path, case):
    sheet, row, column, cell, expected = WRONG_TYPES[case]
    sheets = sample_sheets()
    sheets[sheet][row - 1][column] = cell
    before = row_counts(database)

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert caught.value.errors == [expected]  # one line: no follow-up error about the same cell
    assert row_counts(database) == before


def test_whole_numbers_and_dates_of_the_right_columns_are_accepted(database, tmp_path):
    sheets = sample_sheets()
    sheets["户"][1][0] = 2224240001  # a code typed as digits: Excel keeps it as a number
    sheets["户"][1][4] = 4.0  # Excel keeps every number as a float
    sheets["问题"][1][7] = dt.datetime(2026, 12, 11)  # a date cell with its midnight
    sheets["问题"][2][7] = 46359  # 2026-12-03 as a serial number in a General cell
    sheets["问题"][3][7] = "2026年12月2日"
    sheets["问题"][1][10] = True  # 督办 is a yes/no column: a boolean is the right type

    result = import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert result.counts["households"] == Counts(created=5)
    with database.transaction() as session:
        assert session.scalar(select(Household.size).where(Household.code == "2224240001")) == 4
        deadlines = dict(session.execute(select(Issue.code, Issue.deadline)).all())
        assert session.scalar(select(Issue.supervised).where(Issue.code == "ZG-0001")) is True
    assert deadlines["ZG-0001"] == dt.date(2026, 12, 11)
    assert deadlines["ZG-0003"] == dt.date(2026, 12, 3)
    assert deadlines["ZG-0009"] == dt.date(2026, 12, 2)


def test_cli_lists_the_wrong_types_the_testers_found(db_url, tmp_path, capsys):
    sheets = sample_sheets()
    sheets["户"][1][3] = True
    sheets["户"][2][3] = dt.datetime(2020, 1, 1)
    sheets["户"][3][7] = 3.5
    path = write_xlsx(tmp_path / "台账.xlsx", sheets)

    assert bot.main(["import", str(path), "--db", db_url, "--dry-run"]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "户:2: 户主姓名是逻辑值 TRUE，应填文字",
        "户:3: 户主姓名是日期或时间 2020-01-01，应填文字",
        "户:4: 帮扶责任人是数字 3.5，应填文字",
        "共 3 处问题，未导入任何数据。",
    ]
