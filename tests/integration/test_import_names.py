"""Names in an imported ledger: normalised, nothing hidden, one spelling per name.

Testers imported 东台村 with a zero-width space, with bidi controls, as <b>东台</b>村 and
as 東台村 beside 东台村, and got villages and heads that look the same on a button, so a
tap wrote to the wrong record. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import bot
from db.models import Household, Township, Village
from tests.support.ledger_files import (
    HOUSEHOLD_HEADER,
    ISSUE_HEADER,
    VILLAGE_HEADER,
    ledger_snapshot,
    row_counts,
    sample_sheets,
    write_csv_folder,
    write_xlsx,
)
from services.ledger_export import export_ledger
from services.ledger_import import Counts, LedgerFileError, import_ledger

TZ = ZoneInfo("Asia/Shanghai")


def _refused(database, path) -> list[str]:
    """The error lines of an import that must be refused, after checking it wrote nothing."""
    before = row_counts(database)
    with pytest.raises(LedgerFileError) as caught:
        import_ledger(database, path)
    assert row_counts(database) == before
    return caught.value.errors


def _villages(database) -> set[tuple[str, str]]:
    return ledger_snapshot(database)["villages"]


# ---------------------------------------------------------------- characters a reader cannot see


HIDDEN = {
    # case: (the village as written in 户 row 3, what the reason must say)
    "zero-width space": ("东台\u200b村", "零宽"),
    "zero-width joiner": ("东\u200d台村", "零宽"),
    "byte order mark": ("\ufeff东台村", "零宽"),
    "right-to-left override": ("东台\u202e村", "文字方向"),
    "isolate": ("\u2066东台村\u2069", "文字方向"),
    "Hangul filler": ("东台村\u3164", "不可见"),
    "variation selector": ("东台\ufe00村", "不可见"),
    "soft hyphen": ("东\u00ad台村", "不可见"),
}


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_a_name_with_a_hidden_character_is_a_bad_row(database, tmp_path, case):
    village, reason = HIDDEN[case]
    sheets = sample_sheets()
    sheets["户"][2][2] = village  # 刘在龙, 东光镇/东台村

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert len(errors) == 1, errors
    assert errors[0].startswith("户:3: 村「") and reason in errors[0]
    hidden = unicodedata.normalize("NFKC", next(ch for ch in village if ch not in "东台村"))
    assert f"[U+{ord(hidden):04X}]" in errors[0]  # shown where it is, so it can be deleted


def test_a_control_character_is_a_bad_row(database, tmp_path):
    """openpyxl will not write one into a workbook, but a CSV file carries it."""
    sheets = sample_sheets()
    sheets["户"][2][3] = "刘在\x07龙"

    errors = _refused(database, write_csv_folder(tmp_path / "csv", sheets))

    assert errors == ["households.csv:3: 户主姓名「刘在[U+0007]龙」含有控制字符 U+0007"]


@pytest.mark.parametrize("field, column", [("户主姓名", 3), ("帮扶责任人", 7), ("户编号", 0)])
def test_hidden_characters_are_refused_in_heads_helpers_and_codes_too(database, tmp_path, field, column):
    sheets = sample_sheets()
    sheets["户"][4][column] = "\u200b" + str(sheets["户"][4][column])  # 222424-0007, linked to no issue

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert errors == [f"户:5: {field}「[U+200B]{sheets['户'][4][column][1:]}」含有零宽或不可见字符 U+200B"]


def test_a_description_keeps_its_line_breaks_and_emoji_but_not_a_bidi_control(database, tmp_path):
    sheets = sample_sheets()
    sheets["问题"][1][5] = "管道冻裂\n待修 ✔️"
    sheets["问题"][2][5] = "已完成\u202e修整未"
    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))
    assert [e.split(" ")[0] for e in errors] == ["问题:3:"] and "文字方向" in errors[0]

    sheets["问题"][2][5] = "自来水管道冻裂"
    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sheets))
    assert ("ZG-0001", "管道冻裂\n待修 ✔️") in {(i[0], i[5]) for i in ledger_snapshot(database)["issues"]}


@pytest.mark.parametrize("village", ["<b>东台</b>村", "东台村<br>", "东台&nbsp;村", "东台＜村＞"])
def test_a_name_with_markup_is_a_bad_row(database, tmp_path, village):
    sheets = sample_sheets()
    sheets["户"][2][2] = village

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert len(errors) == 1 and errors[0].startswith("户:3: 村「") and "含有标记" in errors[0]


def test_markup_in_the_village_list_is_named_there(database, tmp_path):
    sheets = sample_sheets()
    sheets["村"][1][1] = "<b>东台</b>村"

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert errors[0] == "村:2: 村「<b>东台</b>村」含有标记「<b>」（如 HTML 标签），请只填名称本身"


# ---------------------------------------------------------------- one spelling per name


def test_traditional_twin_in_the_file_is_a_bad_row(database, tmp_path):
    sheets = sample_sheets()
    sheets["户"][2][2] = "東台村"  # the 村 sheet says 东台村

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert errors == ["户:3: 村「東台村」与 村:2 的「东台村」写法不同，规范化后是同一个名称「东台村」；请统一写法"]


def test_traditional_twin_of_a_head_in_one_village_is_a_bad_row(database, tmp_path):
    """Two heads may share a name (222424-0006 and -0007 are both 张玉兰), never a spelling."""
    sheets = sample_sheets()
    sheets["户"][4][3] = "張玉蘭"

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert errors == ["户:5: 户主姓名「張玉蘭」与 户:4 的「张玉兰」写法不同，规范化后是同一个名称「张玉兰」；请统一写法"]


def test_traditional_twin_of_a_township_in_the_file_is_a_bad_row(database, tmp_path):
    sheets = sample_sheets()
    sheets["问题"][2][1] = "東光鎮"

    errors = _refused(database, write_xlsx(tmp_path / "台账.xlsx", sheets))

    assert errors == ["问题:3: 乡镇「東光鎮」与 村:2 的「东光镇」写法不同，规范化后是同一个名称「东光镇」；请统一写法"]


def _later_file(villages=(), households=(), issues=()) -> dict:
    """A second file that lists only new rows (so that its names meet the ledger's, not its own)."""
    return {"村": [VILLAGE_HEADER, *villages], "户": [HOUSEHOLD_HEADER, *households], "问题": [ISSUE_HEADER, *issues]}


def test_traditional_twin_against_the_ledger_is_a_bad_row(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    before = ledger_snapshot(database)
    later = _later_file(
        villages=[["东光镇", "東台村"]],  # a second 东台村 to the eye
        households=[["222424-0099", "东光镇", "東台村", "金春花", 2, "未脱贫", "因病", "金明哲"]],
    )

    errors = _refused(database, write_xlsx(tmp_path / "v2.xlsx", later))

    assert errors == [
        "村:2: 村「東台村」与台账中已有的「东台村」写法不同，规范化后是同一个名称「东台村」；请统一写法",
        "户:2: 村「東台村」与台账中已有的「东台村」写法不同，规范化后是同一个名称「东台村」；请统一写法",
    ]
    assert ledger_snapshot(database) == before


def test_traditional_twin_of_a_head_against_the_ledger_is_a_bad_row(database, tmp_path):
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    later = _later_file(
        households=[["222424-0099", "汪清镇", "天平村", "李兆滿", 2, "未脱贫", "因病", "王建国"]],
        issues=[["ZG-0100", "汪清镇", "天平村", "李兆滿", "住房", "屋顶漏雨", "未整改", None, "住建局", None, "否"]],
    )

    errors = _refused(database, write_xlsx(tmp_path / "v2.xlsx", later))

    assert errors == [
        "户:2: 户主姓名「李兆滿」与台账中已有的「李兆满」写法不同，规范化后是同一个名称「李兆满」；请统一写法",
        "问题:2: 户主姓名「李兆滿」与台账中已有的「李兆满」写法不同，规范化后是同一个名称「李兆满」；请统一写法",
    ]


def test_the_ledgers_own_spelling_names_the_same_village(database, tmp_path):
    """No twin, no error: the file names 东台村 exactly as the ledger does."""
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    later = _later_file(households=[["222424-0099", "东光镇", "东台村", "金春花", 2, "未脱贫", "因病", "金明哲"]])

    result = import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", later))

    assert result.counts["households"] == Counts(created=1)
    assert len(_villages(database)) == 6


def test_a_name_stored_with_a_hidden_character_before_the_fix_is_not_twinned(database, tmp_path):
    """A ledger that a careless import filled earlier holds 东台村 with a zero-width space:
    a file must not add a 东台村 that looks the same beside it."""
    sheets = sample_sheets()
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sheets))
    with database.transaction() as session:
        session.execute(update(Village).where(Village.name == "东台村").values(name="东台\u200b村"))
    before = row_counts(database)

    errors = _refused(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert errors[0] == ("村:2: 村「东台村」与台账中已有的「东台[U+200B]村」写法不同，规范化后是同一个名称「东台村」；"
                         "请统一写法")
    assert row_counts(database) == before


def test_markup_stored_before_the_fix_is_seen_through(database, tmp_path):
    sheets = sample_sheets()
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sheets))
    with database.transaction() as session:
        session.execute(update(Township).where(Township.name == "东光镇").values(name="<b>东光</b>镇"))

    errors = _refused(database, write_xlsx(tmp_path / "v2.xlsx", sheets))

    assert errors[0].startswith("村:2: 乡镇「东光镇」与台账中已有的「<b>东光</b>镇」写法不同")


