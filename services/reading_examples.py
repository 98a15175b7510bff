"""People's answers to the bot's readings, kept as labelled examples for the second reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ReadingExample


def keep_reading_example(
    session: Session,
    *,
    at: dt.datetime,
    user_id: int,
    text: str,
    reading: dict[str, Any],
    final: dict[str, Any],
    choice: str,
    issue_id: int | None,
    township: str | None,
    village: str | None,
) -> None:
    """Add one example (``choice``: confirmed | corrected | declined) in the caller's transaction."""
    session.add(ReadingExample(
        at=at, user_id=user_id, text=text, reading=reading, final=final, choice=choice,
        issue_id=issue_id, township=township, village=village,
    ))


def reading_examples(session: Session) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every kept example as (text, reading, final), oldest first."""
    rows = session.scalars(select(ReadingExample).order_by(ReadingExample.id))
    return [(row.text, dict(row.reading), dict(row.final)) for row in rows]
