"""How one ledger cell is read: dates, numbers, names, headers, formula protection."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ledger_headers import (
    HOUSEHOLDS,
    ISSUES,
    SHEETS,
    clean_name,
    clean_text,
    column_lookup,
    header_key,
    parse_date,
    parse_flag,
    parse_size,
    protect_formula,
    unprotect_formula,
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
