"""Reading the ledger for people: a household, an area, what is due, what is overdue.

Every query is limited to the asker's scope (services.scope.Scope) in SQL; counts are SQL
aggregates. Results are plain values; services.formatting turns them into text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, case, func, select, true
from sqlalchemy.orm import Session, joinedload

from db.models import Household, Issue, IssueEvent, Township, Village
from services.errors import Forbidden, NotFound
from services.places import places_named
from services.scope import Scope
from vocab import IssueStatus

NOT_CLOSED = (IssueStatus.OPEN.value, IssueStatus.IN_PROGRESS.value, IssueStatus.RECTIFIED.value)
UNRESOLVED = (IssueStatus.OPEN.value, IssueStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class Area:
    """County (no names), a township, or one village of a township."""

    township: str | None = None
    village: str | None = None

    @property
    def label(self) -> str:
        if not self.township:
            return "全县"
        return f"{self.township}{self.village or ''}"

    def clause(self) -> ColumnElement[bool]:
        if not self.township:
            return true()
        if not self.village:
            return Township.name == self.township
        return and_(Township.name == self.township, Village.name == self.village)


def area_named(session: Session, name: str) -> Area | None:
    """The one township or village ``name`` means (东光镇, 东台村, 东光镇/东台村), else None
    (unknown, or a village name several townships have)."""
    places = places_named(session, name)
    return Area(*places[0]) if len(places) == 1 else None


@dataclass(frozen=True)
class IssueRow:
    id: int
    code: str
    township: str
    village: str
    household_id: int | None
    household: str | None
    category: str
    description: str
    status: str
    deadline: dt.date | None
    responsible_unit: str | None
    supervised: bool


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int
    unresolved: int
    nearest_deadline: dt.date | None


@dataclass(frozen=True)
class AreaSummary:
    area: Area
    by_status: dict[str, int]
    by_category: list[CategoryCount]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class UnitCount:
    unit: str
    count: int
    most_days: int


@dataclass(frozen=True)
class LastChange:
    at: dt.datetime
    actor: str
    field: str
    old: str | None
    new: str | None
    change_id: str | None = None  # the act it belongs to (an item card marks its evidence)
    source: str | None = None  # telegram / console / cli / import / system (EventSource)


@dataclass(frozen=True)
class HouseholdView:
    id: int
    code: str
    township: str
    village: str
    head_name: str
    size: int
    status: str
    poverty_cause: str | None
    helper: str | None
    issues: list[IssueRow]
    last_changes: dict[int, LastChange]


def area_visible(scope: Scope, area: Area) -> bool:
    """True when the asker can see anything of ``area`` (else the query is refused)."""
    if scope.county_wide or scope.categories or not area.township:
        return True
    if area.township in scope.townships:
        return True
    if area.village is None:
        return any(t == area.township for t, _v in scope.villages)
    return (area.township, area.village) in scope.villages


def check_area_visible(scope: Scope, area: Area) -> None:
    """Forbidden, naming the asker's scope, when nothing of the area is visible."""
    if not area_visible(scope, area):
        raise Forbidden(f"{area.label}不在您的查看范围（{scope.describe()}）内。")


