"""Ledger files that fight back: the importer either imports correctly or refuses with a
clear Chinese error, and never writes part of a file; the export never hands a
spreadsheet a formula.

Fuzzed: random bytes (also behind a zip signature), workbooks cut short or with bytes
flipped, random cell values (formulas, numbers, long and odd text), formula-injection
text such as =HYPERLINK("http://x","点我") in names, merged cells, hidden sheets, and a
100,000-row sheet whose last row is wrong. On SQLite and PostgreSQL; each example runs in
a transaction that is rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from openpyxl import Workbook, load_workbook

from services.errors import DomainError
from services.ledger_export import export_ledger
from services.ledger_import import LedgerFileError, import_ledger
from tests.support.ledger_files import row_counts, sample_sheets, write_csv_folder, write_xlsx
from tests.support.proof_support import BACKENDS, COUNTY_TZ, module_database, rolled_back

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CHINESE = re.compile(r"[\u4e00-\u9fff]")
FORMULA_STARTS = ("=", "+", "-", "@")
INJECTIONS = [
    '=HYPERLINK("http://x","点我")', "=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "=cmd|'/c calc'!A1",
    "'=already protected", "\t=tab first", "=", "+", "-", "@",
]


@pytest.fixture(scope="module", params=BACKENDS)
def database(request, tmp_path_factory) -> Iterator:
    """An empty ledger per backend for the whole module (examples roll back)."""
    with module_database(request.param, tmp_path_factory.mktemp("import-fuzz")) as database:
        yield database


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
def good_workbook(workdir) -> bytes:
    return write_xlsx(workdir / "good.xlsx", sample_sheets()).read_bytes()


def import_or_refuse(database, path: Path) -> tuple[str, dict[str, int], dict[str, int]]:
    """("imported" | "refused: <message>", counts before, counts after), rolled back after."""
    with rolled_back(database) as case:
        before = row_counts(case)
        try:
            import_ledger(case, path)
            outcome = "imported"
        except LedgerFileError as error:
            outcome = f"refused: {error}"
        except DomainError as error:  # another clear refusal (Conflict, InvalidInput)
            outcome = f"refused: {error}"
        after = row_counts(case)
    return outcome, before, after


def assert_clear_or_correct(outcome: str, before: dict, after: dict, *, expected_rows: dict | None = None) -> None:
    if outcome.startswith("refused"):
        assert after == before, f"a refused file wrote rows: {before} -> {after}"
        assert CHINESE.search(outcome), outcome  # the reason, in Chinese
        return
    if expected_rows is not None:
        for table, count in expected_rows.items():
            assert after[table] - before[table] == count, (table, before, after)


# -- files that are not workbooks ----------------------------------------------------------------


@FUZZ
@given(data=st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=4096).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=512).map(lambda b: b"PK\x05\x06" + b"\x00" * 18 + b),
))
@example(data=b"")
@example(data="乡镇,村\n东光镇,东台村\n".encode())
def test_random_bytes_are_refused_and_write_nothing(database, workdir, data):
    path = workdir / "台账.xlsx"
    path.write_bytes(data)
    outcome, before, after = import_or_refuse(database, path)
    assert outcome.startswith("refused"), outcome
    assert_clear_or_correct(outcome, before, after)


@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=0.999))
@example(cut=0.5)
@example(cut=0.99)
def test_a_workbook_cut_short_is_refused_and_writes_nothing(database, workdir, good_workbook, cut):
    path = workdir / "cut.xlsx"
    path.write_bytes(good_workbook[: int(len(good_workbook) * cut)])
    outcome, before, after = import_or_refuse(database, path)
    assert outcome.startswith("refused"), outcome
    assert_clear_or_correct(outcome, before, after)


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(1, 255)), min_size=1, max_size=8))
def test_a_workbook_with_damaged_bytes_imports_correctly_or_not_at_all(database, workdir, good_workbook, flips):
    damaged = bytearray(good_workbook)
    for where, xor in flips:
        damaged[int(where * len(damaged))] ^= xor
    path = workdir / "damaged.xlsx"
    path.write_bytes(bytes(damaged))
    outcome, before, after = import_or_refuse(database, path)
    assert_clear_or_correct(outcome, before, after, expected_rows={"household": 5, "issue": 5})


# -- workbooks whose cells fight back -------------------------------------------------------------

cell_values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=80),
    st.sampled_from(INJECTIONS),
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.text(min_size=65, max_size=300).filter(lambda t: not any(ord(c) < 32 for c in t)),
)


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(["村", "户", "问题"]), st.integers(0, 6), st.integers(0, 11),
                                  cell_values), min_size=1, max_size=6))
def test_odd_cell_values_import_correctly_or_not_at_all(database, workdir, changes):
    sheets = sample_sheets()
    for sheet, row, column, value in changes:
        rows = sheets[sheet]
        rows[row % len(rows)] = list(rows[row % len(rows)])
        target = rows[row % len(rows)]
        target[column % len(target)] = value
    try:
        path = write_xlsx(workdir / "cells.xlsx", sheets)
    except Exception:  # openpyxl cannot write this value at all: no file to import
        return
    outcome, before, after = import_or_refuse(database, path)
    assert_clear_or_correct(outcome, before, after)


def test_formulas_without_cached_values_are_refused_by_the_row_they_are_in(database, workdir):
    """A workbook saved by a program that does not calculate (openpyxl, some exports) has
    formula cells without values: the importer must name the rows, not import blanks."""
    sheets = sample_sheets()
    sheets["户"][2][3] = "=A1&B1"  # 户主姓名 of 刘在龙 as a formula
    sheets["问题"][1][4] = '=IF(1,"住房","饮水")'  # 问题类别 as a formula
    outcome, before, after = import_or_refuse(database, write_xlsx(workdir / "formulas.xlsx", sheets))
    assert outcome.startswith("refused"), outcome
    assert_clear_or_correct(outcome, before, after)
    assert "户" in outcome and "问题" in outcome


def test_merged_cells_import_correctly_or_name_the_rows(database, workdir):
    """Offices merge the 乡镇 cell over all its villages; only the first row carries it."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sample_sheets().items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    villages = workbook["村"]
    villages["A3"] = None  # 东光镇 merged over A2:A3 (东台村, 东光村)
    villages.merge_cells("A2:A3")
    path = workdir / "merged.xlsx"
    workbook.save(path)
    outcome, before, after = import_or_refuse(database, path)
    assert_clear_or_correct(outcome, before, after, expected_rows={"village": 6, "household": 5, "issue": 5})
    if outcome.startswith("refused"):
        assert "村" in outcome and ":3" in outcome  # names the sheet and the row


