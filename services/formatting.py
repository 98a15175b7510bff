"""Phone-friendly Chinese text for replies: short lines, 🟡/🔴 markers, pages under 4096.

Replies are plain text (no parse mode), so nothing is escaped: a name with <>&*_ comes out
as typed. Functions here take plain values and never touch the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from nlp.workdays import WorkCalendar
from services.queries import AreaSummary, HouseholdView, IssueRow, LastChange, UnitCount

TELEGRAM_LIMIT = 4096
# Room under Telegram's limit for a page footer ("第 2/5 页") and safety.
PAGE_CHARS = 3800
PAGE_LINES = 25
DUE_MARK = "🟡"
OVERDUE_MARK = "🔴"
DONE_MARK = "✅"

ShowRule = Callable[[IssueRow], bool]  # may this row's household be named and described here?


def short_date(day: dt.date | None, today: dt.date) -> str:
    """12-15 within the current year, 2027-01-05 otherwise, 未定 when absent."""
    if day is None:
        return "未定"
    if day.year == today.year:
        return day.strftime("%m-%d")
    return day.isoformat()


def deadline_mark(
    deadline: dt.date | None,
    today: dt.date,
    calendar: WorkCalendar,
    due_soon_workdays: int,
) -> str:
    """🔴 when overdue, 🟡 when due within ``due_soon_workdays`` working days, else ""."""
    if deadline is None:
        return ""
    if deadline < today:
        return OVERDUE_MARK
    # Same window as the digest: up to the N-th working day after today.
    if deadline <= calendar.add_workdays(today, due_soon_workdays):
        return DUE_MARK
    return ""


@dataclass(frozen=True)
class Marker:
    """Binds today, the calendar and the 🟡 window so that renderers take one argument."""

    today: dt.date
    calendar: WorkCalendar
    due_soon_workdays: int = 3
    tz: dt.tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def mark(self, deadline: dt.date | None) -> str:
        return deadline_mark(deadline, self.today, self.calendar, self.due_soon_workdays)

    def date(self, day: dt.date | None) -> str:
        return short_date(day, self.today)

    def moment(self, at: dt.datetime) -> str:
        """12-01 10:05 in the county's time zone."""
        local = at.astimezone(self.tz)
        return f"{short_date(local.date(), self.today)} {local:%H:%M}"

    def deadline(self, deadline: dt.date | None) -> str:
        """"期限 12-15 🟡" style fragment."""
        mark = self.mark(deadline)
        text = f"期限 {self.date(deadline)}"
        return f"{text} {mark}" if mark else text


def change_line(
    place: str,
    category: str,
    fields: Sequence[tuple[str, str | None, str | None]],
    deadline: dt.date | None,
    today: dt.date,
    *,
    mark: str = DONE_MARK,
) -> str:
    """One line saying exactly what changed, e.g. ✅ 东光镇东台村 · 饮水：整改中 → 已整改（期限 12-15）."""
    parts: list[str] = []
    status = next(((old, new) for f, old, new in fields if f == "status"), None)
    deadline_change = next(((old, new) for f, old, new in fields if f == "deadline"), None)
    if status is not None:
        parts.append(f"{status[0] or '无'} → {status[1]}")
    if deadline_change is not None:
        old, new = (_iso_to_short(value, today) for value in deadline_change)
        if status is None:
            parts.append(f"期限 {old} → {new}")
            tail = ""
        else:
            tail = f"（期限 {old} → {new}）"
    else:
        tail = f"（期限 {short_date(deadline, today)}）" if deadline is not None else ""
    return f"{mark} {place} · {category}：{'，'.join(parts)}{tail}"


def _iso_to_short(value: str | None, today: dt.date) -> str:
    if not value:
        return "未定"
    return short_date(dt.date.fromisoformat(value), today)


@dataclass(frozen=True)
class Page:
    text: str
    number: int  # 0-based
    count: int


def paginate(
    header: str,
    lines: Sequence[str],
    page: int = 0,
    *,
    max_chars: int = PAGE_CHARS,
    max_lines: int = PAGE_LINES,
    footer: str = "",
) -> Page:
    """Split ``lines`` into pages of at most ``max_lines`` lines and ``max_chars`` characters
    (header and footer included) and return page ``page`` (clamped to the last page)."""
    budget = max_chars - len(header) - len(footer) - 20
    pages: list[list[str]] = [[]]
    used = 0
    for raw in lines:
        line = raw if len(raw) <= budget else raw[: budget - 1] + "…"
        current = pages[-1]
        if current and (len(current) >= max_lines or used + len(line) + 1 > budget):
            pages.append([])
            used = 0
        pages[-1].append(line)
        used += len(line) + 1
    count = len(pages)
    number = min(max(page, 0), count - 1)
    body = "\n".join(pages[number])
    parts = [header] if header else []
    if body:
        parts.append(body)
    if count > 1:
        parts.append(f"（第 {number + 1}/{count} 页）")
    if footer:
        parts.append(footer)
    text = "\n".join(parts)
    return Page(text=text[:TELEGRAM_LIMIT], number=number, count=count)