def test_a_head_spelled_before_the_fix_can_be_corrected_by_its_own_row(database, tmp_path):
    """The file's row of a household says how its head is spelled: that is a correction,
    not a second spelling."""
    import_ledger(database, write_xlsx(tmp_path / "v1.xlsx", sample_sheets()))
    with database.transaction() as session:
        session.execute(update(Household).where(Household.code == "222424-0001").values(head_name="李兆滿"))

    result = import_ledger(database, write_xlsx(tmp_path / "v2.xlsx", sample_sheets()))

    assert result.counts["households"] == Counts(updated=1, unchanged=4)
    with database.transaction() as session:
        assert session.scalar(select(Household.head_name).where(Household.code == "222424-0001")) == "李兆满"


def test_a_whole_file_in_traditional_script_is_stored_simplified(database, tmp_path):
    sheets = sample_sheets()
    traditional = str.maketrans({"东": "東", "镇": "鎮", "满": "滿", "张": "張", "兰": "蘭", "龙": "龍", "杨": "楊"})
    for rows in sheets.values():
        for row in rows[1:]:
            row[:] = [cell.translate(traditional) if isinstance(cell, str) else cell for cell in row]

    import_ledger(database, write_xlsx(tmp_path / "繁體.xlsx", sheets))

    snapshot = ledger_snapshot(database)
    assert ("东光镇", "东台村") in snapshot["villages"]
    assert not any("東" in t + v for t, v in snapshot["villages"])
    heads = {h[3] for h in snapshot["households"]}
    assert {"李兆满", "张玉兰", "刘在龙", "杨文成"} <= heads and "張玉蘭" not in heads


