"""Export the ledger as the workbook an office hands in.

Sheets: 问题整改台账 (issues), 贫困户 (households), 村 (villages), 汇总 (counts per
township and status). Headers are the import's canonical ones, so importing an export
reproduces the ledger. Header row bold and frozen, dates are real Excel dates, open
issues past their deadline are filled light red. Text that a spreadsheet could run as a
formula gets one leading apostrophe (see services.ledger_headers.protect_formula); the
import strips it again.

A scope (township, village or category) limits what is exported. A category scope
exports that category's issues and only the households and villages those issues name:
a bureau's file carries no other household's personal data.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session, aliased

from db.models import Evidence, Household, Issue, Township, Village
from db.session import Database
from services.errors import InvalidInput
from services.evidence import copy_for_inspection, evidence_of
from services.ledger_headers import HOUSEHOLDS, ISSUES, SHEETS, VILLAGES, protect_formula
from services.progress import Progress
from services.scope import Scope, resolve_scope_name
from vocab import IssueStatus

ISSUE_SHEET = "问题整改台账"
HOUSEHOLD_SHEET = "贫困户"
VILLAGE_SHEET = "村"
SUMMARY_SHEET = "汇总"
ISSUE_EXTRA_HEADERS = ("户编号", "督办", "最后更新", "佐证数")
OPEN_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)
STATUS_ORDER = tuple(s.value for s in IssueStatus)

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
OVERDUE_FILL = PatternFill("solid", fgColor="FFC7CE")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADER_FONT = Font(bold=True)
MIN_WIDTH, MAX_WIDTH = 6, 50



@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    path: Path
    scope: str
    issues: int
    households: int
    villages: int
    overdue: int

    def lines(self) -> list[str]:
        """Chinese summary."""
        return [
            f"已导出：{self.path}（范围：{self.scope}）",
            f"问题 {self.issues} 条（逾期 {self.overdue}），户 {self.households}，村 {self.villages}",
        ]


@dataclass
class _Ledger:
    issues: list[dict]
    households: list[dict]
    villages: list[tuple[str, str]]
    townships: list[str]


def export_ledger(
    database: Database,
    out_path: Path,
    *,
    today: dt.date,
    tz: ZoneInfo,
    scope_name: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the (scoped) ledger to ``out_path`` (.xlsx); InvalidInput for a bad scope or path."""
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".xlsx":
        raise InvalidInput(f"导出文件名应以 .xlsx 结尾：{out_path.name}")
    if not out_path.parent.is_dir():
        raise InvalidInput(f"目录不存在：{out_path.parent}")
    with database.transaction() as session:
        scope, label = _scope(session, scope_name)
        ledger = _load(session, scope)
    overdue = _write_workbook(ledger, out_path, today=today, tz=tz, label=label, progress=progress)
    return ExportResult(
        out_path, label, len(ledger.issues), len(ledger.households), len(ledger.villages), overdue
    )


def _scope(session: Session, scope_name: str | None) -> tuple[Scope, str]:
    if not scope_name:
        return Scope.county(), "全县"
    canonical = resolve_scope_name(session, scope_name)
    if not canonical:
        return Scope.county(), "全县"
    return Scope.from_names([canonical]), canonical


