"""What a ledger file's sheets and columns are called, and how one cell becomes a value.

Real ledgers name the same column several ways (户主 / 户主姓名 / 姓名, 期限 / 完成时限),
pad names with spaces, type full-width digits and write dates every which way. This
module maps all of that onto the canonical headers and the ledger's vocabularies, so that
import and export share one definition of the file format.

Formula protection: export writes a text cell that starts with = + - @ (or a tab, a
carriage return or an apostrophe) with one extra leading apostrophe, so that no
spreadsheet ever evaluates ledger text as a formula, also after "save as CSV".
:func:`unprotect_formula` strips that one apostrophe again on import, so the round trip
is exact.

Names (乡镇, 村, 户主姓名) are normalised: NFKC, no spaces, then simplified script with the
same OpenCC conversion the parser applies to messages (東台村 is 东台村), because the bot
offers names as buttons and two names that look alike would let a tap write to the wrong
record. For the same reason a name may not carry characters a reader cannot see (control,
zero-width, bidi) or markup, and a text cell may not be a boolean, number or date.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from vocab import CATEGORIES, HouseholdStatus, IssueStatus

VILLAGES, HOUSEHOLDS, ISSUES = "villages", "households", "issues"
KINDS = (VILLAGES, HOUSEHOLDS, ISSUES)


@dataclass(frozen=True)
class Column:
    """One column of a sheet: the field it fills, its canonical header, accepted variants."""

    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class SheetSpec:
    """One kind of sheet: names it may have in a workbook or folder, and its columns."""

    kind: str
    label: str  # the canonical Chinese sheet name
    sheet_names: tuple[str, ...]
    file_names: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


_TOWNSHIP = Column("township", "乡镇", ("乡镇名称", "乡", "镇", "乡镇街道", "所属乡镇", "所在乡镇"))
_VILLAGE = Column("village", "村", ("村名", "村名称", "行政村", "所属村", "所在村", "村庄", "村社区"))

SHEETS: dict[str, SheetSpec] = {
    VILLAGES: SheetSpec(
        VILLAGES, "村", ("村", "villages", "村庄", "行政村", "村表"), ("villages.csv", "村.csv"),
        (_TOWNSHIP, _VILLAGE),
    ),
    HOUSEHOLDS: SheetSpec(
        HOUSEHOLDS, "户", ("户", "households", "贫困户", "农户", "建档立卡户", "户信息"),
        ("households.csv", "户.csv"),
        (
            Column("code", "户编号", ("户码", "户号", "编号", "户编码", "家庭编号", "农户编号")),
            _TOWNSHIP,
            _VILLAGE,
            Column("head", "户主姓名", ("户主", "姓名", "户主名", "户主名称")),
            Column("size", "家庭人口", ("人口", "人口数", "家庭人口数", "家庭人数", "人数", "家庭成员数")),
            Column("status", "状态", ("户状态", "脱贫状态", "贫困户状态", "户类型", "脱贫属性", "贫困户属性")),
            Column("cause", "致贫原因", ("主要致贫原因", "致贫返贫原因", "原因")),
            Column("helper", "帮扶责任人", ("帮扶人", "帮扶干部", "结对帮扶人", "帮扶责任人姓名")),
        ),
    ),
    ISSUES: SheetSpec(
        ISSUES, "问题", ("问题", "issues", "问题整改台账", "问题台账", "整改台账", "问题清单"),
        ("issues.csv", "问题.csv"),
        (
            Column("code", "编号", ("问题编号", "台账编号", "整改编号")),
            _TOWNSHIP,
            _VILLAGE,
            Column("head", "户主姓名", ("户主", "姓名", "户主名")),
            Column("category", "问题类别", ("类别", "问题类型", "问题分类", "类型", "问题领域")),
            Column("description", "问题描述", ("描述", "具体问题", "问题内容", "存在问题", "存在的问题", "问题")),
            Column("status", "状态", ("整改状态", "整改情况", "整改进度", "进度")),
            Column("deadline", "整改期限", ("期限", "完成时限", "整改时限", "完成期限", "整改完成时限", "整改时间")),
            Column("unit", "责任单位", ("责任部门", "牵头单位", "责任单位部门")),
            Column("household_code", "户编号", ("户码", "户号", "户编码"), required=False),
            Column("supervised", "督办", ("是否督办", "督办件"), required=False),
        ),
    ),
}

HOUSEHOLD_STATUS_ALIASES: dict[str, str] = {
    "未脱贫": HouseholdStatus.POOR, "贫困户": HouseholdStatus.POOR, "未脱贫户": HouseholdStatus.POOR,
    "已脱贫": HouseholdStatus.LIFTED, "脱贫": HouseholdStatus.LIFTED, "脱贫户": HouseholdStatus.LIFTED,
    "已脱贫户": HouseholdStatus.LIFTED,
    "监测户": HouseholdStatus.MONITORED, "监测": HouseholdStatus.MONITORED,
    "监测对象": HouseholdStatus.MONITORED, "脱贫不稳定户": HouseholdStatus.MONITORED,
    "边缘易致贫户": HouseholdStatus.MONITORED, "突发严重困难户": HouseholdStatus.MONITORED,
}

ISSUE_STATUS_ALIASES: dict[str, str] = {
    "未整改": IssueStatus.OPEN, "待整改": IssueStatus.OPEN, "未完成": IssueStatus.OPEN,
    "整改中": IssueStatus.IN_PROGRESS, "正在整改": IssueStatus.IN_PROGRESS,
    "已整改": IssueStatus.RECTIFIED, "整改完成": IssueStatus.RECTIFIED, "已完成": IssueStatus.RECTIFIED,
    "已完成整改": IssueStatus.RECTIFIED,
    "已销号": IssueStatus.CLOSED, "销号": IssueStatus.CLOSED,
}

CATEGORY_ALIASES: dict[str, str] = {
    **{c: c for c in CATEGORIES},
    "饮水安全": "饮水", "安全饮水": "饮水",
    "住房安全": "住房", "危房改造": "住房",
    "基本医疗": "医疗", "医疗保障": "医疗", "健康扶贫": "医疗",
    "义务教育": "教育", "教育保障": "教育",
    "产业扶贫": "产业", "产业发展": "产业",
    "就业扶贫": "就业", "转移就业": "就业",
    "兜底": "兜底保障", "社会保障": "兜底保障", "社会兜底": "兜底保障",
    "档案资料": "档案", "信息档案": "档案",
    "村集体经济": "集体经济",
}

_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "督办"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "x"})

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
_SPACES = re.compile(r"\s+")
_PARENTHESISED = re.compile(r"\([^)]*\)")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*0{1,2}:0{2}(?::0{2})?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_INTEGER = re.compile(r"(\d+)\s*(?:人|口)?")
# Characters that change what a name looks like, or hide that two names differ.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible letters and joiners (not format characters, so listed by hand): the Hangul fillers
# matter in a Korean-speaking county, the Braille blank looks like a space.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
# Free text keeps its tabs and line breaks, and the joiners and selectors emoji are made of (✔️).
_FREE_TEXT_ALLOWED = frozenset("\t\n\r\u200c\u200d\ufe0e\ufe0f")
_MARKUP = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+);|[<>]")
# Every character the checks below look at, in one class (controls, the format characters
# Unicode defines, the invisibles and selectors above, markup's < > &): nearly all cells
# have none, and one scan in C passes them (checking each character cost a county import
# seconds). tests/unit/test_import_cells.py proves the class covers what the checks flag.
_SUSPECT = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164"
    "\ufe00-\ufe0f\ufeff\ufff9-\ufffb\uffa0\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff<>&]"
)
# Excel keeps 15 significant digits: a longer code typed as a number is already rounded.
_EXACT_DIGITS = 15
# Excel's serial day numbers for 1954-10-03 .. 2119-01-08: a bare number in a date column.
_SERIAL_RANGE = (20000, 80000)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def protect_formula(text: str) -> str:
    """Prefix text that a spreadsheet could run as a formula with one apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unprotect_formula(text: str) -> str:
    """Undo :func:`protect_formula` (only an apostrophe that protects something)."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def header_key(value: object) -> str:
    """A header cell as a lookup key: NFKC, no spaces, no required-marks or (units)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = _SPACES.sub("", text).strip("*※")
    return _PARENTHESISED.sub("", text)