def split_text(text: str, limit: int = PAGE_CHARS) -> list[str]:
    """Split a long text at line breaks into chunks of at most ``limit`` characters."""
    chunks: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        pieces = [line[i : i + limit] for i in range(0, len(line), limit)] or [""]
        for piece in pieces:
            candidate = piece if current is None else f"{current}\n{piece}"
            if len(candidate) > limit:
                chunks.append(current or "")
                current = piece
            else:
                current = candidate
    if current is not None:
        chunks.append(current)
    return chunks or [""]


# ---- renderers of query results -------------------------------------------------------

def _short(text: str, limit: int = 24) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def issue_line(row: IssueRow, marker: Marker, *, show_household: bool, show_place: bool = True) -> str:
    """🟡 ZG-0003 东光镇东台村 饮水：自来水管道冻裂 · 未整改 · 期限 12-03."""
    mark = marker.mark(row.deadline) if row.status != "已整改" else ""
    place = f"{row.township}{row.village} " if show_place else ""
    who = f"{row.household} " if show_household and row.household else ""
    flag = "（督办）" if row.supervised else ""
    text = (
        f"{row.code} {place}{who}{row.category}{flag}：{_short(row.description)}"
        f" · {row.status} · 期限 {marker.date(row.deadline)}"
    )
    return f"{mark} {text}" if mark else text


def change_summary(change: LastChange, marker: Marker, prefix: str = "最近：") -> str:
    """最近：12-01 10:05 东台村工作队 未整改 → 整改中."""
    if change.field == "created":
        return f"{prefix}{marker.moment(change.at)} {change.actor} 登记"
    if change.field == "reason":
        return f"{prefix}{marker.moment(change.at)} {change.actor} 重新打开，原因：{_short(change.new or '', 30)}"
    if change.field == "close_reason":
        return f"{prefix}{marker.moment(change.at)} {change.actor} 无佐证销号，理由：{_short(change.new or '', 30)}"
    what = {"status": "", "deadline": "期限 "}.get(change.field, f"{change.field} ")
    old = change.old or "无"
    new = change.new or "无"
    if change.field == "deadline":
        old = _iso_to_short(change.old, marker.today)
        new = _iso_to_short(change.new, marker.today)
    return f"{prefix}{marker.moment(change.at)} {change.actor} {what}{old} → {new}"


# Who made a change when it was no person, and where a person made it.
_MACHINE_ACTS = {"demo": "生成演示数据时", "import": "导入台账时"}
_SOURCES = {"telegram": "Telegram", "console": "终端", "cli": "命令行"}
_FIELDS = {"status": "状态", "deadline": "期限", "category": "类别", "description": "描述",
           "responsible_unit": "责任单位", "supervised": "督办"}


def history_line(change: LastChange, marker: Marker) -> str:
    """· 12-06 16:27 东台村工作队（Telegram）把状态改为已整改，原为未整改: when, who, where, what."""
    who = _MACHINE_ACTS.get(change.actor)
    if who is None:
        where = _SOURCES.get(change.source or "")
        who = f"{change.actor}（{where}）" if where else change.actor
    return f"· {marker.moment(change.at)} {who}{_what_changed(change, marker)}"


def _what_changed(change: LastChange, marker: Marker) -> str:
    if change.field == "created":
        return "登记了此问题"
    if change.field == "reason":
        return f"重新打开，原因：{_short(change.new or '', 30)}"
    if change.field == "close_reason":
        return f"无佐证销号，理由：{_short(change.new or '', 30)}"
    old, new = change.old, change.new
    if change.field == "deadline":
        old = _iso_to_short(old, marker.today) if old else None
        new = _iso_to_short(new, marker.today) if new else None
    label = _FIELDS.get(change.field, change.field)
    if new is None:
        return f"取消了{label}（原为{old}）"
    return f"把{label}改为{new}" + (f"，原为{old}" if old else "")


def render_household(view: HouseholdView, marker: Marker) -> tuple[str, list[str]]:
    """Header and lines of a household's card (private chats only)."""
    header = "\n".join([
        f"{view.head_name}家（{view.township}{view.village}，户编号 {view.code}）",
        f"状态：{view.status} · 人口 {view.size} 人",
        f"致贫原因：{view.poverty_cause or '未填'}",
        f"帮扶责任人：{view.helper or '未填'}",
        f"未销号问题 {len(view.issues)} 个" + ("：" if view.issues else "。"),
    ])
    lines: list[str] = []
    for row in view.issues:
        line = issue_line(row, marker, show_household=False, show_place=False)
        change = view.last_changes.get(row.id)
        if change is not None:
            line += "\n   " + change_summary(change, marker)
        lines.append(line)
    return header, lines


def _split_visible(rows: Sequence[IssueRow], can_show: ShowRule) -> tuple[list[IssueRow], int]:
    """Rows that may be listed: village issues always, household issues only where allowed."""
    visible = [row for row in rows if row.household_id is None or can_show(row)]
    return visible, len(rows) - len(visible)