def _load(session: Session, scope: Scope) -> _Ledger:
    issues = _issues(session, scope)
    if scope.county_wide or scope.townships or scope.villages:
        households = _households(session, scope.place_clause())
        villages = _villages(session, scope.place_clause())
    else:  # category scope: only the households and places its issues name
        named = (
            select(Issue.household_id)
            .join(Village, Issue.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(scope.issue_clause(), Issue.household_id.is_not(None))
        )
        households = _households(session, Household.id.in_(named))
        places = {(i["township"], i["village"]) for i in issues}
        villages = [p for p in _villages(session, true()) if p in places]
    townships = list(dict.fromkeys(t for t, _ in villages))
    return _Ledger(issues, households, villages, townships)


def _issues(session: Session, scope: Scope) -> list[dict]:
    linked = aliased(Household)
    rows = session.execute(
        select(
            Issue.code, Township.name.label("township"), Village.name.label("village"),
            linked.head_name, linked.code.label("household_code"),
            Issue.category, Issue.description, Issue.status, Issue.deadline,
            Issue.responsible_unit, Issue.supervised, Issue.updated_at,
            select(func.count(Evidence.id)).where(Evidence.issue_id == Issue.id)
            .scalar_subquery().label("evidence"),
        )
        .join(Village, Issue.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .outerjoin(linked, Issue.household_id == linked.id)
        .where(scope.issue_clause())
        .order_by(Issue.code)
    ).mappings()
    return [dict(r) for r in rows]


def _households(session: Session, condition) -> list[dict]:
    rows = session.execute(
        select(Household.code, Township.name.label("township"), Village.name.label("village"),
               Household.head_name, Household.size, Household.status, Household.poverty_cause,
               Household.helper)
        .join(Village, Household.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(condition)
        .order_by(Township.id, Village.id, Household.code)
    ).mappings()
    return [dict(r) for r in rows]


def _villages(session: Session, condition) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Township.name, Village.name)
        .join(Township, Village.township_id == Township.id)
        .where(condition)
        .order_by(Township.id, Village.id)
    )
    return [(t, v) for t, v in rows]


def _is_overdue(issue: dict, today: dt.date) -> bool:
    return issue["status"] in OPEN_STATUSES and issue["deadline"] is not None and issue["deadline"] < today


def _text(value: object) -> object:
    """Strings made safe for a spreadsheet: no control characters, no live formulas."""
    if isinstance(value, str):
        return protect_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _display_width(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, (dt.date, dt.datetime)):
        return 16 if isinstance(value, dt.datetime) else 10
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def _set_widths(sheet, headers: list[str], rows: list[list]) -> None:
    """Column widths from the widest cell (CJK counts double), within sensible bounds."""
    for index, header in enumerate(headers):
        widest = max([_display_width(header)] + [_display_width(r[index]) for r in rows[:5000]])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, widest + 2)
        )


def _header_row(sheet, headers: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cells.append(cell)
    return cells


def _start_sheet(workbook: Workbook, title: str, headers: list[str], rows: list[list], *, filter=True):
    sheet = workbook.create_sheet(title)
    _set_widths(sheet, headers, rows)
    sheet.freeze_panes = "A2"
    if rows and filter:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    sheet.append(_header_row(sheet, headers))
    return sheet


def _write_workbook(ledger: _Ledger, path: Path, *, today, tz, label, progress) -> int:
    workbook = Workbook(write_only=True)
    if progress is not None:
        progress.expect(len(ledger.issues) + len(ledger.households))
    overdue = _write_issues(workbook, ledger.issues, today, tz, progress)
    _write_households(workbook, ledger.households, progress)
    _write_villages(workbook, ledger.villages)
    _write_summary(workbook, ledger, today, label)
    # Write beside the target and rename, so that a failed export leaves no half file.
    handle, temp_name = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        workbook.save(temp_name)
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes it private; a file we hand in is not
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return overdue


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_issues(workbook, issues, today, tz, progress) -> int:
    headers = [c.header for c in SHEETS[ISSUES].columns if c.required] + list(ISSUE_EXTRA_HEADERS)
    rows = [
        [
            i["code"], i["township"], i["village"], i["head_name"], i["category"],
            i["description"], i["status"], i["deadline"], i["responsible_unit"],
            i["household_code"], "是" if i["supervised"] else "否",
            i["updated_at"].astimezone(tz).replace(tzinfo=None, microsecond=0) if i["updated_at"] else None,
            i["evidence"],
        ]
        for i in issues
    ]
    sheet = _start_sheet(workbook, ISSUE_SHEET, headers, rows)
    deadline_at, updated_at = headers.index("整改期限"), headers.index("最后更新")
    overdue = 0
    for issue, row in zip(issues, rows):
        late = _is_overdue(issue, today)
        overdue += late
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=_text(value))
            if index == deadline_at:
                cell.number_format = DATE_FORMAT
            elif index == updated_at:
                cell.number_format = DATETIME_FORMAT
            if late:
                cell.fill = OVERDUE_FILL
            cells.append(cell)
        sheet.append(cells)
    if progress is not None:
        progress.advance(len(rows))
    return overdue


