"""The ledger's townships and villages, found by the name a person typed or by id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Township, Village

Place = tuple[str, str | None]  # (township, village); village None: the whole township


def places_named(session: Session, name: str) -> list[Place]:
    """The places ``name`` means: 东光镇 -> [(东光镇, None)]; 东光镇/东台村 -> that village;
    东台村 -> every village of that name, by township. Empty when the ledger has none.
    A township wins over a village of the same name."""
    name = name.strip().replace("／", "/")
    if not name:
        return []
    if "/" in name:
        township, village = (part.strip() for part in name.split("/", 1))
        return [(township, village)] if village_id(session, township, village) is not None else []
    if township_id(session, name) is not None:
        return [(name, None)]
    townships = session.scalars(
        select(Township.name).join(Village).where(Village.name == name).order_by(Township.name)
    ).all()
    return [(township, name) for township in townships]


def township_id(session: Session, name: str) -> int | None:
    """The id of the township called ``name``."""
    return session.scalar(select(Township.id).where(Township.name == name))


def village_id(session: Session, township: str, village: str) -> int | None:
    """The id of ``village`` of ``township``."""
    return session.scalar(
        select(Village.id).join(Township).where(Township.name == township, Village.name == village)
    )


def township_by_id(session: Session, township_id: int) -> str | None:
    """The name of the township with this id."""
    township = session.get(Township, township_id)
    return township.name if township is not None else None


def village_by_id(session: Session, village_id: int) -> tuple[str, str] | None:
    """(township, village) of the village with this id."""
    village = session.get(Village, village_id)
    return (village.township.name, village.name) if village is not None else None
