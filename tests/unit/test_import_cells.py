"""How one ledger cell is read: dates, numbers, names, headers, formula protection."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import ledger_headers
from services.ledger_headers import (
    HOUSEHOLDS,
    ISSUES,
    SHEETS,
    character_problem,
    clean_name,
    clean_text,
    column_lookup,
    header_key,
    hidden,
    name_key,
    non_code,
    non_text,
    parse_date,
    parse_flag,
    parse_size,
    protect_formula,
    simplified,
    unprotect_formula,
    visible,
)

DEC_31 = dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    "cell",
    [
        DEC_31,
        dt.datetime(2026, 12, 31, 0, 0),
        "2026-12-31",
        "2026/12/31",
        "2026.12.31",
        "2026年12月31日",
        "2026年12月31",
        " 2026 年 12 月 31 日 ",
        "２０２６－１２－３１",  # full-width digits and dash
        "2026-12-31 00:00:00",  # what a CSV written by another program carries
        "20261231",
        46387,  # Excel's serial number for 2026-12-31 in a General-formatted cell
        46387.0,
    ],
)
def test_date_variants_all_read_as_the_same_day(cell):
    assert parse_date(cell) == DEC_31


@pytest.mark.parametrize("cell", ["2026-13-01", "2026-02-30", "下周五", "12/31", "2026-12", "", 3.5, 12])
def test_text_that_is_no_date_is_refused(cell):
    with pytest.raises(ValueError):
        parse_date(cell)


@pytest.mark.parametrize("cell, size", [(4, 4), (4.0, 4), ("4", 4), ("４", 4), (" 4 ", 4), ("4人", 4), ("6口", 6)])
def test_household_size_variants(cell, size):
    assert parse_size(cell) == size


@pytest.mark.parametrize("cell", ["四", "4.5", 4.5, 0, -1, "0", 31, True, "4-5"])
def test_household_size_must_be_a_whole_number_from_1_to_30(cell):
    with pytest.raises(ValueError):
        parse_size(cell)


@pytest.mark.parametrize("cell, flag", [("是", True), ("否", False), (None, False), ("", False), ("Y", True),
                                        ("√", True), ("1", True), (0, False), ("ｙｅｓ", True)])
def test_supervision_flag(cell, flag):
    assert parse_flag(cell) is flag


def test_names_lose_every_space_and_full_width_form():
    assert clean_name(" 李 兆满\u3000") == "李兆满"
    assert clean_name("ＺＧ－０００１") == "ZG-0001"
    assert clean_name(2224240001.0) == "2224240001"  # a code Excel stored as a number
    assert clean_name("  ") is None


def test_free_text_is_trimmed_but_keeps_full_width_punctuation_and_line_breaks():
    assert clean_text("  自来水管道冻裂，饮水不安全\u3000") == "自来水管道冻裂，饮水不安全"
    assert clean_text("管道冻裂\n待修 ") == "管道冻裂\n待修"
    assert clean_text(" \u3000") is None


@pytest.mark.parametrize(
    "header, canonical",
    [("户主", "户主姓名"), ("姓名", "户主姓名"), (" 户 主 姓 名 ", "户主姓名"), ("人口数", "家庭人口"),
     ("家庭人口（人）", "家庭人口"), ("*户编号", "户编号"), ("编号", "户编号")],
)
def test_household_header_variants(header, canonical):
    assert column_lookup(SHEETS[HOUSEHOLDS])[header_key(header)].header == canonical


@pytest.mark.parametrize(
    "header, canonical",
    [("期限", "整改期限"), ("完成时限", "整改期限"), ("整改时限", "整改期限"),
     ("类别", "问题类别"), ("问题类型", "问题类别"), ("编号", "编号"), ("户编号", "户编号"),
     ("是否督办", "督办")],
)
def test_issue_header_variants(header, canonical):
    assert column_lookup(SHEETS[ISSUES])[header_key(header)].header == canonical


@pytest.mark.parametrize("text", ["=SUM(A1:A3)", "+86 138", "-管道冻裂", "@cmd", "'已引号", "\t=1"])
def test_formula_like_text_is_protected(text):
    assert protect_formula(text).startswith("'")
    assert unprotect_formula(protect_formula(text)) == text


def test_ordinary_text_is_written_as_is():
    assert protect_formula("危房改造未完工") == "危房改造未完工"
    assert unprotect_formula("'abc") == "'abc"  # an apostrophe that protects nothing stays


@given(st.text())
def test_protection_round_trips_any_text(text):
    assert unprotect_formula(protect_formula(text)) == text


def test_a_cleaned_name_cleans_to_itself():
    # NFKC turns ´ into space + combining accent; without a second pass, exporting and
    # re-importing the name would count as a change to the household.
    once = clean_name("=A´")
    assert clean_name(once) == once


# ---------------------------------------------------------------- names: normal form, hidden characters


@pytest.mark.parametrize("name, normal", [("東台村", "东台村"), ("張玉蘭", "张玉兰"), ("东台村", "东台村"),
                                          ("薴", "苎")])  # t2s needs two rounds for this one
def test_names_are_simplified(name, normal):
    assert simplified(name) == normal


@given(st.text(alphabet=st.characters(min_codepoint=0x3400, max_codepoint=0x9FFF), min_size=1, max_size=6))
def test_a_normalised_name_is_its_own_key(text):
    # what an import stores must read back as the same name, or re-importing an export
    # would report a change or a second spelling
    name = simplified(clean_name(text))
    assert name_key(name) == name == simplified(name)


def test_a_key_sees_through_what_a_reader_cannot_see():
    assert name_key("东台\u200b村") == name_key("<b>东台</b>村") == name_key("東 台 村") == "东台村"


@pytest.mark.parametrize(
    "text, reason",
    [("东台\u200b村", "零宽"), ("\u202e东台村", "文字方向"), ("东台\x07村", "控制字符"), ("东台\u3164村", "不可见"),
     ("<b>东台</b>村", "标记"), ("东台&amp;村", "标记"), ("东台>村", "标记")],
)
def test_a_name_may_not_hide_anything(text, reason):
    assert reason in character_problem(text)


def test_free_text_keeps_line_breaks_emoji_and_angle_brackets():
    assert character_problem("水压<0.2MPa\n待修 ✔️ 👨\u200d👩", free_text=True, markup=False) is None
    assert "文字方向" in character_problem("待修\u202e", free_text=True, markup=False)
    assert "零宽" in character_problem("待\u200b修", free_text=True, markup=False)


def test_hidden_characters_are_shown_by_code_point():
    assert visible("东台\u200b村") == "东台[U+200B]村"
    assert visible("东台村") == "东台村"


def test_the_quick_scan_covers_every_character_the_checks_flag():
    """character_problem passes text the one-regex scan finds clean: that scan must catch
    every character the slow checks would flag, in the Unicode of this Python."""
    flagged = [cp for cp in [*range(0x20000), *range(0xE0000, 0xE1000)] if hidden(chr(cp))]
    missed = [f"U+{cp:04X}" for cp in flagged if not ledger_headers._SUSPECT.match(chr(cp))]
    assert flagged and missed == []
    assert all(cp < 0x20000 or 0xE0000 <= cp < 0xE1000 for cp in range(0x110000)
               if unicodedata.category(chr(cp)) in ("Cc", "Cf"))


@pytest.mark.parametrize("cell, kind", [(True, "逻辑值 TRUE"), (dt.datetime(2020, 1, 1), "日期或时间 2020-01-01"),
                                        (3.5, "数字 3.5"), (4, "数字 4"), (dt.time(8, 30), "日期或时间 08:30:00")])
def test_a_typed_cell_is_no_text(cell, kind):
    assert non_text(cell) == kind
    assert non_text("李兆满") is None


@pytest.mark.parametrize("cell, fine", [(2224240001, True), (2224240001.0, True), (3.5, False), (True, False),
                                        (10**15, False), (dt.date(2026, 1, 1), False), ("ZG-0001", True)])
def test_a_code_may_be_a_whole_number_excel_kept_exactly(cell, fine):
    assert (non_code(cell) is None) is fine
