"""Import a ledger (.xlsx workbook or folder of CSV files) into the database.

Three steps, so that a bad file never writes anything:

1. :func:`read_ledger` reads the file into raw rows per sheet (no database needed);
2. :func:`plan_import` checks every row against the file and the ledger and either
   raises :class:`LedgerFileError` with *all* problems (``sheet:row: reason``) or returns
   a :class:`Plan` of what to create and update;
3. :func:`apply_plan` writes the plan in bulk, inside the caller's one transaction.

Rules a county should know:
- Rows are matched by 户编号 (households) and 编号 (issues): existing rows are updated,
  new ones created, rows missing from the file are left alone (import never deletes).
- Places come from the 村 sheet: a household or issue must name a village that the 村
  sheet lists or that the ledger already has ("unknown village" otherwise), so that a typo
  in a village name cannot create a new village.
- An issue names its household by 户编号 when that column is filled, else by 户主姓名
  within its village; a name shared by two households there is an error.
- Changes to issues are recorded as IssueEvent rows (source "import", actor "import"),
  one change per issue per import; a new issue gets one "created" event.
- Names are normalised (see services.ledger_headers) and have one spelling: 東台村 in a
  file that also says 东台村, or in a ledger that says 东台村 (or held 东台村 with a
  zero-width space from before names were checked), is a bad row, not a second village;
  otherwise the bot would offer two buttons that look the same.
- A file is refused before it is read in full when it is larger than the limits of
  :class:`ImportLimits` (config.yaml ``import``), and at most :attr:`BadRows.LISTED`
  problems are listed, the rest counted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import posixpath
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import load_workbook
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Household, Issue, Township, Village
from db.session import Database
from db.types import utcnow
from services.errors import Conflict, InvalidInput
from services.issue_events import CREATED, event_rows, new_change_id, write_events
from services.ledger_headers import (
    CATEGORY_ALIASES,
    HOUSEHOLD_STATUS_ALIASES,
    HOUSEHOLDS,
    ISSUE_STATUS_ALIASES,
    ISSUES,
    KINDS,
    SHEETS,
    VILLAGES,
    SheetSpec,
    character_problem,
    clean_name,
    clean_text,
    column_lookup,
    header_key,
    lookup_word,
    name_key,
    non_code,
    non_text,
    parse_date,
    parse_flag,
    parse_size,
    sheet_key,
    shown,
    simplified,
    visible,
)
from services.progress import Progress
from vocab import CATEGORIES, EventSource, HouseholdStatus, IssueStatus

Place = tuple[str, str]  # (乡镇, 村)

IMPORT_ACTOR = "import"
HEADER_SEARCH_ROWS = 10  # real ledgers put a title line or two above the header
PROGRESS_EVERY = 1000
# Column widths of the schema: PostgreSQL refuses longer values, so we refuse them first.
MAX_LENGTH = {
    "township": 64, "village": 64, "household_code": 64, "issue_code": 32, "head": 64,
    "cause": 128, "helper": 64, "unit": 64,
}
CHANGED_MEANWHILE = "导入期间台账被其他人修改了，未导入任何数据，请重新导入。"
ISSUE_FIELDS = (
    "village", "household", "category", "description", "status", "deadline",
    "responsible_unit", "supervised",
)


class LedgerFileError(InvalidInput):
    """The file cannot be imported. ``errors`` lists the first problems as
    ``sheet:row: reason`` (at most :attr:`BadRows.LISTED`); ``total`` counts them all."""

    SHOWN = 10  # in the message itself, which a chat may show

    def __init__(self, errors: list[str], total: int | None = None) -> None:
        self.errors = list(errors)
        self.total = max(total or 0, len(self.errors))
        lines = [f"台账文件有 {self.total} 处问题，未导入任何数据："]
        lines += self.errors[: self.SHOWN]
        if self.total > self.SHOWN:
            lines.append(f"……另有 {self.total - self.SHOWN} 处")
        super().__init__("\n".join(lines))

    @property
    def unlisted(self) -> int:
        """Problems counted but not in ``errors``."""
        return self.total - len(self.errors)


class BadRows:
    """The problems of one file, one line per bad row (``sheet:row: reason；reason``): the
    first :attr:`LISTED` lines word for word, the rest only counted, so that a file of a
    million bad rows neither prints nor holds a million lines."""

    LISTED = 50

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0
        self._last_row: str | None = None

    def append(self, line: str) -> None:
        """A problem of its own line (the file, a sheet, a header)."""
        self._last_row = None
        self._add(line)

    def add(self, where: str, reason: str) -> None:
        """A problem of the row ``where`` (``sheet:row``); a row's problems come one after
        another while it is checked, and share its line."""
        if where == self._last_row:
            if self.count <= self.LISTED:
                self.lines[-1] += f"；{reason}"
            return
        self._last_row = where
        self._add(f"{where}: {reason}")

    def _add(self, line: str) -> None:
        self.count += 1
        if len(self.lines) < self.LISTED:
            self.lines.append(line)

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        if self.count:
            raise LedgerFileError(self.lines, self.count)


# ---------------------------------------------------------------- limits


@dataclass(frozen=True)
class ImportLimits:
    """How big a file an import reads (config.yaml ``import``). A runaway file (a million
    rows, a zip that unpacks to gigabytes) is refused before it takes the server's memory
    or minutes of its time; a large county's ledger (30,000 households, 10,000 issues, a
    few MB) is far inside the defaults."""

    max_rows: int = 200_000  # per sheet or CSV file
    max_file_mb: float = 20
    max_unpacked_mb: float = 200

    def too_big(self, name: str, size: int) -> str | None:
        if size <= self.max_file_mb * _MB:
            return None
        return (f"{name}: 文件大小 {size / _MB:.1f} MB，超过导入上限 {self.max_file_mb:g} MB；"
                f"{_SPLIT_OR_RAISE}import.max_file_mb")

    def unpacks_too_big(self, name: str, size: int) -> str | None:
        if size <= self.max_unpacked_mb * _MB:
            return None
        return (f"{name}: 解压后大小 {size / _MB:.0f} MB，超过导入上限 {self.max_unpacked_mb:g} MB"
                f"（.xlsx 是压缩文件）；{_SPLIT_OR_RAISE}import.max_unpacked_mb")

    def too_many_rows(self, sheet: str) -> str:
        return f"{sheet}: 行数超过导入上限 {self.max_rows:,} 行；{_SPLIT_OR_RAISE}import.max_rows"


_MB = 1024 * 1024
_SPLIT_OR_RAISE = "请拆成几个文件分批导入，或在 config.yaml 中调大 "
# A worksheet row's start tag, also with a namespace prefix (<x:row r="1">), not <rowBreaks>.
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_TAG_TAIL = 64  # a row tag is decided within this many bytes of its "<"


# ---------------------------------------------------------------- reading the file


@dataclass
class SheetRows:
    """The data rows of one sheet: spreadsheet row number and field -> raw cell value."""

    kind: str
    name: str  # sheet or file name, as errors show it
    fields: frozenset[str]
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)


@dataclass
class LedgerRows:
    """A whole ledger file, read but not yet checked."""

    source: str
    sheets: dict[str, SheetRows]


def read_ledger(
    path: Path, progress: Progress | None = None, limits: ImportLimits | None = None
) -> LedgerRows:
    """Read an .xlsx workbook or a folder of CSV files; LedgerFileError if unreadable or
    beyond ``limits``."""
    path = Path(path)
    limits = limits or ImportLimits()
    if path.is_dir():
        return _read_csv_folder(path, progress, limits)
    if not path.exists():
        raise LedgerFileError([f"{path}: 文件不存在"])
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise LedgerFileError([f"{path.name}: 不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx"])
    if suffix == ".csv":
        raise LedgerFileError(
            [f"{path.name}: CSV 台账请放在一个文件夹里（villages.csv、households.csv、issues.csv），导入该文件夹"]
        )
    return _read_workbook(path, progress, limits)


def _read_workbook(path: Path, progress: Progress | None, limits: ImportLimits) -> LedgerRows:
    unreadable = f"{path.name}: 无法读取，不是有效的 Excel 工作簿（.xlsx）"
    _refuse(limits.too_big(path.name, path.stat().st_size))
    if not zipfile.is_zipfile(path):
        raise LedgerFileError([unreadable])
    _refuse(_zip_problem(path, limits, unreadable, progress))
    try:
        # read-only: rows stream from the zip one at a time, memory follows the row cap
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise LedgerFileError([unreadable]) from exc
    try:
        errors = BadRows()
        found = _find_sheets(workbook.sheetnames, path.name, errors)
        errors.raise_if_any()
        sheets: dict[str, SheetRows] = {}
        for kind in KINDS:
            worksheet = workbook[found[kind]]
            worksheet.reset_dimensions()  # some writers record a wrong used range
            try:
                sheets[kind] = _sheet_rows(
                    SHEETS[kind], found[kind], worksheet.iter_rows(values_only=True), errors,
                    progress, limits,
                )
            except Exception as exc:  # damaged XML inside a readable zip
                raise LedgerFileError([f"{path.name}: 工作表「{found[kind]}」已损坏，无法读取"]) from exc
        errors.raise_if_any()
        return LedgerRows(path.name, sheets)
    finally:
        workbook.close()


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise LedgerFileError([problem])


def _zip_problem(path: Path, limits: ImportLimits, unreadable: str, progress: Progress | None = None) -> str | None:
    """Why the workbook is too big, judged before openpyxl parses anything: openpyxl
    reads a sheet without a recorded size to its end just to open the workbook (8 s for a
    million rows), so the sizes and row counts are taken from the zip itself."""
    try:
        with zipfile.ZipFile(path) as archive:
            # zipfile never yields more than a member declares (it stops there and fails the
            # CRC), so the declared sizes bound the work, whatever a crafted zip claims
            unpacked = sum(member.file_size for member in archive.infolist())
            return limits.unpacks_too_big(path.name, unpacked) or _too_many_rows(archive, path.name, limits, progress)
    except Exception:  # a damaged central directory: zipfile raises several kinds
        return unreadable


def _too_many_rows(archive: zipfile.ZipFile, file_name: str, limits: ImportLimits,
                   progress: Progress | None = None) -> str | None:
    """Count the ledger sheets' row tags on the raw XML (fast, little memory). Reading stops
    at the cap as well; this only makes a huge sheet's refusal quick (and gives the progress
    line its total)."""
    try:
        members = _sheet_members(archive)
    except Exception:  # a damaged workbook part: openpyxl says so below in its own words
        return None
    found = _find_sheets(list(members), file_name, BadRows())  # a missing sheet is reported below
    for title in found.values():
        try:
            rows = _count_row_tags(archive, members[title], limits.max_rows)
        except Exception:  # a damaged sheet: reported when it is read
            continue
        if rows > limits.max_rows:
            return limits.too_many_rows(title)
        if progress is not None:
            progress.expect(rows)
    return None


_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> zip member of its XML, found the way openpyxl finds it: the package's
    relationships name the workbook part, whose own relationships name each sheet's part."""
    workbook_part = next(
        target for rel_type, _, target in _relationships(archive, "_rels/.rels", "")
        if rel_type.endswith("/officeDocument")
    )
    folder, name = posixpath.split(workbook_part)
    rels = _relationships(archive, posixpath.join(folder, "_rels", name + ".rels"), folder)
    targets = {rel_id: target for _, rel_id, target in rels}
    members: dict[str, str] = {}
    for element in ElementTree.fromstring(archive.read(workbook_part)).iter():
        if element.tag.endswith("}sheet"):
            rel_id = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            if rel_id in targets:
                members[element.get("name", "")] = targets[rel_id]
    return members


