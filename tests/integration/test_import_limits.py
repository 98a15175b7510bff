"""How big a file an import reads (config.yaml ``import``), and how many problems it lists.

Testers dry-ran a 1,000,000-row workbook of a few MB: 170 s, 1.19 GB and 999,999 error lines.
Now a file beyond a limit is refused with one line that names the limit and the config key,
and a file with many bad rows lists the first 50 and counts the rest. The time and memory of
the refusal are measured in bench/bench_import.py, not asserted here. Every database test
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

import bot
from tests.support.ledger_files import (
    row_counts,
    sample_sheets,
    write_csv_folder,
    write_long_workbook,
    write_xlsx,
)
from services.ledger_import import BadRows, ImportLimits, LedgerFileError, _count_row_tags, import_ledger
from settings import ConfigError, load_settings

EMPTY = {"township": 0, "village": 0, "household": 0, "issue": 0, "issue_event": 0}
MILLION = 1_000_000


def _refusal(database, path, limits: ImportLimits) -> str:
    """The one line an import refused for a limit gives; nothing written."""
    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, path, dry_run=False, limits=limits)
    assert row_counts(database) == EMPTY
    assert len(caught.value.errors) == 1, caught.value.errors
    return caught.value.errors[0]


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- rows


@pytest.fixture(scope="module")
def million_row_workbook(tmp_path_factory) -> Path:
    """Written once per module (about 10 s) in write-only mode: some 7 MB on disk and 60 MB
    unpacked, under both size limits, so that the row cap is what must refuse it."""
    return write_long_workbook(tmp_path_factory.mktemp("million") / "百万行.xlsx", MILLION)


@pytest.mark.slow
def test_a_million_row_workbook_is_refused_naming_the_limit(database, db_url, million_row_workbook, capsys):
    assert million_row_workbook.stat().st_size < ImportLimits().max_file_mb * 2**20
    with zipfile.ZipFile(million_row_workbook) as archive:
        assert sum(m.file_size for m in archive.infolist()) < ImportLimits().max_unpacked_mb * 2**20

    assert bot.main(["import", str(million_row_workbook), "--db", db_url, "--dry-run"]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "户: 行数超过导入上限 200,000 行；请拆成几个文件分批导入，或在 config.yaml 中调大 import.max_rows",
        "共 1 处问题，未导入任何数据。",
    ]
    assert row_counts(database) == EMPTY


def test_the_row_cap_comes_from_the_config_file(database, db_url, tmp_path, capsys):
    config = _config(tmp_path, "import:\n  max_rows: 4\n")
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())  # 村 has a header and 6 rows

    assert bot.main(["import", str(path), "--db", db_url, "--config", str(config)]) == 1

    assert "村: 行数超过导入上限 4 行" in capsys.readouterr().err
    assert row_counts(database) == EMPTY


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_rows_are_counted_on_the_raw_xml_across_read_pieces(tmp_path, prefix):
    """The quick count reads 1 MB at a time: a tag cut in two is counted once, a namespace
    prefix (written by .NET tools) is a row too, <rowBreaks> is not."""
    row = f'<{prefix}row r="1" spans="1:3"><{prefix}c r="A1"><{prefix}v>1</{prefix}v></{prefix}c></{prefix}row>'
    body = f"<{prefix}sheetData>" + row * 70_000 + f"</{prefix}sheetData><{prefix}rowBreaks count=\"1\"/>"
    path = tmp_path / "sheet.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sheet.xml", body)
    assert len(body) > 3 * 2**20  # several pieces

    with zipfile.ZipFile(path) as archive:
        assert _count_row_tags(archive, "sheet.xml", 10**6) == 70_000
        assert _count_row_tags(archive, "sheet.xml", 100) > 100  # stops soon after the cap


def test_a_sheet_reaching_past_the_cap_is_refused_while_it_is_read(database, tmp_path):
    """Few rows, but one far down: counting rows on the file passes it, reading stops at the cap."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sample_sheets().items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook["户"].cell(row=500, column=1, value="222424-0500")
    path = tmp_path / "台账.xlsx"
    workbook.save(path)

    assert _refusal(database, path, ImportLimits(max_rows=20)).startswith("户: 行数超过导入上限 20 行")