@pytest.mark.parametrize("hidden", ["户", "旧问题"])
def test_hidden_sheets_import_correctly_or_not_at_all(database, workdir, hidden):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sample_sheets().items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    if hidden == "旧问题":  # an old copy kept hidden, full of rubbish: must not be read
        old = workbook.create_sheet("旧问题")
        old.append(["编号", "乡镇"])
        old.append(["ZG-9999", "不存在镇"])
    workbook[hidden].sheet_state = "hidden"
    path = workdir / "hidden.xlsx"
    workbook.save(path)
    outcome, before, after = import_or_refuse(database, path)
    assert_clear_or_correct(outcome, before, after, expected_rows={"household": 5, "issue": 5})
    if hidden == "旧问题":
        assert outcome == "imported"


HUGE_ROWS = 100_000


@pytest.fixture(scope="module")
def huge_workbook(workdir) -> Path:
    """村 (300 villages), 户 with 100,000 rows of which only the last is wrong, 问题 empty;
    written once for both backends."""
    path = workdir / "huge.xlsx"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("村")
    sheet.append(["乡镇", "村"])
    places = [(f"第{t}镇", f"第{v}村") for t in range(1, 11) for v in range(1, 31)]
    for place in places:
        sheet.append(list(place))
    sheet = workbook.create_sheet("户")
    sheet.append(["户编号", "乡镇", "村", "户主姓名", "家庭人口", "状态", "致贫原因", "帮扶责任人"])
    rng = random.Random(5)
    for n in range(HUGE_ROWS - 1):
        township, village = places[n % len(places)]
        sheet.append([f"H{n:06d}", township, village, f"户主{n}", rng.randint(1, 6), "已脱贫", "因病", "帮扶人"])
    sheet.append([f"H{HUGE_ROWS:06d}", "第1镇", "第1村", "最后一户", "很多", "已脱贫", "因病", "帮扶人"])  # bad size
    sheet = workbook.create_sheet("问题")
    sheet.append(["编号", "乡镇", "村", "户主姓名", "问题类别", "问题描述", "状态", "整改期限", "责任单位"])
    workbook.save(path)
    return path