def _relationships(archive: zipfile.ZipFile, member: str, folder: str) -> list[tuple[str, str, str]]:
    """(type, id, zip member) of each relationship in a .rels part, targets read from ``folder``."""
    found = []
    for element in ElementTree.fromstring(archive.read(member)).iter(_RELATIONSHIPS):
        target = element.get("Target", "")
        target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found.append((element.get("Type", ""), element.get("Id", ""), target))
    return found


def _count_row_tags(archive: zipfile.ZipFile, member: str, stop_after: int) -> int:
    """Row start tags in one member, read in 1 MB pieces; stops once past ``stop_after``."""
    count, carry = 0, b""
    with archive.open(member) as source:
        while chunk := source.read(1 << 20):
            data = carry + chunk
            cut = data.rfind(b"<")  # a tag cut in two is counted with the next piece
            if cut < 0 or len(data) - cut > _TAG_TAIL:
                cut = len(data)
            count += len(_ROW_TAG.findall(data, 0, cut))
            carry = data[cut:]
            if count > stop_after:
                return count
    return count + len(_ROW_TAG.findall(carry))


def _find_sheets(names: list[str], file_name: str, errors: BadRows) -> dict[str, str]:
    found: dict[str, str] = {}
    for kind in KINDS:
        spec = SHEETS[kind]
        wanted = {sheet_key(n) for n in spec.sheet_names}
        matches = [n for n in names if sheet_key(n) in wanted]
        if not matches:
            errors.append(f"{file_name}: 缺少工作表「{spec.label}」（或 {kind}）")
        elif len(matches) > 1:
            errors.append(f"{file_name}: 有多个{spec.label}表（{'、'.join(matches)}），只能保留一个")
        else:
            found[kind] = matches[0]
    return found


