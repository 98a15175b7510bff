"""The ledger's history: one IssueEvent row per changed field, grouped by a change id.

Every writer of history (reports, close-outs, undo, the Excel import) builds its rows with
:func:`event_rows` and inserts them with :func:`write_events`; rows are never updated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from db.models import IssueEvent
from services.issue_preload import KEEPS_PRELOADED_ISSUES

CREATED = "created"  # the field of an issue's first event: new value its code (or status, imported)
Field = tuple[str, str | None, str | None]  # (field, old value, new value)
# The columns of an event row, issue_id first (the one a report's PostgreSQL path takes from its UPDATE).
EVENT_COLUMNS = (
    "issue_id", "change_id", "user_id", "actor", "at", "field", "old_value", "new_value",
    "message_text", "source", "chat_id", "message_id", "undoes",
)


def new_change_id() -> str:
    """A fresh id grouping the events of one act."""
    return str(uuid.uuid4())


def event_rows(
    issue_id: int,
    fields: Iterable[Field],
    at: dt.datetime,
    *,
    change_id: str,
    actor: str,
    source: str,
    user_id: int | None = None,
    message_text: str | None = None,
    chat_id: int | None = None,
    message_id: int | None = None,
    undoes: str | None = None,
) -> list[dict[str, Any]]:
    """One issue_event row per field of one change, as INSERT parameters (keys: EVENT_COLUMNS).
    ``actor``: the user's name (or "import"); the message columns say where the change came from."""
    return [
        {
            "issue_id": issue_id, "change_id": change_id, "user_id": user_id, "actor": actor,
            "at": at, "field": name, "old_value": old, "new_value": new, "message_text": message_text,
            "source": str(source), "chat_id": chat_id, "message_id": message_id, "undoes": undoes,
        }
        for name, old, new in fields
    ]


def write_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert history rows with one executemany (NULLs sent as such, so rows with and
    without a value share one batch; they are never read back as objects in the turn that
    writes them)."""
    if rows:  # history changes no issue: preloaded ones stay as they are
        session.execute(insert(IssueEvent.__table__).execution_options(**{KEEPS_PRELOADED_ISSUES: True}), rows)


def undone_change_ids(issue_id: Any = None):
    """Ids of changes an undo reverted (an undo is an event on the issue it reverts)."""
    query = select(IssueEvent.undoes).where(IssueEvent.undoes.is_not(None))
    return query if issue_id is None else query.where(IssueEvent.issue_id == issue_id)


def same_text_conditions(issue_id: Any, user_id: Any, text: Any, since: Any) -> tuple:
    """The sender's own not-undone event on the issue from the same text since ``since``,
    with no change to the issue after it: a report sent again after someone else changed the
    issue (a supervisor reopened it) is a new report of the current state, not a double.
    The four are SQL expressions: one report's bound parameters, or a batch's columns
    (services/report_batch.py)."""
    events = IssueEvent.__table__
    later = events.alias("later")
    return (
        events.c.issue_id == issue_id,
        events.c.user_id == user_id,
        events.c.message_text == text,
        events.c.at >= since,
        events.c.undoes.is_(None),
        # correlated to a batch's columns (when given), never to the events read here
        events.c.change_id.not_in(undone_change_ids(issue_id).correlate_except(events)),
        ~exists().where(later.c.issue_id == events.c.issue_id, later.c.id > events.c.id,
                        later.c.change_id != events.c.change_id),
    )


def latest_change_id(
    session: Session, issue_id: int, *, field: str | None = None, new_value: str | None = None
) -> str | None:
    """The change id of the issue's latest event (of ``field`` set to ``new_value``, if given)."""
    query = select(IssueEvent.change_id).where(IssueEvent.issue_id == issue_id)
    if field is not None:
        query = query.where(IssueEvent.field == field)
    if new_value is not None:
        query = query.where(IssueEvent.new_value == new_value)
    return session.scalar(query.order_by(IssueEvent.at.desc(), IssueEvent.id.desc()).limit(1))