def _issue_query(scope: Scope, area: Area) -> Select:
    return (
        select(
            Issue.id, Issue.code, Township.name, Village.name, Issue.household_id, Household.head_name,
            Issue.category, Issue.description, Issue.status, Issue.deadline, Issue.responsible_unit,
            Issue.supervised,
        )
        .select_from(Issue)
        .join(Village, Issue.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .outerjoin(Household, Issue.household_id == Household.id)
        .where(scope.issue_clause(), area.clause())
    )


def _rows(session: Session, query: Select) -> list[IssueRow]:
    return [IssueRow(*row) for row in session.execute(query).all()]


def _scoped_count_base(scope: Scope, area: Area, *columns) -> Select:
    return (
        select(*columns)
        .select_from(Issue)
        .join(Village, Issue.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(scope.issue_clause(), area.clause(), Issue.status.in_(NOT_CLOSED))
    )


def area_summary(
    session: Session, scope: Scope, area: Area, today: dt.date, category: str | None = None
) -> AreaSummary:
    """Counts of non-closed issues by status and by category, with the nearest deadline."""
    check_area_visible(scope, area)

    def base(*columns) -> Select:
        query = _scoped_count_base(scope, area, *columns)
        return query.where(Issue.category == category) if category else query

    by_status = dict(session.execute(base(Issue.status, func.count(Issue.id)).group_by(Issue.status)).all())
    unresolved = Issue.status.in_(UNRESOLVED)
    rows = session.execute(
        base(
            Issue.category,
            func.count(Issue.id),
            func.sum(case((unresolved, 1), else_=0)),
            func.min(case((unresolved, Issue.deadline), else_=None)),
        ).group_by(Issue.category).order_by(func.count(Issue.id).desc(), Issue.category)
    ).all()
    overdue = session.scalar(base(func.count(Issue.id)).where(unresolved, Issue.deadline < today)) or 0
    return AreaSummary(
        area=area,
        by_status={status: int(by_status.get(status, 0)) for status in NOT_CLOSED if by_status.get(status)},
        by_category=[CategoryCount(c, int(n), int(u or 0), d) for c, n, u, d in rows],
        overdue=int(overdue),
    )


def area_issues(session: Session, scope: Scope, area: Area, category: str | None = None) -> list[IssueRow]:
    """Non-closed issues of the area within scope, nearest deadline first."""
    check_area_visible(scope, area)
    query = _issue_query(scope, area).where(Issue.status.in_(NOT_CLOSED))
    if category:
        query = query.where(Issue.category == category)
    return _rows(session, query.order_by(Issue.deadline.is_(None), Issue.deadline, Issue.code))


def due_issues(
    session: Session, scope: Scope, area: Area, today: dt.date, until: dt.date, category: str | None = None
) -> list[IssueRow]:
    """Unresolved issues whose deadline falls in [today, until], soonest first."""
    check_area_visible(scope, area)
    query = _issue_query(scope, area).where(
        Issue.status.in_(UNRESOLVED), Issue.deadline >= today, Issue.deadline <= until
    )
    if category:
        query = query.where(Issue.category == category)
    return _rows(session, query.order_by(Issue.deadline, Issue.code))


def overdue_issues(
    session: Session, scope: Scope, area: Area, today: dt.date, category: str | None = None
) -> list[IssueRow]:
    """Unresolved issues past their deadline, grouped by 责任单位, most overdue first."""
    check_area_visible(scope, area)
    query = _issue_query(scope, area).where(Issue.status.in_(UNRESOLVED), Issue.deadline < today)
    if category:
        query = query.where(Issue.category == category)
    unit = func.coalesce(Issue.responsible_unit, "")
    return _rows(session, query.order_by(unit, Issue.deadline, Issue.code))


def overdue_by_unit(
    session: Session, scope: Scope, area: Area, today: dt.date, category: str | None = None
) -> list[UnitCount]:
    """Per 责任单位: how many overdue, and the oldest deadline (as days overdue)."""
    check_area_visible(scope, area)
    unit = func.coalesce(Issue.responsible_unit, "")
    query = _scoped_count_base(scope, area, unit, func.count(Issue.id), func.min(Issue.deadline)).where(
        Issue.status.in_(UNRESOLVED), Issue.deadline < today
    )
    if category:
        query = query.where(Issue.category == category)
    rows = session.execute(query.group_by(unit).order_by(func.count(Issue.id).desc(), unit)).all()
    return [UnitCount(name or "未定", int(count), (today - oldest).days) for name, count, oldest in rows]


def household_view(session: Session, household_id: int) -> HouseholdView:
    """A household's record and its non-closed issues with each one's last change."""
    household = session.scalar(
        select(Household).where(Household.id == household_id)
        .options(joinedload(Household.village).joinedload(Village.township))
    )
    if household is None:
        raise NotFound("台账里没有这一户。")
    area = Area(household.village.township.name, household.village.name)
    issues = _rows(session, _issue_query(Scope.county(), area).where(
        Issue.household_id == household.id, Issue.status.in_(NOT_CLOSED)
    ).order_by(Issue.deadline.is_(None), Issue.deadline, Issue.code))
    return HouseholdView(
        id=household.id,
        code=household.code,
        township=area.township or "",
        village=area.village or "",
        head_name=household.head_name,
        size=household.size,
        status=household.status,
        poverty_cause=household.poverty_cause,
        helper=household.helper,
        issues=issues,
        last_changes=last_changes(session, [row.id for row in issues]),
    )


def last_changes(session: Session, issue_ids: list[int]) -> dict[int, LastChange]:
    """The latest status/deadline event of each issue (one query)."""
    if not issue_ids:
        return {}
    latest = (
        select(func.max(IssueEvent.id))
        .where(IssueEvent.issue_id.in_(issue_ids), IssueEvent.field.in_(("status", "deadline")))
        .group_by(IssueEvent.issue_id)
    )
    events = session.scalars(select(IssueEvent).where(IssueEvent.id.in_(latest))).all()
    return {e.issue_id: LastChange(e.at, e.actor, e.field, e.old_value, e.new_value) for e in events}


def issue_history(session: Session, issue_id: int, limit: int = 5) -> list[LastChange]:
    """The issue's latest events, newest first."""
    events = session.scalars(
        select(IssueEvent).where(IssueEvent.issue_id == issue_id)
        .order_by(IssueEvent.at.desc(), IssueEvent.id.desc()).limit(limit)
    ).all()
    return [LastChange(e.at, e.actor, e.field, e.old_value, e.new_value, e.change_id, e.source) for e in events]


def issue_row(session: Session, issue_id: int) -> IssueRow:
    """One issue as a row (for its card)."""
    rows = _rows(session, _issue_query(Scope.county(), Area()).where(Issue.id == issue_id))
    if not rows:
        raise NotFound("这个问题已不在台账里。")
    return rows[0]
