"""The daily digest of a scope: what changed, what is open, overdue and due, and progress.

Every number comes from an SQL aggregate (GROUP BY) over the scope's issues; only the few
items listed by name (at most ``settings.digest.item_limit`` of each kind) are fetched as
rows. Items are named by village, category and issue number — never by household — so
that the digest can go to a group chat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, desc, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from db.models import DigestDelivery, Issue, IssueEvent, Subscription, Township, Village
from nlp.workdays import WorkCalendar
from services.scope import Scope
from settings import Settings
from vocab import EventSource, IssueStatus

OPEN_STATUSES = (IssueStatus.OPEN.value, IssueStatus.IN_PROGRESS.value)
DONE_STATUSES = (IssueStatus.RECTIFIED.value, IssueStatus.CLOSED.value)
# Bulk loads bring in items the ledger did not hold yet, not items found in the field: an
# import (and the demo county, loaded the same way) is never 新增.
BULK_SOURCES = (EventSource.IMPORT.value, EventSource.SYSTEM.value)
NO_UNIT = "未定责任单位"
MAX_TEXT = 4096  # Telegram's limit for one message
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class DigestItem:
    """One issue named in a digest (no household data)."""

    code: str
    township: str
    village: str
    category: str
    unit: str
    deadline: dt.date
    supervised: bool = False  # 督办: flagged so that the group sees it first

    @property
    def place(self) -> str:
        return f"{self.township}{self.village}"

    @property
    def flag(self) -> str:
        return " 【督办】" if self.supervised else ""


@dataclass(frozen=True)
class ProgressRow:
    """Share of a township's (or village's) issues that are 已整改 or 已销号."""

    name: str
    done: int
    total: int

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class Digest:
    """The figures of one digest; :func:`render_digest_text` turns it into the message."""

    scope_name: str
    label: str
    today: dt.date
    weekly: bool
    period_start: dt.date  # changes counted from this day's start up to today's start (or as_of)
    new_count: int
    rectified_count: int
    closed_count: int
    total: int
    open_count: int
    done_count: int
    open_by_category: tuple[tuple[str, int], ...]
    overdue_count: int
    overdue_by_unit: tuple[tuple[str, int], ...]
    overdue_items: tuple[DigestItem, ...]
    due_count: int
    due_days: int  # working days ahead counted as "due soon"
    due_until: dt.date
    due_items: tuple[DigestItem, ...]
    progress_level: str  # 乡镇 or 村
    progress: tuple[ProgressRow, ...]
    previous: dict | None = None  # summary of the previous digest, for "change since"
    as_of: dt.datetime | None = None  # on demand: changes counted up to this local time, today's too

    @property
    def share(self) -> float:
        return self.done_count / self.total if self.total else 0.0

    def summary(self) -> dict:
        """The figures kept in DigestDelivery.summary for the next digest's comparison."""
        return {
            "date": self.today.isoformat(),
            "total": self.total,
            "open": self.open_count,
            "done": self.done_count,
            "overdue": self.overdue_count,
            "due": self.due_count,
            "share": round(self.share, 4),
        }


def scope_label(scope_name: str, settings: Settings) -> str:
    """How a canonical scope name is shown: 汪清县, 东光镇, 东光镇东台村, 全县饮水类."""
    if not scope_name:
        return settings.county.name
    if "/" in scope_name:
        return scope_name.replace("/", "")
    scope = Scope.from_names([scope_name])
    if scope.categories:
        return f"全县{scope_name}类"
    return scope_name


def progress_level(scope: Scope) -> str:
    """Progress is shown per village inside a township or village scope, else per township."""
    if not scope.county_wide and not scope.categories and len(scope.townships) <= 1 and (
        scope.townships or scope.villages
    ):
        return "村"
    return "乡镇"


def build_digest(
    session: Session,
    scope_name: str,
    today: dt.date,
    calendar: WorkCalendar,
    settings: Settings,
    *,
    weekly: bool = False,
    previous: dict | None = None,
    as_of: dt.datetime | None = None,
) -> Digest:
    """Build the digest of one canonical scope name ("" is the county) for ``today``.

    The morning digest counts the changes up to today's start; ``as_of`` (an aware time of
    today, for /digest) counts them up to that moment instead."""
    return build_digest_for(
        session, Scope.from_names([scope_name]), scope_name, scope_label(scope_name, settings),
        today, calendar, settings, weekly=weekly, previous=previous, as_of=as_of,
    )


