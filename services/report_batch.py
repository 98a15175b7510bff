"""A batch's report writes sent to PostgreSQL as one statement instead of one each.

A report's write is an UPDATE guarded by the version read and by "no such text from the
sender lately", with its events inserted only if the UPDATE was made
(services/reports.py ``_write_report``); alone it is one round trip to the server, and in
a batch of 20 turns those round trips were most of the engine's wall time. Inside
:func:`batched_report_writes` (the engine's first run of a batch, on PostgreSQL) a write is
queued instead and the report goes on as if it had been made; the queue is sent as one
statement before anything else reaches the connection (a read, a flush, a savepoint, the
commit) and at the end of the batch. Should a guard fail for any queued write (someone
changed the issue, or the same text came twice), the whole batch is run again with a
savepoint per turn and writes sent one by one (the engine's redo), so every reply still
says what was written. What a rolled-back savepoint held is dropped from the queue, as
the server drops what it had run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# SQLAlchemy's own ARRAY: importing the PostgreSQL dialect's would cost a bot on SQLite ~5 MB.
from sqlalchemy import (
    ARRAY, Connection, Insert, Integer, String, Text, bindparam, column, event, exists, func, insert, select, update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.models import Issue, IssueEvent
from db.types import UTCDateTime
from services.issue_events import EVENT_COLUMNS, same_text_conditions
from services.issue_preload import KEEPS_PRELOADED_ISSUES

_QUEUE = "report_writes"  # Connection.info key: the _Queue of the batch running on it


class WritesRefused(Exception):
    """A queued report's guard failed (or its write could not be checked): the batch must
    run again with its writes one by one."""


@dataclass
class _Queue:
    writes: list[dict[str, Any]] = field(default_factory=list)  # one per report: the UPDATE's values
    events: list[dict[str, Any]] = field(default_factory=list)  # the events' rows, "k" = the write's index
    issues: set[int] = field(default_factory=set)
    refused: bool = False  # a send failed its guards: the batch is redone whatever else happens


def listen(engine: Engine) -> None:
    """Watch ``engine``'s connections so that queued writes go out before anything else
    (once, when the conversation engine is built; a batch queues nothing without it).
    PostgreSQL only: SQLite has no round trip to save, and every listener costs each statement."""
    if engine.dialect.name == "postgresql" and not event.contains(engine, "before_execute", _before_execute):
        event.listen(engine, "before_execute", _before_execute)
        event.listen(engine, "rollback", _on_rollback)
        event.listen(engine, "rollback_savepoint", _on_rollback)


@contextmanager
def batched_report_writes(session: Session) -> Iterator[None]:
    """Queue report writes on the session's connection until the block ends (once
    :func:`listen` watches its engine; elsewhere writes run at once). Raises
    :class:`WritesRefused` at the end if any queued write was not made."""
    connection = session.connection()
    if not event.contains(connection.engine, "before_execute", _before_execute):
        yield
        return
    info = connection.info  # held: an invalidated connection's .info raises
    queue = info[_QUEUE] = _Queue()
    try:
        yield
        _send(connection, queue)
    finally:
        info.pop(_QUEUE, None)
    if queue.refused:  # an earlier send, whose refusal a turn may have caught
        raise WritesRefused("a report's write was refused by its guards")


def queue_report_write(session: Session, issue_id: int, update: dict[str, Any], events: list[dict[str, Any]]) -> bool:
    """Queue one report's write (``update``: the UPDATE's parameters as _write_report builds
    them; ``events``: event_rows of it); False when no batch queues writes here (write now)."""
    connection = session.connection()
    queue = connection.info.get(_QUEUE)
    if queue is None:
        return False
    if issue_id in queue.issues:  # one write per issue a statement: its guards see the one before
        _send(connection, queue)
    k = len(queue.writes)
    queue.writes.append({**update, "issue_id": issue_id, "k": k})
    queue.events += [{**row, "k": k} for row in events]
    queue.issues.add(issue_id)
    return True


def _send(connection: Connection, queue: _Queue) -> None:
    """Run the queued writes as one statement; note a refusal if fewer events were written
    than queued (some UPDATE's guard failed)."""
    if not queue.writes:
        return
    writes, events = queue.writes, queue.events
    queue.writes, queue.events, queue.issues = [], [], set()  # first: its own execute passes _before_execute
    params = {f"w_{name}": [w[name] for w in writes] for name, _ in _WRITE_COLUMNS}
    params |= {f"e_{name}": [e[name] for e in events] for name, _ in _EVENT_COLUMNS}
    written = connection.execute(_batch_write(), params).rowcount
    if written != len(events):
        queue.refused = True
        raise WritesRefused(f"{len(events) - written} of {len(events)} events not written")


# ---- when the queue goes out: connection events (every statement, ORM or not, and savepoints)


def _before_execute(connection: Connection, *_args: Any) -> None:
    # Reads must see the queued writes, and a SAVEPOINT or RELEASE must come after them.
    queue = connection.info.get(_QUEUE)
    if queue is not None:
        _send(connection, queue)


def _on_rollback(connection: Connection, *_args: Any) -> None:
    # What was queued since the savepoint began (it flushed the queue) is rolled back with it.
    if connection.invalidated:  # the server dropped it: nothing of the batch stays anyway
        return
    queue = connection.info.get(_QUEUE)
    if queue is not None:
        queue.writes, queue.events, queue.issues = [], [], set()


# ---- the statement ----------------------------------------------------------------------------


_WRITE_COLUMNS = (
    ("k", Integer()), ("issue_id", Integer()), ("seen_version", Integer()), ("new_status", String()),
    ("new_deadline", Issue.__table__.c.deadline.type), ("new_updated_at", UTCDateTime()),
    ("new_version", Integer()), ("user_id", Integer()), ("text", Text()), ("since", UTCDateTime()),
)
_EVENT_COLUMNS = (("k", Integer()), *((name, IssueEvent.__table__.c[name].type) for name in EVENT_COLUMNS[1:]))


def _rows(prefix: str, columns: tuple, name: str):
    """unnest(:prefix_a, :prefix_b, ...) AS name(a, b, ...): one array parameter a column."""
    arrays = [bindparam(f"{prefix}_{col}", type_=ARRAY(type_)) for col, type_ in columns]
    return func.unnest(*arrays).table_valued(*(column(col, type_) for col, type_ in columns)).render_derived(name)


@cache
def _batch_write() -> Insert:
    """WITH updated AS (UPDATE issue ... FROM the writes WHERE version and same-text guards
    RETURNING k, id) INSERT INTO issue_event SELECT the events of the writes made."""
    issues, events = Issue.__table__, IssueEvent.__table__
    writes = _rows("w", _WRITE_COLUMNS, "w")
    w = writes.c
    updated = (
        update(issues)
        .where(issues.c.id == w.issue_id, issues.c.version == w.seen_version,
               ~exists().where(*same_text_conditions(w.issue_id, w.user_id, w.text, w.since)))
        .values(status=w.new_status, deadline=w.new_deadline, updated_at=w.new_updated_at, version=w.new_version)
        .returning(w.k, issues.c.id)
        .cte("updated")
    )
    rows = _rows("e", _EVENT_COLUMNS, "e")
    made = select(updated.c.id, *(rows.c[name] for name in EVENT_COLUMNS[1:])).join_from(
        rows, updated, rows.c.k == updated.c.k)
    # The INSERT's rowcount is kept only when asked for: it says how many UPDATEs were made.
    return insert(events).from_select(list(EVENT_COLUMNS), made).execution_options(
        preserve_rowcount=True, **{KEEPS_PRELOADED_ISSUES: True})