def test_full_width_and_traditional_names_round_trip_through_export(database, tmp_path):
    """What the import stores is its own normal form: the export imports back unchanged."""
    sheets = sample_sheets()
    sheets["户"][1][3] = "李兆滿"
    sheets["问题"][1][3] = "李兆滿"
    sheets["户"][1][7] = "王建國"  # a helper is free text: kept as written
    import_ledger(database, write_xlsx(tmp_path / "in.xlsx", sheets))
    out = tmp_path / "out.xlsx"
    export_ledger(database, out, today=dt.date(2026, 12, 1), tz=TZ)

    again = import_ledger(database, out)

    assert again.counts["households"] == Counts(unchanged=5)
    assert again.counts["issues"] == Counts(unchanged=5)


def test_csv_folder_names_are_checked_the_same_way(database, tmp_path):
    sheets = sample_sheets()
    sheets["户"][2][2] = "東台村"
    sheets["户"][3][3] = "张\u200b玉兰"
    folder = write_csv_folder(tmp_path / "csv", sheets)

    errors = _refused(database, folder)

    assert [e.split(" ")[0] for e in errors] == ["households.csv:3:", "households.csv:4:"]


def test_cli_names_the_row_and_the_hidden_character(db_url, tmp_path, capsys):
    sheets = sample_sheets()
    sheets["户"][2][2] = "东台\u202e村"
    sheets["问题"][2][2] = "東台村"
    path = write_xlsx(tmp_path / "台账.xlsx", sheets)

    assert bot.main(["import", str(path), "--db", db_url, "--dry-run"]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("户:3: 村「东台[U+202E]村」含有文字方向控制符 U+202E")
    assert err[1].startswith("问题:3: 村「東台村」与 村:2 的「东台村」写法不同")
    assert err[-1] == "共 2 处问题，未导入任何数据。"