def _read_csv_folder(folder: Path, progress: Progress | None, limits: ImportLimits) -> LedgerRows:
    errors = BadRows()
    present = {sheet_key(p.name): p for p in folder.iterdir() if p.is_file()}
    paths: dict[str, Path] = {}
    for kind in KINDS:
        spec = SHEETS[kind]
        path = next((present[sheet_key(n)] for n in spec.file_names if sheet_key(n) in present), None)
        if path is None:
            errors.append(f"{folder.name}: 缺少文件 {spec.file_names[0]}")
        else:
            paths[kind] = path
    errors.raise_if_any()
    _refuse(limits.too_big(f"{folder.name}（三个 CSV 文件合计）", sum(p.stat().st_size for p in paths.values())))
    sheets: dict[str, SheetRows] = {}
    for kind, path in paths.items():
        text = _decode(path.read_bytes())
        if text is None:
            errors.append(f"{path.name}: 无法识别的文本编码（请存为 UTF-8 或 GBK 的 CSV）")
            continue
        if progress is not None:
            progress.expect(text.count("\n"))
        records = csv.reader(io.StringIO(text, newline=""))  # lazily: reading stops at the row cap
        try:
            sheets[kind] = _sheet_rows(SHEETS[kind], path.name, records, errors, progress, limits)
        except csv.Error as exc:
            errors.append(f"{path.name}: 不是有效的 CSV 文件（{exc}）")
    errors.raise_if_any()
    return LedgerRows(folder.name, sheets)


def _decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK, what Excel in
    China saves); a NUL byte means it is no text file at all."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _sheet_rows(
    spec: SheetSpec,
    name: str,
    rows: Iterator[tuple | list],
    errors: BadRows,
    progress: Progress | None,
    limits: ImportLimits,
) -> SheetRows:
    """Find the header row, map its columns, and collect the non-empty data rows, stopping
    past the row cap so that memory stays bounded whatever the file holds."""
    lookup = column_lookup(spec)
    header_row, columns = 0, {}
    for number, row in enumerate(rows, start=1):
        keys = [header_key(cell) for cell in row]
        if sum(key in lookup for key in keys) >= min(2, len(spec.columns)):
            header_row = number
            columns = _map_columns(spec, name, number, keys, lookup, errors)
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if not header_row:
        errors.append(f"{name}:1: 找不到表头（应为 {','.join(spec.headers)}）")
        return SheetRows(spec.kind, name, frozenset())
    sheet = SheetRows(spec.kind, name, frozenset(columns.values()))
    pending = 0
    for number, row in enumerate(rows, start=header_row + 1):
        if number > limits.max_rows:
            errors.append(limits.too_many_rows(name))
            break
        values = {fld: row[index] if index < len(row) else None for index, fld in columns.items()}
        if any(not _blank(value) for value in values.values()):
            sheet.rows.append((number, values))
        pending += 1
        if progress is not None and pending >= PROGRESS_EVERY:
            progress.advance(pending)
            pending = 0
    if progress is not None and pending:
        progress.advance(pending)
    return sheet