def build_digest_for(
    session: Session,
    scope: Scope,
    scope_name: str,
    label: str,
    today: dt.date,
    calendar: WorkCalendar,
    settings: Settings,
    *,
    weekly: bool = False,
    previous: dict | None = None,
    as_of: dt.datetime | None = None,
) -> Digest:
    """Build the digest of any Scope (the province bench scopes a digest to many townships)."""
    limit = settings.digest.item_limit
    due_until = calendar.add_workdays(today, settings.digest.due_soon_working_days)
    period_start = today - dt.timedelta(days=7) if weekly else calendar.previous_workday(today)
    tz = settings.county.tz
    as_of = as_of.astimezone(tz) if as_of is not None else None
    since = _local_midnight(period_start, tz)
    until = as_of.astimezone(dt.timezone.utc) if as_of is not None else _local_midnight(today, tz)

    is_open = Issue.status.in_(OPEN_STATUSES)
    overdue = and_(is_open, Issue.deadline < today)
    due = and_(is_open, Issue.deadline >= today, Issue.deadline <= due_until)

    by_category = session.execute(
        issues_in_scope(
            select(
                Issue.category,
                func.count(),
                _count_where(is_open),
                _count_where(Issue.status.in_(DONE_STATUSES)),
                _count_where(overdue),
                _count_where(due),
            ),
            scope,
            places=False,
        ).group_by(Issue.category)
    ).all()
    total = sum(int(row[1]) for row in by_category)
    open_count = sum(int(row[2] or 0) for row in by_category)
    done_count = sum(int(row[3] or 0) for row in by_category)
    overdue_count = sum(int(row[4] or 0) for row in by_category)
    due_count = sum(int(row[5] or 0) for row in by_category)
    open_by_category = tuple(
        sorted(((row[0], int(row[2])) for row in by_category if row[2]), key=lambda kv: (-kv[1], kv[0]))
    )

    unit = func.coalesce(Issue.responsible_unit, NO_UNIT)
    overdue_by_unit = tuple(
        (name, int(count))
        for name, count in session.execute(
            issues_in_scope(select(unit, func.count()), scope, places=False)
            .where(overdue)
            .group_by(unit)
            .order_by(desc(func.count()), unit)
        ).all()
    )
    overdue_items = _items(session, scope, overdue, limit) if overdue_count else ()
    due_items = _items(session, scope, due, limit) if due_count else ()

    level = progress_level(scope)
    place = Village.name if level == "村" else Township.name
    progress = tuple(
        sorted(
            (
                ProgressRow(name, int(done or 0), int(count))
                for name, done, count in session.execute(
                    issues_in_scope(
                        select(place, _count_where(Issue.status.in_(DONE_STATUSES)), func.count()), scope
                    ).group_by(place)
                ).all()
            ),
            key=lambda row: (row.share, row.name),
        )
    )
    changes = _changes(session, scope, since, until)
    return Digest(
        scope_name=scope_name,
        label=label,
        today=today,
        weekly=weekly,
        period_start=period_start,
        new_count=changes.get("new", 0),
        rectified_count=changes.get("rectified", 0),
        closed_count=changes.get("closed", 0),
        total=total,
        open_count=open_count,
        done_count=done_count,
        open_by_category=open_by_category,
        overdue_count=overdue_count,
        overdue_by_unit=overdue_by_unit,
        overdue_items=overdue_items,
        due_count=due_count,
        due_days=settings.digest.due_soon_working_days,
        due_until=due_until,
        due_items=due_items,
        progress_level=level,
        progress=progress,
        previous=previous,
        as_of=as_of,
    )


