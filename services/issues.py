"""Finding issues: by code, the next free code, and the open issues a report refers to.

A *target* is a concrete place a message speaks about: a village, optionally one household
in it. The parser names places by text; here they become rows, and a report becomes the
list of non-closed issues of that target and category.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from db.models import Household, Issue, Township, Village
from services.errors import NotFound
from services.issue_preload import preloaded_village_issues
from vocab import IssueStatus

if TYPE_CHECKING:
    from nlp.parser import Parse

CODE_PREFIX = "ZG-"
_CODE_RE = re.compile(r"^\s*(?:ZG)?\s*[-－_]?\s*0*(\d{1,7})\s*$", re.IGNORECASE)
_CODE_IN_TEXT = re.compile(r"ZG[-－_]?\d{1,7}", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A village, or one household in it, that a message is about."""

    village_id: int
    township: str
    village: str
    household_id: int | None = None
    household: str | None = None  # head's name
    household_code: str | None = None

    @property
    def place(self) -> str:
        return f"{self.township}{self.village}"

    def label(self, *, with_household: bool) -> str:
        """Place, plus the household when the reader may see it (private, in scope)."""
        if self.household_id is None:
            return self.place
        if with_household:
            return f"{self.place} {self.household}"
        return f"{self.place}（某户）"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(**data)


def target_of_issue(issue: Issue) -> Target:
    """The village (and household) an issue belongs to."""
    household = issue.household
    return Target(
        village_id=issue.village_id,
        township=issue.village.township.name,
        village=issue.village.name,
        household_id=household.id if household else None,
        household=household.head_name if household else None,
        household_code=household.code if household else None,
    )


def code_in_text(text: str) -> str | None:
    """The first thing that looks like an issue code (ZG-0001) in ``text``."""
    found = _CODE_IN_TEXT.search(text or "")
    return found.group(0) if found else None


def issue_by_code(session: Session, text: str) -> Issue:
    """The issue with code ``text`` (ZG-0001, zg-1, ZG-001, 1 all find ZG-0001)."""
    raw = (text or "").strip().upper().replace("－", "-")
    if not raw:
        raise NotFound("请写明问题编号，例如 ZG-0001。")
    issue = session.scalar(select(Issue).where(Issue.code == raw))
    if issue is None:
        match = _CODE_RE.match(raw)
        if match:
            number = int(match.group(1))
            issue = session.scalar(select(Issue).where(Issue.code == f"{CODE_PREFIX}{number:04d}"))
    if issue is None:
        raise NotFound(f"没有编号为 {text.strip()} 的问题。")
    return issue


def next_issue_code(session: Session) -> str:
    """ZG-NNNN after the highest numeric ZG code in the ledger."""
    # Longest, then highest, codes first: the numeric maximum among ZG-<digits> codes is
    # near the top; a few non-numeric codes (imported by hand) are skipped.
    codes = session.scalars(
        select(Issue.code)
        .where(Issue.code.like(f"{CODE_PREFIX}%"))
        .order_by(func.length(Issue.code).desc(), Issue.code.desc())
        .limit(50)
    ).all()
    highest = max((int(c[len(CODE_PREFIX):]) for c in codes if c[len(CODE_PREFIX):].isdigit()), default=0)
    return f"{CODE_PREFIX}{highest + 1:04d}"


def _village_targets(session: Session, township: str | None, village: str | None) -> list[Target]:
    rows = session.execute(_village_query(village is not None, township is not None),
                           {"village": village, "township": township})
    return [Target(village_id, township_name, village_name) for village_id, township_name, village_name in rows]


class VillageDirectory:
    """Every village as a target, by name: read once with the parser (services.parser_provider
    builds both from one snapshot of the ledger), so that a report names its village
    without a SELECT. It resolves exactly the names that parser can read, to the ids they
    had then; no code path deletes a village, so an id always means the same village
    (renamed or not), and every write checks the sender's rights on the issue's place as it
    is now."""

    def __init__(self, targets: list[Target]) -> None:
        """``targets`` in the ledger's order (by township, then village name)."""
        self._by_name: dict[str, list[Target]] = {}
        for target in targets:
            self._by_name.setdefault(target.village, []).append(target)

    @classmethod
    def load(cls, session: Session) -> VillageDirectory:
        return cls(_village_targets(session, None, None))

    def targets(self, township: str | None, village: str) -> list[Target]:
        """As :func:`targets_for` finds a village (and township) named so."""
        return [t for t in self._by_name.get(village, ()) if township is None or t.township == township]