def _map_columns(
    spec: SheetSpec, name: str, row: int, keys: list[str], lookup: dict, errors: BadRows
) -> dict[int, str]:
    columns: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, key in enumerate(keys):
        column = lookup.get(key)
        if column is None:
            continue  # 序号, 备注 and columns of the office's own are not ours to read
        if column.field in seen:
            errors.append(
                f"{name}:{row}: 列「{column.header}」出现两次（第 {seen[column.field] + 1} 列和第 {index + 1} 列）"
            )
            continue
        seen[column.field] = index
        columns[index] = column.field
    for column in spec.columns:
        if column.required and column.field not in seen:
            errors.append(f"{name}:{row}: 缺少列「{column.header}」")
    return columns


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- checking the rows


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class HouseholdRow:
    code: str
    place: Place
    head: str
    size: int
    status: str
    cause: str | None
    helper: str | None


@dataclass(frozen=True)
class IssueRow:
    code: str
    place: Place
    household_code: str | None
    category: str
    description: str
    status: str
    deadline: dt.date | None
    unit: str | None
    supervised: bool | None  # None: the file has no 督办 column, keep what the ledger says


@dataclass
class Existing:
    """The ledger as plain values, loaded in bulk once per import."""

    townships: dict[str, int]
    villages: dict[Place, int]
    place_of_village: dict[int, Place]
    households: dict[str, dict]  # 户编号 -> column values
    household_code_by_id: dict[int, str]
    issues: dict[str, dict]  # 编号 -> column values


@dataclass
class Plan:
    """What an import would do. ``issue_changes`` maps 编号 -> {field: (old, new)}."""

    source: str
    new_townships: list[str]
    new_villages: list[Place]
    new_households: list[HouseholdRow]
    changed_households: list[HouseholdRow]
    new_issues: list[IssueRow]
    changed_issues: list[IssueRow]
    issue_changes: dict[str, dict[str, tuple[str | None, str | None]]]
    versions: dict[str, int]  # 编号 -> version read, for the optimistic update
    counts: dict[str, Counts]


def load_existing(session: Session) -> Existing:
    """Every township, village, household and issue as dicts (a few bulk SELECTs)."""
    townships = dict(session.execute(select(Township.name, Township.id)).all())
    place_of_village: dict[int, Place] = {
        vid: (tname, vname)
        for vid, tname, vname in session.execute(
            select(Village.id, Township.name, Village.name).join(Township)
        )
    }
    villages = {place: vid for vid, place in place_of_village.items()}
    households = {
        row.code: row._asdict()
        for row in session.execute(
            select(Household.id, Household.code, Household.village_id, Household.head_name,
                   Household.size, Household.status, Household.poverty_cause, Household.helper)
        )
    }
    issues = {
        row.code: row._asdict()
        for row in session.execute(
            select(Issue.id, Issue.code, Issue.version, Issue.village_id, Issue.household_id,
                   Issue.category, Issue.description, Issue.status, Issue.deadline,
                   Issue.responsible_unit, Issue.supervised)
        )
    }
    by_id = {row["id"]: code for code, row in households.items()}
    return Existing(townships, villages, place_of_village, households, by_id, issues)


# Scopes a name is unique in: a township in the county, a village in its township, a
# head of household in the village (where two heads may share a name, never a spelling).
_TOWNSHIPS: tuple = ("乡镇",)


def _village_scope(township: str | None) -> tuple | None:
    return None if township is None else ("村", name_key(township))


def _head_scope(place: Place | None) -> tuple | None:
    return None if place is None else ("户主", name_key(place[0]), name_key(place[1]))


class _Spellings:
    """One spelling per name within its scope, in the file and against the ledger.

    Two spellings that normalise to one name (東台村 beside 东台村, or a 东台村 that the
    ledger holds with a zero-width space from before names were checked) would show as two
    entries that look the same, and a tap on the wrong button would write to the wrong record.
    A spelling the ledger already holds is used as it is, so a record stored before names
    were normalised can still be named; a new name is stored normalised.
    """

    def __init__(self) -> None:
        self.ledger: dict[tuple, set[str]] = defaultdict(set)
        self.file: dict[tuple, tuple[str, str]] = {}  # scope and key -> first spelling, where

    def add_ledger(self, scope: tuple, name: str) -> None:
        self.ledger[(*scope, name_key(name))].add(name)

    def resolve(self, scope: tuple, spelling: str, where: str) -> tuple[str, str | None]:
        """The name to use for ``spelling`` (the ledger's record when it holds this very
        spelling, else the normal form) and what else it looks the same as, in Chinese
        (None when it is the only spelling)."""
        normal = name_key(spelling)
        key = (*scope, normal)
        first, first_where = self.file.setdefault(key, (spelling, where))
        if first != spelling:
            return normal, f"与 {first_where} 的「{first}」"
        stored = self.ledger.get(key, ())
        if spelling in stored:
            return spelling, None
        if stored:
            return normal, "与台账中已有的「" + "」「".join(sorted(map(visible, stored))) + "」"
        return normal, None


def _ledger_spellings(existing: Existing, relisted: set[str]) -> _Spellings:
    """The ledger's names by scope; heads of households the file lists again are left out,
    since the file's row says how that head is spelled from now on."""
    spellings = _Spellings()
    for township in existing.townships:
        spellings.add_ledger(_TOWNSHIPS, township)
    for township, village in existing.villages:
        spellings.add_ledger(_village_scope(township), village)
    for code, row in existing.households.items():
        if code not in relisted:
            spellings.add_ledger(_head_scope(existing.place_of_village[row["village_id"]]), row["head_name"])
    return spellings