def previous_summary(
    session: Session, scope_name: str, today: dt.date, *, subscription_id: int | None = None
) -> dict | None:
    """Figures of the last digest sent before ``today``: of this subscription when given,
    else of any subscription with the same scope (for /digest and the CLI)."""
    query = (
        select(DigestDelivery.summary)
        .where(
            DigestDelivery.sent_at.is_not(None),
            DigestDelivery.digest_date < today,
            DigestDelivery.summary.is_not(None),
        )
        .order_by(DigestDelivery.digest_date.desc(), DigestDelivery.id.desc())
        .limit(1)
    )
    if subscription_id is not None:
        query = query.where(DigestDelivery.subscription_id == subscription_id)
    else:
        query = query.join(Subscription, Subscription.id == DigestDelivery.subscription_id).where(
            Subscription.scope == scope_name
        )
    summary = session.scalar(query)
    return summary if isinstance(summary, dict) and "open" in summary else None


def _local_midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz).astimezone(dt.timezone.utc)


def _count_where(condition):
    return func.sum(case((condition, 1), else_=0))


def issues_in_scope(query: Select, scope: Scope, *, places: bool = True) -> Select:
    """Join Issue to its village and township and keep the scope's issues. Without
    ``places`` (the query names no place) the joins are left out when the scope does not
    filter by place either: the county and category digests then scan one table."""
    query = query.select_from(Issue)
    if places or scope.townships or scope.villages:
        query = query.join(Village, Issue.village_id == Village.id).join(Township, Village.township_id == Township.id)
    return query.where(scope.issue_clause())


def _items(session: Session, scope: Scope, condition, limit: int) -> tuple[DigestItem, ...]:
    rows = session.execute(
        issues_in_scope(
            select(
                Issue.code, Township.name, Village.name, Issue.category,
                func.coalesce(Issue.responsible_unit, NO_UNIT), Issue.deadline, Issue.supervised,
            ),
            scope,
        )
        .where(condition)
        .order_by(Issue.deadline, Issue.code)
        .limit(limit)
    ).all()
    return tuple(DigestItem(*row[:6], supervised=bool(row[6])) for row in rows)