def sheet_key(value: str) -> str:
    """A sheet or file name as a lookup key (case and spaces do not matter)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value)).lower()


def column_lookup(spec: SheetSpec) -> dict[str, Column]:
    """Every accepted header key of a sheet -> its column."""
    lookup: dict[str, Column] = {}
    for column in spec.columns:
        for name in (column.header, *column.aliases):
            lookup.setdefault(header_key(name), column)
    return lookup


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps every number as a float: 4.0 is 4
    return str(value)


def clean_text(value: object) -> str | None:
    """Free text (描述, 责任单位, 致贫原因): trimmed at both ends; None if empty.

    Neither NFKC nor inner spaces are touched: full-width punctuation and line breaks in
    a description are what the office wrote, and an export must import back unchanged.
    """
    if value is None:
        return None
    text = unprotect_formula(_as_text(value)).strip()
    return text or None


def shown(value: object) -> str:
    """A cell as a message quotes it: TRUE rather than True, a date without its midnight."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return clean_text(value) or ""


def non_text(value: object) -> str | None:
    """What a typed cell holds instead of text ("逻辑值 TRUE", "日期或时间 2020-01-01", "数字 3.5");
    None for text. Excel turns TRUE, a date or 3.5 typed into a cell into these types, and
    their str() (True, 2020-01-01 00:00:00, 3.5) would otherwise import as a name."""
    if isinstance(value, str):
        return None
    if isinstance(value, bool):
        return f"逻辑值 {shown(value)}"
    if isinstance(value, (dt.date, dt.time)):
        return f"日期或时间 {shown(value)}"
    if isinstance(value, dt.timedelta):
        return f"时长 {value}"
    if isinstance(value, (int, float, Decimal)):
        return f"数字 {shown(value)}"
    return f"{type(value).__name__} 类型的值"