class _RowCheck:
    """Checks cells and collects the errors, each as ``sheet:row: reason``.

    It also remembers the places and heads that a reported bad cell left unclear, so that
    the rows naming them are not reported again for the same mistake: one bad 村 row would
    otherwise bring an 未知村 line for each of its households.
    """

    def __init__(self, errors: BadRows, spellings: _Spellings) -> None:
        self.errors = errors
        self.spellings = spellings
        self.unclear_places: set[tuple[str | None, str | None]] = set()  # (乡镇, None) or (None, 村)
        self.unclear_heads: set[tuple[Place, str | None]] = set()  # (place, head key or None)
        self.unclear_codes: set[str] = set()  # 户编号 of reported household rows

    def place_unclear(self, township: str | None, village: str | None) -> bool:
        return (township, None) in self.unclear_places or (None, village) in self.unclear_places

    def household_unclear(self, code: str | None, place: Place | None, head: str | None) -> None:
        """A household row whose 户编号, place or head was reported."""
        if code is not None:
            self.unclear_codes.add(code)
        if place is not None:
            self.unclear_heads.add((place, None if head is None else name_key(head)))

    def head_unclear(self, place: Place, head: str) -> bool:
        return (place, name_key(head)) in self.unclear_heads or (place, None) in self.unclear_heads

    def fail(self, sheet: SheetRows, row: int, reason: str) -> None:
        self.errors.add(f"{sheet.name}:{row}", reason)

    def _cell(self, sheet, row, values, fld, label, required, wrong_type=non_text) -> object | None:
        """The cell if filled and of the right type; None otherwise (an error if it was
        required, or filled with a value of the wrong type)."""
        raw = values.get(fld)
        if _blank(raw):
            if required:
                self.fail(sheet, row, f"缺少{label}")
            return None
        wrong = wrong_type(raw)
        if wrong is not None:
            self.fail(sheet, row, f"{label}是{wrong}，应填文字")
            return None
        return raw

    def _fits(self, sheet, row, value: str, label: str, limit_key: str | None) -> bool:
        if limit_key is None or len(value) <= MAX_LENGTH[limit_key]:
            return True
        self.fail(sheet, row, f"{label}「{value[:20]}…」太长（最多 {MAX_LENGTH[limit_key]} 字）")
        return False

    def _clean(self, sheet, row, label: str, text: str | None, required: bool, **rules) -> str | None:
        """``text`` if it is filled and every character is allowed; else None (and an error)."""
        if not text:  # e.g. a lone protecting apostrophe
            if required:
                self.fail(sheet, row, f"缺少{label}")
            return None
        problem = character_problem(text, **rules)
        if problem is not None:
            self.fail(sheet, row, f"{label}「{visible(text)}」{problem}")
            return None
        return text

    def name(self, sheet, row, values, fld, label, limit_key, scope, required=True) -> str | None:
        """A place or person name: text, nothing hidden, normalised, and the only spelling
        of that name within ``scope`` (None: the scope is unknown, an earlier cell is bad)."""
        raw = self._cell(sheet, row, values, fld, label, required)
        spelling = self._clean(sheet, row, label, clean_name(raw), required and raw is not None)
        if spelling is None:
            return None
        if not self._fits(sheet, row, simplified(spelling), label, limit_key):
            return None
        if scope is None:
            return simplified(spelling)
        name, conflict = self.spellings.resolve(scope, spelling, f"{sheet.name}:{row}")
        if conflict is not None:
            self.fail(sheet, row, f"{label}「{spelling}」{conflict}写法不同，规范化后是同一个名称「{name}」；"
                                  f"请统一写法")
            return None
        return name

    def code(self, sheet, row, values, fld, label, limit_key, required=True) -> str | None:
        """户编号 or 编号: text or a whole number, nothing hidden."""
        raw = self._cell(sheet, row, values, fld, label, required, wrong_type=non_code)
        code = self._clean(sheet, row, label, clean_name(raw), required and raw is not None)
        return code if code is not None and self._fits(sheet, row, code, label, limit_key) else None

    def text(self, sheet, row, values, fld, label, limit_key=None, required=False, person=False) -> str | None:
        """Free text, kept as written; a person's name (帮扶责任人) may not carry markup."""
        raw = self._cell(sheet, row, values, fld, label, required)
        value = self._clean(sheet, row, label, clean_text(raw), required and raw is not None,
                            free_text=True, markup=person)
        return value if value is not None and self._fits(sheet, row, value, label, limit_key) else None

    def word(self, sheet, row, values, fld, label, aliases, allowed: Iterable[str]) -> str | None:
        raw = values.get(fld)
        if _blank(raw):
            self.fail(sheet, row, f"缺少{label}")
            return None
        try:
            return lookup_word(raw, aliases)
        except ValueError:
            self.fail(sheet, row, f"{label}「{shown(raw)}」不认识（可填 {'、'.join(allowed)}）")
            return None


def plan_import(session: Session, ledger: LedgerRows, existing: Existing | None = None) -> Plan:
    """Check every row; LedgerFileError listing the problems, else the plan of changes."""
    existing = existing or load_existing(session)
    errors = BadRows()
    relisted = {clean_name(values.get("code")) for _, values in ledger.sheets[HOUSEHOLDS].rows}
    check = _RowCheck(errors, _ledger_spellings(existing, relisted))
    places, listed, new_townships, new_villages = _check_villages(
        ledger.sheets[VILLAGES], existing, check
    )
    known_townships = set(existing.townships) | {t for t, _ in places}
    households, listed_households = _check_households(
        ledger.sheets[HOUSEHOLDS], places, known_townships, check
    )
    issues = _check_issues(
        ledger.sheets[ISSUES], places, known_townships, listed_households, existing, check
    )
    errors.raise_if_any()
    plan = _diff(ledger.source, existing, new_townships, new_villages, households, issues)
    listed_townships = {t for t, _ in listed}
    plan.counts["townships"] = Counts(
        created=len(new_townships), unchanged=len(listed_townships - set(new_townships))
    )
    plan.counts["villages"] = Counts(
        created=len(new_villages), unchanged=len(listed - set(new_villages))
    )
    return plan