def test_a_csv_file_longer_than_the_cap_is_refused(database, tmp_path):
    folder = write_csv_folder(tmp_path / "csv", sample_sheets())

    # villages.csv has a header and 6 rows, the other two files a header and 5
    assert _refusal(database, folder, ImportLimits(max_rows=6)).startswith("villages.csv: 行数超过导入上限 6 行")


def test_a_ledger_within_the_limits_still_imports(database, tmp_path):
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    result = import_ledger(database, path, limits=ImportLimits(max_rows=7, max_file_mb=1, max_unpacked_mb=1))

    assert result.counts["issues"].created == 5


# ---------------------------------------------------------------- size


def test_a_file_larger_than_the_limit_is_refused(database, tmp_path):
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    line = _refusal(database, path, ImportLimits(max_file_mb=0.001))

    assert line.startswith("台账.xlsx: 文件大小") and "超过导入上限 0.001 MB" in line
    assert line.endswith("在 config.yaml 中调大 import.max_file_mb")


def test_a_csv_folder_larger_than_the_limit_is_refused(database, tmp_path):
    folder = write_csv_folder(tmp_path / "csv", sample_sheets())

    line = _refusal(database, folder, ImportLimits(max_file_mb=0.0005))

    assert line.startswith("csv（三个 CSV 文件合计）: 文件大小") and "import.max_file_mb" in line


def test_a_workbook_that_unpacks_too_big_is_refused_before_it_is_unpacked(database, tmp_path):
    """An .xlsx is a zip: 30 MB of zeros pack into some 30 KB (a small zip bomb)."""
    path = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(30 * 2**20))
    assert path.stat().st_size < 2**20

    line = _refusal(database, path, ImportLimits(max_unpacked_mb=10))

    assert line == ("台账.xlsx: 解压后大小 30 MB，超过导入上限 10 MB（.xlsx 是压缩文件）；"
                    "请拆成几个文件分批导入，或在 config.yaml 中调大 import.max_unpacked_mb")


def test_config_yaml_ships_the_limits_and_refuses_a_bad_one(tmp_path):
    shipped = load_settings(environ={}).import_
    assert (shipped.max_rows, shipped.max_file_mb, shipped.max_unpacked_mb) == (200_000, 20, 200)
    assert ImportLimits(**shipped.model_dump()) == ImportLimits()

    with pytest.raises(ConfigError, match=r"import\.max_rows"):
        load_settings(_config(tmp_path, "import:\n  max_rows: 0\n"), environ={})


# ---------------------------------------------------------------- many bad rows


def _many_bad_households(count: int) -> dict:
    sheets = sample_sheets()
    for n in range(count):
        sheets["户"].append([f"222424-9{n:03d}", "东光乡", "东台村", f"户主{n}", 2, "未脱贫", "因病", None])
    return sheets


def test_the_first_50_bad_rows_are_listed_and_the_rest_counted(database, tmp_path):
    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", _many_bad_households(120)))

    assert caught.value.errors == [f"户:{7 + n}: 未知乡镇「东光乡」" for n in range(BadRows.LISTED)]
    assert (caught.value.total, caught.value.unlisted) == (120, 70)
    assert "台账文件有 120 处问题" in str(caught.value)
    assert row_counts(database) == EMPTY


def test_a_rows_problems_share_its_line(database, tmp_path):
    sheets = sample_sheets()
    sheets["户"][4][1:5] = ["东光乡", "东台村", True, 0]  # 222424-0007, linked to no issue

    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert caught.value.errors == ["户:5: 未知乡镇「东光乡」；户主姓名是逻辑值 TRUE，应填文字；家庭人口「0」不是 1–30 的整数"]


def test_cli_prints_50_lines_and_the_count_of_the_rest(db_url, tmp_path, capsys):
    path = write_xlsx(tmp_path / "台账.xlsx", _many_bad_households(120))

    assert bot.main(["import", str(path), "--db", db_url, "--dry-run"]) == 1

    err = capsys.readouterr().err.splitlines()
    assert len(err) == BadRows.LISTED + 2
    assert err[0] == "户:7: 未知乡镇「东光乡」" and err[49] == "户:56: 未知乡镇「东光乡」"
    assert err[-2:] == ["……另有 70 处问题未列出", "共 120 处问题，未导入任何数据。"]