@cache
def _village_query(by_village: bool, by_township: bool) -> Select:
    villages, townships = Village.__table__, Township.__table__  # Core: no ORM entities to load
    query = select(villages.c.id, townships.c.name, villages.c.name).join_from(villages, townships)
    if by_village:
        query = query.where(villages.c.name == bindparam("village"))
    if by_township:
        query = query.where(townships.c.name == bindparam("township"))
    return query.order_by(townships.c.name, villages.c.name)


def targets_for(
    session: Session,
    *,
    township: str | None,
    village: str | None,
    household: str | None,
    household_code: str | None = None,
    villages: VillageDirectory | None = None,
) -> list[Target]:
    """Every concrete target that these names can mean (several when they are ambiguous);
    a village is looked up in ``villages`` when given, else in the ledger."""
    if household_code:
        row = session.scalar(
            select(Household).where(Household.code == household_code)
            .options(joinedload(Household.village).joinedload(Village.township))
        )
        if row is not None:
            return [_household_target(row)]
    if household:
        query = (
            select(Household).join(Village).join(Township)
            .where(Household.head_name == household)
            .options(joinedload(Household.village).joinedload(Village.township))
            .order_by(Township.name, Village.name, Household.code)
        )
        if village:
            query = query.where(Village.name == village)
        if township:
            query = query.where(Township.name == township)
        return [_household_target(row) for row in session.scalars(query).unique().all()]
    if village:
        return villages.targets(township, village) if villages else _village_targets(session, township, village)
    return []


def _household_target(row: Household) -> Target:
    return Target(
        village_id=row.village_id,
        township=row.village.township.name,
        village=row.village.name,
        household_id=row.id,
        household=row.head_name,
        household_code=row.code,
    )


def targets_from_parse(session: Session, parse: Parse, villages: VillageDirectory | None = None) -> list[Target]:
    """The parse's own place first, then its candidates; duplicates dropped (``villages``:
    the directory read with the parser that made ``parse``)."""
    found: list[Target] = []
    for place in (parse, *parse.candidates):
        found.extend(targets_for(
            session,
            township=place.township,
            village=place.village,
            household=place.household,
            household_code=place.household_code,
            villages=villages,
        ))
    unique: list[Target] = []
    for target in found:
        if target not in unique:
            unique.append(target)
    return unique


def open_issues_for(session: Session, target: Target, category: str | None) -> list[Issue]:
    """Non-closed issues of the target (and category, when given), oldest code first.

    For a village target, issues of the village itself come before household issues; when
    the village has village-level issues of that category, household issues are left out
    (a cadre saying "东台村饮水问题" means the village's). Village-level issues preloaded for
    the batch (services/issue_preload.py) answer without a SELECT.
    """
    if target.household_id is None:
        preloaded = preloaded_village_issues(session, target.village_id, category)
        if preloaded is not None:  # the village's own issues of the category leave household ones out
            return preloaded
    query = _open_issues_query(category is not None, target.household_id is not None)
    params = {"village_id": target.village_id, "category": category, "household_id": target.household_id}
    issues = list(session.scalars(query, params).unique().all())
    if target.household_id is None:
        village_level = [issue for issue in issues if issue.household_id is None]
        if village_level:
            return village_level
    return issues


@cache
def _open_issues_query(by_category: bool, by_household: bool) -> Select:
    """Built once per shape: this runs for every report."""
    query = (
        select(Issue)
        .where(Issue.village_id == bindparam("village_id"), Issue.status != IssueStatus.CLOSED.value)
        .options(joinedload(Issue.village).joinedload(Village.township), joinedload(Issue.household))
        .order_by(Issue.code)
    )
    if by_category:
        query = query.where(Issue.category == bindparam("category"))
    if by_household:
        query = query.where(Issue.household_id == bindparam("household_id"))
    return query


def issue_with_place(session: Session, issue_id: int) -> Issue | None:
    """The issue with its village, township and household loaded; None when it is gone."""
    return session.scalar(
        select(Issue).where(Issue.id == issue_id)
        .options(joinedload(Issue.village).joinedload(Village.township), joinedload(Issue.household))
    )


def closed_issues_for(session: Session, target: Target, category: str | None) -> list[Issue]:
    """Closed-out issues of the target and category (to explain why a report changed nothing)."""
    query = select(Issue).where(
        Issue.village_id == target.village_id, Issue.status == IssueStatus.CLOSED.value
    )
    if category:
        query = query.where(Issue.category == category)
    if target.household_id is not None:
        query = query.where(Issue.household_id == target.household_id)
    return list(session.scalars(query.order_by(Issue.code)).all())