def non_code(value: object) -> str | None:
    """Like :func:`non_text` for 户编号/编号, which Excel keeps as a number when the office
    typed digits only: a whole number of up to 15 digits is a code, anything else is not."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        if not float(value).is_integer():
            return f"数字 {shown(value)}"
        if abs(value) >= 10**_EXACT_DIGITS:
            return f"超过 {_EXACT_DIGITS} 位的数字 {shown(value)}（Excel 已把末几位改成了 0，请把该列设为文本后重新填写）"
        return None
    return non_text(value)


def _invisible(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or ch in _INVISIBLE
        or any(low <= code <= high for low, high in _VARIATION_SELECTORS)
    )


def hidden(ch: str) -> bool:
    """A character a reader cannot see, or that changes how the text around it shows."""
    return ch in _BIDI or unicodedata.category(ch) == "Cc" or _invisible(ch)


def character_problem(text: str, *, free_text: bool = False, markup: bool = True) -> str | None:
    """Why ``text`` may not be imported (a control, bidi or invisible character, or markup
    when ``markup``), in Chinese; None when it is fine. Free text keeps tabs, line breaks
    and the joiners of emoji."""
    if _SUSPECT.search(text) is None:
        return None
    for ch in text:
        if ch in _BIDI:
            return f"含有文字方向控制符 U+{ord(ch):04X}（会让显示的文字与实际不同）"
        if free_text and ch in _FREE_TEXT_ALLOWED:
            continue
        if unicodedata.category(ch) == "Cc":
            return f"含有控制字符 U+{ord(ch):04X}"
        if _invisible(ch):
            return f"含有零宽或不可见字符 U+{ord(ch):04X}"
    found = _MARKUP.search(text) if markup else None
    if found is not None:
        return f"含有标记「{found.group()}」（如 HTML 标签），请只填名称本身"
    return None


def visible(text: str) -> str:
    """``text`` with every character a reader cannot see written as [U+200B]."""
    if _SUSPECT.search(text) is None:
        return text
    return "".join(f"[U+{ord(ch):04X}]" if hidden(ch) else ch for ch in text)


@functools.cache
def _t2s():
    """The parser's conversion (nlp/normalise.py), made here on first use: names in the
    ledger must read as the parser reads messages, and no import may load nlp."""
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=65536)  # a ledger repeats its townships and villages thousands of times
def simplified(text: str) -> str:
    """A clean name in simplified script (東台村 -> 东台村). Converted until it stays the
    same (薴 -> 苧 -> 苎), so that a stored name normalises to itself and re-imports unchanged."""
    for _ in range(4):
        converted = _t2s().convert(text)
        if converted == text:
            break
        text = converted
    return text


@functools.lru_cache(maxsize=65536)
def name_key(text: str) -> str:
    """What two names that look the same have in common: NFKC, no spaces, invisible
    characters and markup dropped, simplified script. Also for names stored before imports
    checked them, so that 东台村 with a zero-width space in the ledger is seen for what it is."""
    text = unicodedata.normalize("NFKC", text)
    if _SUSPECT.search(text) is not None:
        text = "".join(ch for ch in _MARKUP.sub("", text) if not hidden(ch))
    return simplified(unicodedata.normalize("NFKC", _SPACES.sub("", text)))


def clean_name(value: object) -> str | None:
    """Names and codes (乡镇, 村, 户主姓名, 户编号): NFKC and no spaces at all; None if empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", unprotect_formula(_as_text(value)))
    # NFKC can turn a character into space + combining mark (´ -> " ́"); dropping the space
    # leaves a sequence that composes differently, so normalise once more: a cleaned name
    # must clean to itself, or export -> import would "update" it.
    text = unicodedata.normalize("NFKC", _SPACES.sub("", text))
    return text or None


def parse_date(value: object) -> dt.date:
    """Excel date, serial number or text (2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1] and float(value).is_integer():
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(value)
    text = clean_name(value) or ""
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def parse_size(value: object) -> int:
    """家庭人口: a whole number 1..30 (4, 4.0, "4", "４", "4人")."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if not float(value).is_integer():
            raise ValueError(value)
        number = int(value)
    else:
        match = _INTEGER.fullmatch(clean_name(value) or "")
        if match is None:
            raise ValueError(value)
        number = int(match.group(1))
    if not 1 <= number <= 30:
        raise ValueError(value)
    return number


def parse_flag(value: object) -> bool:
    """督办: 是/否 (also Y/N, 1/0, √); empty is 否."""
    text = (clean_name(value) or "否").lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(value)


def lookup_word(value: object, aliases: dict[str, str]) -> str:
    """A status or category cell -> the ledger's word; ValueError when unknown."""
    key = clean_name(value) or ""
    if key not in aliases:
        raise ValueError(key)
    return str(aliases[key])
