"""The ledger -> plain gazetteer values for the parser (nlp.snapshot.LedgerSnapshot)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Household, Issue, Township, Village
from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef
from vocab import IssueStatus


def load_snapshot(session: Session) -> LedgerSnapshot:
    """Places, households and non-closed issues, read with four bulk SELECTs of plain columns."""
    townships = session.execute(select(Township.id, Township.name).order_by(Township.name)).all()
    township_names = {row.id: row.name for row in townships}
    villages = session.execute(
        select(Village.id, Village.township_id, Village.name).order_by(Village.id)
    ).all()
    village_places = {row.id: PlaceRef(township_names[row.township_id], row.name) for row in villages}
    households = session.execute(
        select(Household.id, Household.code, Household.village_id, Household.head_name)
        .order_by(Household.id)
    ).all()
    household_codes = {row.id: row.code for row in households}
    issues = session.execute(
        select(
            Issue.code, Issue.village_id, Issue.household_id, Issue.category, Issue.status,
            Issue.description,
        )
        .where(Issue.status != IssueStatus.CLOSED.value)
        .order_by(Issue.id)
    ).all()
    return LedgerSnapshot(
        townships=tuple(row.name for row in townships),
        villages=tuple(village_places[row.id] for row in villages),
        households=tuple(
            HouseholdRef(
                code=row.code,
                township=village_places[row.village_id].township,
                village=village_places[row.village_id].village,
                head=row.head_name,
            )
            for row in households
        ),
        issues=tuple(
            IssueRef(
                code=row.code,
                township=village_places[row.village_id].township,
                village=village_places[row.village_id].village,
                household_code=household_codes.get(row.household_id) if row.household_id else None,
                category=row.category,
                status=row.status,
                description=row.description or "",
            )
            for row in issues
        ),
    )