HIDDEN_NOTE = "另有 {n} 个户级问题，详情请私聊查询。"  # groups
HIDDEN_OUT_OF_SCOPE = "另有 {n} 个户级问题（农户不在您的查看范围，只计数）。"  # private chats


def render_area(
    summary: AreaSummary,
    rows: Sequence[IssueRow],
    marker: Marker,
    *,
    can_show: ShowRule,
    list_items: bool,
    label: str | None = None,
    hidden_note: str = HIDDEN_NOTE,
) -> tuple[str, list[str]]:
    """Counts by status and category, then (for a village) the issues themselves.

    Household issues are listed only where ``can_show`` allows (private chat, scope covers
    the place); elsewhere they are counted, never described.
    """
    title = f"{label or summary.area.label} · 未销号问题 {summary.total} 个"
    if not summary.total:
        return title + "。", []
    status = " · ".join(f"{name} {count}" for name, count in summary.by_status.items())
    overdue = f" · 逾期 {summary.overdue} 🔴" if summary.overdue else ""
    header_lines = [title, status + overdue]
    for item in summary.by_category:
        nearest = f" · 最近期限 {marker.date(item.nearest_deadline)}" if item.nearest_deadline else ""
        mark = marker.mark(item.nearest_deadline)
        header_lines.append(f"{item.category} {item.count} 个{nearest}{' ' + mark if mark else ''}")
    lines: list[str] = []
    if list_items:
        visible, hidden = _split_visible(rows, can_show)
        show_place = summary.area.village is None
        if visible:
            lines.append("——")
        lines += [issue_line(row, marker, show_household=can_show(row), show_place=show_place) for row in visible]
        if hidden:
            lines.append(hidden_note.format(n=hidden))
    return "\n".join(header_lines), lines


def render_due(
    rows: Sequence[IssueRow], until: dt.date, marker: Marker, *, title: str, can_show: ShowRule,
    hidden_note: str = HIDDEN_NOTE,
) -> tuple[str, list[str]]:
    """Issues due by ``until``; household issues only counted where names may not be shown."""
    header = f"{title}（至 {marker.date(until)}）：{len(rows)} 个" + ("" if rows else "，没有到期的问题。")
    visible, hidden = _split_visible(rows, can_show)
    lines = [issue_line(row, marker, show_household=can_show(row)) for row in visible]
    if hidden:
        lines.append(hidden_note.format(n=hidden))
    return header, lines


def render_overdue(
    rows: Sequence[IssueRow], units: Sequence[UnitCount], marker: Marker, *, can_show: ShowRule,
    hidden_note: str = HIDDEN_NOTE,
) -> tuple[str, list[str]]:
    """Overdue issues by 责任单位 with days overdue."""
    total = sum(unit.count for unit in units)
    if not total:
        return "逾期未整改：0 个，没有逾期的问题。", []
    header = f"逾期未整改：{total} 个 🔴"
    lines = [f"{u.unit} {u.count} 个（最久 {u.most_days} 天）" for u in units]
    visible, hidden = _split_visible(rows, can_show)
    current_unit: str | None = None
    for row in visible:
        unit = row.responsible_unit or "未定"
        if unit != current_unit:
            lines.append(f"【{unit}】")
            current_unit = unit
        days = (marker.today - row.deadline).days if row.deadline else 0
        who = f"{row.household} " if can_show(row) and row.household else ""
        lines.append(
            f"🔴 {row.code} {row.township}{row.village} {who}{row.category}：{_short(row.description, 16)}"
            f" · 逾期 {days} 天 · {row.status}"
        )
    if hidden:
        lines.append(hidden_note.format(n=hidden))
    return header, lines


def render_issue_card(
    row: IssueRow, history: Sequence[LastChange], marker: Marker, *, show_household: bool,
    change_marks: Mapping[str, str] | None = None,
) -> str:
    """One issue in full: place, category, description, status, deadline, unit, last changes
    (``change_marks``: text after the first line of a change, e.g. its evidence 📎2)."""
    who = f" {row.household}" if show_household and row.household else ""
    flag = "（督办）" if row.supervised else ""
    mark = marker.mark(row.deadline) if row.status in ("未整改", "整改中") else ""
    hidden = row.household_id is not None and not show_household
    description = "（户级问题，农户详情不在此显示）" if hidden else row.description
    lines = [
        f"{row.code} · {row.township}{row.village}{who} · {row.category}{flag}",
        description,
        f"状态：{row.status} · 期限 {marker.date(row.deadline)}{' ' + mark if mark else ''}",
        f"责任单位：{row.responsible_unit or '未定'}",
    ]
    if history:
        lines.append("最近记录：")
        marks = dict(change_marks or {})
        for change in history[:3]:
            mark = marks.pop(change.change_id, "") if change.change_id else ""
            lines.append(history_line(change, marker) + (f" {mark}" if mark else ""))
    return "\n".join(lines)