def _known_place(sheet, row, township, village, places, known_townships, check) -> Place | None:
    if township is None or village is None:
        return None
    if (township not in known_townships or (township, village) not in places) \
            and check.place_unclear(township, village):
        return None  # its row in the 村 sheet is reported
    if township not in known_townships:
        check.fail(sheet, row, f"未知乡镇「{township}」")
        return None
    if (township, village) not in places:
        check.fail(sheet, row, f"未知村「{township}/{village}」（村须列在「村」表里或已在台账中）")
        return None
    return township, village


def _place_names(sheet, row, values, check) -> tuple[str | None, str | None]:
    """A row's 乡镇 and 村, each checked within its scope."""
    township = check.name(sheet, row, values, "township", "乡镇", "township", _TOWNSHIPS)
    village = check.name(sheet, row, values, "village", "村", "village", _village_scope(township))
    return township, village


def _check_villages(sheet: SheetRows, existing: Existing, check: _RowCheck):
    """Places the file lists; new townships and villages in file order."""
    places = set(existing.villages)
    listed: set[Place] = set()
    new_townships: list[str] = []
    new_villages: list[Place] = []
    for row, values in sheet.rows:
        township, village = _place_names(sheet, row, values, check)
        if township is None or village is None:
            if (township, village) != (None, None):
                check.unclear_places.add((township, village))
            continue
        listed.add((township, village))
        if (township, village) in places:
            continue  # already in the ledger, or listed twice (harmless)
        if township not in existing.townships and township not in new_townships:
            new_townships.append(township)
        places.add((township, village))
        new_villages.append((township, village))
    return places, listed, new_townships, new_villages


def _check_households(sheet, places, known_townships, check):
    """Valid household rows by 户编号, and who each listed 户编号 is (for issue rows,
    also when the row has another error, so that one mistake is reported once)."""
    households: dict[str, HouseholdRow] = {}
    listed: dict[str, tuple[Place, str]] = {}
    first_row: dict[str, int] = {}
    statuses = [s.value for s in HouseholdStatus]
    for row, values in sheet.rows:
        code = check.code(sheet, row, values, "code", "户编号", "household_code")
        township, village = _place_names(sheet, row, values, check)
        place = _known_place(sheet, row, township, village, places, known_townships, check)
        head = check.name(sheet, row, values, "head", "户主姓名", "head", _head_scope(place))
        size = _household_size(sheet, row, values, check)
        status = check.word(sheet, row, values, "status", "状态", HOUSEHOLD_STATUS_ALIASES, statuses)
        cause = check.text(sheet, row, values, "cause", "致贫原因", "cause")
        helper = check.text(sheet, row, values, "helper", "帮扶责任人", "helper", person=True)
        if code is not None and code in first_row:
            check.fail(sheet, row, f"户编号「{code}」重复（第 {first_row[code]} 行已有）")
            continue
        if code is not None:
            first_row[code] = row
        if None in (code, place, head):
            check.household_unclear(code, place, head)
        else:
            listed[code] = (place, head)
        if None in (code, place, head, size, status):
            continue
        households[code] = HouseholdRow(code, place, head, size, status, cause, helper)
    return households, listed


def _household_size(sheet, row, values, check) -> int | None:
    raw = values.get("size")
    if _blank(raw):
        check.fail(sheet, row, "缺少家庭人口")
        return None
    try:
        return parse_size(raw)
    except ValueError:
        check.fail(sheet, row, f"家庭人口「{shown(raw)}」不是 1–30 的整数")
        return None


def _household_index(existing: Existing, listed: dict[str, tuple[Place, str]]):
    """户编号 -> (place, head), and (place, name key of the head) -> 户编号s, as the ledger
    will be after import. By key, so that heads spelled 张玉兰 and 張玉蘭 (stored before
    names were normalised) count as two households of one name and need a 户编号."""
    by_code: dict[str, tuple[Place, str]] = {
        code: (existing.place_of_village[row["village_id"]], row["head_name"])
        for code, row in existing.households.items()
    }
    by_code.update(listed)
    by_key: dict[tuple[Place, str], list[str]] = defaultdict(list)
    for code, (place, head) in by_code.items():
        by_key[(place, name_key(head))].append(code)
    return by_code, by_key


def _check_issues(sheet, places, known_townships, listed, existing, check) -> dict[str, IssueRow]:
    by_code, by_key = _household_index(existing, listed)
    issues: dict[str, IssueRow] = {}
    first_row: dict[str, int] = {}
    statuses = [s.value for s in IssueStatus]
    has_flag = "supervised" in sheet.fields
    for row, values in sheet.rows:
        code = check.code(sheet, row, values, "code", "编号", "issue_code")
        township, village = _place_names(sheet, row, values, check)
        place = _known_place(sheet, row, township, village, places, known_townships, check)
        category = check.word(sheet, row, values, "category", "问题类别", CATEGORY_ALIASES, CATEGORIES)
        description = check.text(sheet, row, values, "description", "问题描述", required=True)
        status = check.word(sheet, row, values, "status", "状态", ISSUE_STATUS_ALIASES, statuses)
        unit = check.text(sheet, row, values, "unit", "责任单位", "unit")
        deadline = _deadline(sheet, row, values, check)
        supervised = _supervised(sheet, row, values, check) if has_flag else None
        household_code = None
        household_ok = True
        if place is not None:
            household_code, household_ok = _issue_household(sheet, row, values, place, by_code, by_key, check)
        if code is not None and code in first_row:
            check.fail(sheet, row, f"编号「{code}」重复（第 {first_row[code]} 行已有）")
            continue
        if code is not None:
            first_row[code] = row
        if None in (code, place, category, description, status) or not household_ok:
            continue
        issues[code] = IssueRow(
            code, place, household_code, category, description, status, deadline, unit, supervised
        )
    return issues