def _write_households(workbook, households, progress) -> None:
    headers = SHEETS[HOUSEHOLDS].headers
    rows = [
        [h["code"], h["township"], h["village"], h["head_name"], h["size"], h["status"],
         h["poverty_cause"], h["helper"]]
        for h in households
    ]
    sheet = _start_sheet(workbook, HOUSEHOLD_SHEET, headers, rows)
    for row in rows:
        sheet.append([_text(value) for value in row])  # plain cells: fast for 30,000 rows
    if progress is not None:
        progress.advance(len(rows))


def _write_villages(workbook, villages) -> None:
    headers = SHEETS[VILLAGES].headers
    rows = [list(place) for place in villages]
    sheet = _start_sheet(workbook, VILLAGE_SHEET, headers, rows)
    for row in rows:
        sheet.append([_text(value) for value in row])


def _write_summary(workbook, ledger: _Ledger, today: dt.date, label: str) -> None:
    headers = ["乡镇", *STATUS_ORDER, "合计", "逾期"]
    counts: dict[str, Counter] = defaultdict(Counter)
    for issue in ledger.issues:
        counts[issue["township"]][issue["status"]] += 1
        counts[issue["township"]]["逾期"] += _is_overdue(issue, today)
    townships = ledger.townships + sorted(set(counts) - set(ledger.townships))
    rows = []
    for township in townships:
        c = counts[township]
        rows.append([township, *(c[s] for s in STATUS_ORDER), sum(c[s] for s in STATUS_ORDER), c["逾期"]])
    totals = ["合计", *(sum(r[i] for r in rows) for i in range(1, len(headers)))]
    sheet = _start_sheet(workbook, SUMMARY_SHEET, headers, rows + [totals], filter=False)
    for row in rows:
        sheet.append([_text(value) for value in row])
    total_cells = []
    for value in totals:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = HEADER_FONT
        total_cells.append(cell)
    sheet.append(total_cells)
    sheet.append([])
    sheet.append(["范围", _text(label)])
    date_cell = WriteOnlyCell(sheet, value=today)
    date_cell.number_format = DATE_FORMAT
    sheet.append(["导出日期", date_cell])


@dataclass(frozen=True)
class EvidenceExport:
    """The evidence files written for an inspection."""

    folder: Path
    written: int
    missing: list[str]

    def lines(self) -> list[str]:
        """Chinese summary."""
        lines = [f"佐证材料：{self.written} 个文件写入 {self.folder}"]
        if self.missing:
            lines.append(f"⚠️ {len(self.missing)} 个文件在佐证目录中找不到：{'、'.join(self.missing[:5])}"
                         + ("……" if len(self.missing) > 5 else ""))
        return lines


def export_evidence(
    database: Database, out_dir: Path, evidence_dir: str | Path, *, tz: ZoneInfo, scope_name: str | None = None
) -> EvidenceExport:
    """Copy the (scoped) items' evidence into ``out_dir`` as ``<编号>_<YYYY-MM-DD>_<n>.<ext>``
    (the date it was sent, in the county's time)."""
    with database.transaction() as session:
        scope, _label = _scope(session, scope_name)
        codes = dict(session.execute(
            select(Issue.id, Issue.code)
            .join(Village, Issue.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(scope.issue_clause())
        ).all())
        items = [(codes[item.issue_id], item) for item in evidence_of(session) if item.issue_id in codes]
    items.sort(key=lambda pair: (pair[0], pair[1].at, pair[1].id))
    out_dir.mkdir(parents=True, exist_ok=True)
    written, missing = copy_for_inspection(items, evidence_dir, out_dir, tz)
    return EvidenceExport(out_dir, written, missing)
