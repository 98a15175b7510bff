"""The durable inbox of Telegram updates: nothing fetched is lost, nothing is applied twice.

An update is journaled here (its JSON, one transaction per fetched batch) before Telegram
is told it was received (the next getUpdates offset, or the webhook's 200). It is then
handled from here: delivery claims it (marks it done) and stores the engine's replies in the
same transaction as the change the engine made, and sets ``replied_at`` once the replies
went out.
A crash at any point leaves a row that says what is left to do:

- ``done_at`` empty: not handled yet (the change was rolled back or never started);
- ``done_at`` set, ``replied_at`` empty: handled, replies stored but maybe not all sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import InboxUpdate
from db.session import Database
from db.types import utcnow

# Handled and answered rows are kept this long, then dropped (delivery/pruning.py):
# they hold message texts. Telegram may also restart its update numbering after a week
# without updates; dropping old rows keeps an old id from meeting a new update.
KEEP_FINISHED = dt.timedelta(days=7)


@dataclass(frozen=True)
class InboxEntry:
    """One journaled update as plain values."""

    update_id: int
    payload: dict[str, Any]
    done: bool
    outcome: str | None
    replies: list[Any]  # JSON as stored by services.conversation.serialize
    replied: bool


def journal(database: Database, payloads: list[dict[str, Any]]) -> list[int]:
    """Store fetched updates in one transaction; return the ids not journaled before.

    Telegram re-delivers updates whose offset was not confirmed (a crash between this
    commit and the next getUpdates): those are already here and are not returned again.
    """
    if not payloads:
        return []
    try:
        return _journal(database, payloads)
    except IntegrityError:
        # Two webhook deliveries of one update raced; the second now sees the first's row.
        return _journal(database, payloads)


def _journal(database: Database, payloads: list[dict[str, Any]]) -> list[int]:
    by_id = {int(payload["update_id"]): payload for payload in payloads}
    with database.transaction() as session:
        existing = {
            row.update_id: row
            for row in session.scalars(select(InboxUpdate).where(InboxUpdate.update_id.in_(list(by_id))))
        }
        fresh, rows = [], []
        for update_id, payload in sorted(by_id.items()):
            row = existing.get(update_id)
            if row is None:
                rows.append({"update_id": update_id, "payload": payload})
                fresh.append(update_id)
            elif not same_update(row.payload, payload) and row.done_at is not None and row.replied_at is not None:
                # A finished row with a different update under its id: Telegram restarted its
                # numbering. The new update replaces the old bookkeeping.
                row.payload, row.received_at = payload, utcnow()
                row.done_at = row.outcome = row.replies = row.replied_at = None
                fresh.append(update_id)
        if rows:
            session.execute(insert(InboxUpdate.__table__), rows)  # one executemany for the batch
    return fresh


def same_update(stored: dict[str, Any], fetched: dict[str, Any]) -> bool:
    """True when two payloads with one update_id are the same update from Telegram.

    Compared by what identifies it (kind, message or query id, chat, date), not by the whole
    JSON, which differs between a webhook body and PTB's Update.to_dict() and between PTB
    versions: a re-delivered update must never look new.
    """
    kinds = [key for key in stored if key != "update_id"], [key for key in fetched if key != "update_id"]
    if kinds[0] != kinds[1] or not kinds[0]:
        return kinds[0] == kinds[1]
    a, b = stored[kinds[0][0]], fetched[kinds[1][0]]
    if not isinstance(a, dict) or not isinstance(b, dict):
        return a == b
    for key in ("message_id", "id", "date"):
        if a.get(key) != b.get(key):
            return False
    return (a.get("chat") or {}).get("id") == (b.get("chat") or {}).get("id")


def unfinished(database: Database) -> list[tuple[int, dict[str, Any]]]:
    """(update_id, payload) of updates not yet handled or not yet answered, oldest first."""
    with database.transaction() as session:
        rows = session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .where(_unfinished())
            .order_by(InboxUpdate.update_id)
        )
        return [(update_id, payload) for update_id, payload in rows]


def _unfinished():
    return or_(InboxUpdate.done_at.is_(None), InboxUpdate.replied_at.is_(None))


def load(database: Database, update_id: int) -> InboxEntry | None:
    """The journaled update ``update_id``, or None when it was never journaled."""
    with database.transaction() as session:
        row = session.get(InboxUpdate, update_id)
        return None if row is None else _entry(row)


def _entry(row: InboxUpdate) -> InboxEntry:
    return InboxEntry(
        update_id=row.update_id,
        payload=row.payload,
        done=row.done_at is not None,
        outcome=row.outcome,
        replies=list(row.replies or []),
        replied=row.replied_at is not None,
    )


def mark_done(session: Session, update_id: int, outcome: str, replies: list[Any] | None = None) -> bool:
    """Mark an update handled inside the caller's transaction; False if it already was.

    For updates that are no engine turn (delivery/chat_events.py): calling this in the same
    transaction as their change makes the change happen once. (Engine turns use
    :func:`claim` and :func:`record`, in delivery/pump.py's take_turns.)
    """
    result = session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.done_at.is_(None))
        .values(done_at=utcnow(), outcome=outcome[:32], replies=list(replies or []))
    )
    return result.rowcount == 1


def claim(session: Session, update_ids: list[int]) -> set[int]:
    """Mark updates done inside the caller's transaction before handling them; return the
    ids that were not done yet (the others are done elsewhere: don't handle them again).

    In PostgreSQL a second worker claiming the same update waits for the first one's row
    lock, then finds it done; in SQLite the write transaction already serialises them.
    """
    rows = session.execute(_stamp_unset("done_at"), {"ids": list(update_ids), "now": utcnow()})
    return {update_id for (update_id,) in rows}


@cache
def _stamp_unset(column: str) -> Update:
    """UPDATE ... SET <column> = :now for the rows of :ids where it is still empty,
    RETURNING the ids it set (built once per column: these run for every update)."""
    table = InboxUpdate.__table__
    stamp = table.c[column]
    return (
        update(table)
        .where(table.c.update_id.in_(bindparam("ids", expanding=True)), stamp.is_(None))
        .values({column: bindparam("now", type_=stamp.type)})
        .returning(table.c.update_id)
    )


def record(session: Session, results: list[tuple[int, str, list[Any]]]) -> None:
    """Store (update_id, outcome, replies) of claimed updates in the caller's transaction."""
    if results:
        session.execute(_record(), [
            {"id": update_id, "outcome": outcome[:32], "replies": list(replies)}
            for update_id, outcome, replies in results
        ])


@cache
def _record() -> Update:
    table = InboxUpdate.__table__
    return (
        update(table)
        .where(table.c.update_id == bindparam("id"))
        .values(
            outcome=bindparam("outcome", type_=table.c.outcome.type),
            replies=bindparam("replies", type_=table.c.replies.type),
        )
    )


def stored_results(database: Database, update_ids: list[int]) -> dict[int, tuple[str | None, list[Any]]]:
    """(outcome, replies) stored for updates handled before, by update id."""
    with database.transaction() as session:
        rows = session.execute(
            select(InboxUpdate.update_id, InboxUpdate.outcome, InboxUpdate.replies)
            .where(InboxUpdate.update_id.in_(update_ids))
        )
        return {update_id: (outcome, list(replies or [])) for update_id, outcome, replies in rows}


def complete(database: Database, update_id: int, outcome: str, replies: list[Any] | None = None) -> bool:
    """Mark an update handled that changed nothing (ignored kinds, transport-level answers)."""
    with database.transaction() as session:
        return mark_done(session, update_id, outcome, replies)


def mark_replied(database: Database, update_id: int) -> None:
    """Record that the stored replies of ``update_id`` were sent (or cannot ever be)."""
    with database.transaction() as session:
        mark_replied_in(session, [update_id])


def mark_replied_in(session: Session, update_ids: list[int]) -> None:
    """Record in the caller's transaction that the replies of ``update_ids`` were sent
    (delivery/pump.py's batches carry these marks)."""
    if update_ids:
        session.execute(_stamp_unset("replied_at"), {"ids": list(update_ids), "now": utcnow()}).all()


def recent_outcomes(database: Database, outcome: str, since: dt.datetime) -> list[dict[str, Any]]:
    """Payloads of updates finished with ``outcome`` since ``since`` (few rows: one kind)."""
    with database.transaction() as session:
        return list(
            session.scalars(
                select(InboxUpdate.payload).where(InboxUpdate.outcome == outcome, InboxUpdate.received_at >= since)
            )
        )


def prune(database: Database, *, now: dt.datetime | None = None) -> int:
    """Drop finished rows older than :data:`KEEP_FINISHED`; return how many."""
    cutoff = (now or utcnow()) - KEEP_FINISHED
    with database.transaction() as session:
        result = session.execute(
            delete(InboxUpdate).where(
                InboxUpdate.received_at < cutoff,
                InboxUpdate.done_at.is_not(None),
                InboxUpdate.replied_at.is_not(None),
            )
        )
        return result.rowcount


def backlog(database: Database) -> int:
    """How many updates wait to be handled or answered (for ``check`` and the logs)."""
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(InboxUpdate).where(_unfinished()))