def _changes(session: Session, scope: Scope, since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    """Items found in the field (新增), rectified and closed in [since, until), not counting
    undone changes.

    An item counts once, by its current status, and only if it reached that status in the
    period: one rectified, closed out and reopened is neither 已整改 nor 已销号 (it is open
    again), one rectified and then closed out is 已销号 only. So the period's figures never
    claim more than the ledger's 已完成 shows."""
    undo = aliased(IssueEvent)
    kind = case(
        (IssueEvent.field == "created", literal("new")),
        (IssueEvent.new_value == IssueStatus.RECTIFIED.value, literal("rectified")),
        else_=literal("closed"),
    )
    # An undo writes its events on the same issue: looking it up by issue keeps this cheap.
    undone = exists().where(undo.issue_id == IssueEvent.issue_id, undo.undoes == IssueEvent.change_id)
    found_in_field = (IssueEvent.field == "created") & IssueEvent.source.not_in(BULK_SOURCES)
    reached_current_status = (
        (IssueEvent.field == "status")
        & IssueEvent.new_value.in_(DONE_STATUSES)
        & (IssueEvent.new_value == Issue.status)
    )
    query = (
        select(kind, func.count(IssueEvent.issue_id.distinct()))
        .select_from(IssueEvent)
        .join(Issue, IssueEvent.issue_id == Issue.id)
        .join(Village, Issue.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(
            scope.issue_clause(),
            IssueEvent.at >= since,
            IssueEvent.at < until,
            IssueEvent.undoes.is_(None),
            found_in_field | reached_current_status,
            ~undone,
        )
        .group_by(kind)
    )
    return {name: int(count) for name, count in session.execute(query).all()}


# ---- text ----------------------------------------------------------------------------


def month_day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def month_day_weekday(day: dt.date) -> str:
    return f"{month_day(day)}（周{WEEKDAYS[day.weekday()]}）"


def render_digest_text(digest: Digest, *, item_limit: int | None = None) -> str:
    """The digest as one plain-text Telegram message (at most 4096 characters)."""
    limit = max(len(digest.overdue_items), len(digest.due_items)) if item_limit is None else item_limit
    progress_limit = len(digest.progress)
    while True:
        text = _render(digest, limit, progress_limit)
        if len(text) <= MAX_TEXT:
            return text
        # Too long for one message: list fewer items (the counts stay complete).
        if limit > 0:
            limit //= 2
        elif progress_limit > 0:
            progress_limit //= 2
        else:
            return text[: MAX_TEXT - 1] + "…"


def _render(digest: Digest, item_limit: int, progress_limit: int) -> str:
    kind = "周报" if digest.weekly else "日报"
    lines = [f"📋 {digest.label}问题整改{kind} {month_day_weekday(digest.today)}"]
    lines.append(
        f"{_period_label(digest)}：已整改 {digest.rectified_count} 件，新增 {digest.new_count} 件，"
        f"已销号 {digest.closed_count} 件"
    )
    if digest.total == 0:
        lines.append("范围内台账暂无问题。")
        return "\n".join(lines)
    lines.append(
        f"共 {digest.total} 件：已完成 {digest.done_count} 件（{digest.share:.0%}），"
        f"未完成 {digest.open_count} 件"
    )
    if digest.previous:
        lines.append(_since_previous(digest))
    if digest.open_by_category:
        lines.append("未完成按类别：" + "、".join(f"{name} {count}" for name, count in digest.open_by_category))

    lines.append("")
    if digest.overdue_count:
        lines.append(f"🔴 逾期 {digest.overdue_count} 件（按责任单位）")
        shown = digest.overdue_items[:item_limit]
        for unit, count in digest.overdue_by_unit:
            lines.append(f"【{unit}】{count} 件")
            for item in shown:
                if item.unit == unit:
                    days = (digest.today - item.deadline).days
                    lines.append(f"· {item.code} {item.place} {item.category} 逾期 {days} 天{item.flag}")
        if len(shown) < digest.overdue_count:
            lines.append(f"（另有 {digest.overdue_count - len(shown)} 件逾期未逐条列出）")
    else:
        lines.append("🔴 无逾期问题")

    if digest.due_count:
        lines.append(f"🟡 {digest.due_days} 个工作日内到期 {digest.due_count} 件（至{month_day(digest.due_until)}）")
        shown = digest.due_items[:item_limit]
        for item in shown:
            lines.append(f"· {item.code} {item.place} {item.category} {month_day(item.deadline)}到期{item.flag}")
        if len(shown) < digest.due_count:
            lines.append(f"（另有 {digest.due_count - len(shown)} 件即将到期未逐条列出）")
    else:
        lines.append(f"🟡 {digest.due_days} 个工作日内无到期问题")

    if digest.progress:
        lines.append("")
        lines.append(f"📊 各{digest.progress_level}整改进度（已整改+已销号）")
        for row in digest.progress[:progress_limit]:
            lines.append(f"{row.name} {row.share:.0%}（{row.done}/{row.total}）")
        if progress_limit < len(digest.progress):
            lines.append(f"（另有 {len(digest.progress) - progress_limit} 个{digest.progress_level}见图）")
    return "\n".join(lines)


def _period_label(digest: Digest) -> str:
    if digest.weekly:
        return f"近一周（{month_day(digest.period_start)}起）"
    yesterday = digest.period_start == digest.today - dt.timedelta(days=1)
    start = "昨日" if yesterday else (
        f"自上个工作日（{month_day(digest.period_start)}，周{WEEKDAYS[digest.period_start.weekday()]}）"
    )
    if digest.as_of is not None:
        return f"{start}至今（截至{digest.as_of:%H:%M}）"
    return start if yesterday else f"{start}以来"


def _since_previous(digest: Digest) -> str:
    previous = digest.previous or {}
    when = previous.get("date")
    label = month_day(dt.date.fromisoformat(when)) if when else "上次"
    parts = [
        f"未完成 {_signed(digest.open_count - int(previous.get('open', 0)))}",
        f"逾期 {_signed(digest.overdue_count - int(previous.get('overdue', 0)))}",
    ]
    points = (digest.share - float(previous.get("share", 0.0))) * 100
    parts.append(f"整改率 {points:+.1f} 个百分点")
    return f"较上次（{label}）：" + "，".join(parts)


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)