def _deadline(sheet, row, values, check) -> dt.date | None:
    raw = values.get("deadline")
    if _blank(raw):
        return None
    try:
        return parse_date(raw)
    except ValueError:
        check.fail(sheet, row, f"整改期限「{shown(raw)}」不是有效日期（如 2026-12-31）")
        return None


def _supervised(sheet, row, values, check) -> bool | None:
    try:
        return parse_flag(values.get("supervised"))
    except ValueError:
        check.fail(sheet, row, f"督办「{shown(values['supervised'])}」应填 是 或 否")
        return None


def _bad_cell(values: dict, fld: str, value: object) -> bool:
    """An optional cell that was filled but did not pass its check (already reported)."""
    return value is None and not _blank(values.get(fld))


def _issue_household(sheet, row, values, place, by_code, by_key, check) -> tuple[str | None, bool]:
    """The issue's household: by 户编号 if given, else by 户主姓名 in the village."""
    code = check.code(sheet, row, values, "household_code", "户编号", "household_code", required=False)
    head = check.name(sheet, row, values, "head", "户主姓名", "head", _head_scope(place), required=False)
    if _bad_cell(values, "household_code", code) or _bad_cell(values, "head", head):
        return None, False
    where = f"{place[0]}/{place[1]}"
    if code is not None:
        if code not in by_code:
            if code not in check.unclear_codes:  # else its row in the 户 sheet is reported
                check.fail(sheet, row, f"户编号「{code}」不在台账中")
            return None, False
        its_place, its_head = by_code[code]
        if its_place != place:
            check.fail(sheet, row, f"户编号「{code}」属于 {its_place[0]}/{its_place[1]}，不在 {where}")
            return None, False
        if head is not None and name_key(head) != name_key(its_head):
            check.fail(sheet, row, f"户编号「{code}」的户主是「{its_head}」，与户主姓名「{head}」不符")
            return None, False
        return code, True
    if head is None:
        return None, True  # an issue of the village as a whole
    codes = by_key.get((place, name_key(head)), [])
    if not codes and check.head_unclear(place, head):
        return None, False  # perhaps the household whose row in the 户 sheet is reported
    if not codes:
        check.fail(sheet, row, f"{where} 没有户主「{head}」")
        return None, False
    if len(codes) > 1:
        listed = "、".join(sorted(codes))
        check.fail(sheet, row, f"户主「{head}」在 {where} 有 {len(codes)} 户（{listed}），请填写户编号")
        return None, False
    return codes[0], True


def _diff(source, existing, new_townships, new_villages, households, issues) -> Plan:
    new_households, changed_households, same_households = [], [], 0
    for code, row in households.items():
        old = existing.households.get(code)
        if old is None:
            new_households.append(row)
        elif _household_values(existing, old) != (row.place, row.head, row.size, row.status, row.cause, row.helper):
            changed_households.append(row)
        else:
            same_households += 1
    new_issues, changed_issues, changes, versions, same_issues = [], [], {}, {}, 0
    for code, row in issues.items():
        old = existing.issues.get(code)
        if old is None:
            new_issues.append(row)
            continue
        if row.supervised is None:  # no 督办 column: keep the ledger's flag
            row = replace(row, supervised=bool(old["supervised"]))
        fields = _issue_changes(existing, old, row)
        if fields:
            changed_issues.append(row)
            changes[code] = fields
            versions[code] = old["version"]
        else:
            same_issues += 1
    counts = {
        "households": Counts(len(new_households), len(changed_households), same_households),
        "issues": Counts(len(new_issues), len(changed_issues), same_issues),
    }
    return Plan(source, new_townships, new_villages, new_households, changed_households,
                new_issues, changed_issues, changes, versions, counts)


def _household_values(existing: Existing, old: dict) -> tuple:
    return (existing.place_of_village[old["village_id"]], old["head_name"], old["size"],
            old["status"], old["poverty_cause"], old["helper"])


def _issue_display(row: IssueRow) -> dict[str, str | None]:
    """An issue's fields as the text its history shows."""
    return {
        "village": f"{row.place[0]}/{row.place[1]}",
        "household": row.household_code,
        "category": row.category,
        "description": row.description,
        "status": row.status,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "responsible_unit": row.unit,
        "supervised": None if row.supervised is None else ("是" if row.supervised else "否"),
    }


def _issue_changes(existing: Existing, old: dict, row: IssueRow) -> dict[str, tuple]:
    before = _issue_display(IssueRow(
        old["code"],
        existing.place_of_village[old["village_id"]],
        existing.household_code_by_id.get(old["household_id"]) if old["household_id"] else None,
        old["category"], old["description"], old["status"], old["deadline"],
        old["responsible_unit"], bool(old["supervised"]),
    ))
    after = _issue_display(row)
    return {f: (before[f], after[f]) for f in ISSUE_FIELDS if before[f] != after[f]}


# ---------------------------------------------------------------- writing