@pytest.mark.slow
def test_a_100000_row_sheet_with_one_bad_last_row_writes_nothing(database, huge_workbook):
    """Every row is checked before anything is written: a bad row at the very end of a
    huge sheet leaves the ledger as it was, and the error names that row."""
    outcome, before, after = import_or_refuse(database, huge_workbook)
    assert outcome.startswith("refused"), outcome
    assert_clear_or_correct(outcome, before, after)
    assert f":{HUGE_ROWS + 1}" in outcome  # header on row 1: the last data row is row 100,001


# -- formula injection: imported as text, exported inert ----------------------------------------


injected_text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.tuples(st.sampled_from(["=", "+", "-", "@"]), st.text(alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=30)).map("".join),
)


@FUZZ
@given(head=injected_text, description=injected_text, helper=injected_text, unit=injected_text)
@example(head='=HYPERLINK("http://x","点我")', description="=1+1", helper="@SUM(A1)", unit="+水利局")
def test_formula_injection_is_kept_as_text_and_exported_inert(database, workdir, head, description, helper, unit):
    sheets = sample_sheets()
    sheets["户"][2][3] = head  # 刘在龙's 户主姓名
    sheets["户"][2][7] = helper
    sheets["问题"][2][5] = description  # ZG-0003 问题描述
    sheets["问题"][2][8] = unit
    folder = write_csv_folder(workdir / "csv", sheets)  # CSV keeps them as text
    with rolled_back(database) as case:
        try:
            import_ledger(case, folder)
        except LedgerFileError as error:  # e.g. a name too long once cleaned: a clear refusal
            assert CHINESE.search(str(error))
            return
        out = workdir / "export.xlsx"
        export_ledger(case, out, today=dt.date(2026, 12, 1), tz=COUNTY_TZ)
        # The export reads back as the same ledger (the protection is undone on import).
        second = import_ledger(case, out)
    assert all(second.counts[kind].updated == 0 and second.counts[kind].created == 0
               for kind in ("households", "issues")), second.lines()
    assert_inert(out)


def assert_inert(path: Path) -> None:
    """No cell of the workbook is a formula or text a spreadsheet would run as one."""
    workbook = load_workbook(path)  # not read-only: data_type is what the file says
    live = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS)):
                    live.append(f"{sheet.title}!{cell.coordinate}={cell.value!r}")
    assert live == [], live


def test_export_of_a_file_read_back_from_bytes_is_inert(database, workdir):
    """The whole chain on the canonical injection example, opened from bytes as a user would."""
    sheets = sample_sheets()
    sheets["户"][4][3] = '=HYPERLINK("http://x","点我")'  # 222424-0007, linked to no issue by name
    folder = write_csv_folder(workdir / "csv-one", sheets)
    with rolled_back(database) as case:
        import_ledger(case, folder)
        out = workdir / "one.xlsx"
        export_ledger(case, out, today=dt.date(2026, 12, 1), tz=COUNTY_TZ)
    workbook = load_workbook(io.BytesIO(out.read_bytes()))
    values = [c.value for ws in workbook.worksheets for row in ws.iter_rows() for c in row]
    assert '\'=HYPERLINK("http://x","点我")' in values  # kept, as text
    assert_inert(out)