def apply_plan(
    session: Session,
    plan: Plan,
    *,
    actor: str = IMPORT_ACTOR,
    source: str = EventSource.IMPORT,
    message_text: str | None = None,
) -> int:
    """Write the plan with bulk statements; returns the number of issue events written."""
    now = utcnow()
    if plan.new_townships:
        session.execute(insert(Township), [{"name": name} for name in plan.new_townships])
    townships = dict(session.execute(select(Township.name, Township.id)).all())
    if plan.new_villages:
        session.execute(
            insert(Village),
            [{"township_id": townships[t], "name": v} for t, v in plan.new_villages],
        )
    villages = {
        (t, v): vid
        for vid, t, v in session.execute(select(Village.id, Township.name, Village.name).join(Township))
    }
    households = _write_households(session, plan, villages)
    return _write_issues(session, plan, villages, households, now, actor, source, message_text)


def _bulk_insert(model):
    """ORM bulk INSERT that sends NULLs as such: otherwise rows with and without a value
    fall into separate small batches, and 10,000 issues take thousands of round trips."""
    return insert(model).execution_options(render_nulls=True)


def _household_params(row: HouseholdRow, villages: dict[Place, int]) -> dict:
    return {
        "code": row.code, "village_id": villages[row.place], "head_name": row.head,
        "size": row.size, "status": row.status, "poverty_cause": row.cause, "helper": row.helper,
    }


def _write_households(session: Session, plan: Plan, villages: dict[Place, int]) -> dict[str, int]:
    """Insert and update households in bulk; returns 户编号 -> id of every household."""
    if plan.new_households:
        session.execute(_bulk_insert(Household), [_household_params(r, villages) for r in plan.new_households])
    ids = dict(session.execute(select(Household.code, Household.id)).all())
    if plan.changed_households:
        session.execute(
            update(Household),
            [{**_household_params(r, villages), "id": ids[r.code]} for r in plan.changed_households],
        )
    return ids


def _issue_params(row: IssueRow, villages, households) -> dict:
    return {
        "village_id": villages[row.place],
        "household_id": households[row.household_code] if row.household_code else None,
        "category": row.category,
        "description": row.description,
        "status": row.status,
        "deadline": row.deadline,
        "responsible_unit": row.unit,
    }


def _write_issues(session, plan, villages, households, now, actor, source, message_text) -> int:
    if plan.new_issues:
        session.execute(
            _bulk_insert(Issue),
            [
                {**_issue_params(r, villages, households), "code": r.code,
                 "supervised": bool(r.supervised), "created_at": now, "updated_at": now, "version": 1}
                for r in plan.new_issues
            ],
        )
    if plan.changed_issues:
        _update_issues(session, plan, villages, households, now)
    ids = dict(session.execute(select(Issue.code, Issue.id)).all())
    author = {"actor": actor, "source": str(source), "message_text": message_text}
    events: list[dict] = []
    for row in plan.new_issues:
        events += event_rows(ids[row.code], [(CREATED, None, row.status)], now, change_id=new_change_id(), **author)
    for row in plan.changed_issues:
        changes = [(name, old, new) for name, (old, new) in plan.issue_changes[row.code].items()]
        events += event_rows(ids[row.code], changes, now, change_id=new_change_id(), **author)
    write_events(session, events)
    return len(events)


def _update_issues(session, plan, villages, households, now) -> None:
    """Executemany UPDATE guarded by each row's version, so that a report saved by the bot
    after the plan was made is never silently overwritten."""
    table = Issue.__table__
    statement = (
        update(table)
        .where(table.c.code == bindparam("b_code"), table.c.version == bindparam("b_version"))
        .values(version=table.c.version + 1)
    )
    params = [
        {**_issue_params(row, villages, households), "supervised": bool(row.supervised),
         "updated_at": now, "b_code": row.code, "b_version": plan.versions[row.code]}
        for row in plan.changed_issues
    ]
    updated = session.execute(statement, params).rowcount
    if session.get_bind().dialect.supports_sane_multi_rowcount and updated != len(params):
        raise Conflict(CHANGED_MEANWHILE)


# ---------------------------------------------------------------- the use case


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, with dry_run, would do)."""

    source: str
    dry_run: bool
    counts: dict[str, Counts]
    events: int

    def lines(self) -> list[str]:
        """Chinese summary, one line per kind."""
        head = f"试运行（未写入）：{self.source}" if self.dry_run else f"已导入：{self.source}"
        labels = {"townships": "乡镇", "villages": "村", "households": "户", "issues": "问题"}
        lines = [head]
        for kind, label in labels.items():
            c = self.counts[kind]
            if kind in ("townships", "villages"):
                lines.append(f"{label}：新增 {c.created}，不变 {c.unchanged}")
            else:
                lines.append(f"{label}：新增 {c.created}，更新 {c.updated}，不变 {c.unchanged}")
        return lines


def import_ledger(
    database: Database,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    limits: ImportLimits | None = None,
) -> ImportResult:
    """Import a workbook or CSV folder in one transaction; LedgerFileError lists the bad rows."""
    ledger = read_ledger(Path(path), progress, limits)  # before the transaction: no lock while parsing
    try:
        with database.transaction() as session:
            existing = load_existing(session)
            plan = plan_import(session, ledger, existing)
            events = 0
            if not dry_run:
                events = apply_plan(session, plan, message_text=f"导入 {ledger.source}")
    except IntegrityError as exc:  # someone added the same 户编号/编号 meanwhile
        raise Conflict(CHANGED_MEANWHILE) from exc
    return ImportResult(ledger.source, dry_run, plan.counts, events)
