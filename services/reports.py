"""Changing the ledger: apply a report, record a new issue, undo, close out, reopen.

Every change writes IssueEvents (who, when, field, old -> new, the original text, chat and
message id, source) in the caller's transaction, grouped by one ``change_id`` so that undo
reverts the act as a whole. History is never edited: undo is a new change. ``Issue.version``
guards against two people changing one issue at the same moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Row,
    Select,
    Update,
    bindparam,
    exists,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from db.models import Evidence, Issue, IssueEvent, User
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.issue_events import (
    CREATED,
    EVENT_COLUMNS,
    event_rows,
    new_change_id,
    same_text_conditions,
    undone_change_ids,
    write_events,
)
from services.issue_preload import KEEPS_PRELOADED_ISSUES
from services.issues import Target, next_issue_code
from services.report_batch import queue_report_write
from services.scope import BUREAU_CATEGORIES, may_close, may_write, write_refusal
from vocab import IssueStatus

# The parser's status words -> ledger statuses. A report sets at most 已整改.
STATUS_FROM_PARSE: dict[str, IssueStatus] = {
    "resolved": IssueStatus.RECTIFIED,
    "in_progress": IssueStatus.IN_PROGRESS,
    "open": IssueStatus.OPEN,
}
PARSE_FROM_STATUS: dict[str, str] = {status.value: word for word, status in STATUS_FROM_PARSE.items()}
REPORTABLE = frozenset({IssueStatus.OPEN, IssueStatus.IN_PROGRESS, IssueStatus.RECTIFIED})
REVERTABLE_FIELDS = ("status", "deadline")
REASON = "reason"
CLOSE_REASON = "close_reason"  # 销号 without the evidence the category asks for: why


@dataclass(frozen=True)
class Actor:
    """Who acts and from which message: goes into every event of the change."""

    user: User
    source: str
    text: str | None = None
    chat_id: int | None = None
    message_id: int | None = None

    def event_columns(self) -> dict[str, Any]:
        """What each event of the actor's change records of them (see issue_events.event_rows)."""
        return {"actor": self.user.name, "source": self.source, "user_id": self.user.id,
                "message_text": self.text, "chat_id": self.chat_id, "message_id": self.message_id}


@dataclass
class Change:
    """The outcome of one act on one issue. ``fields`` is empty when nothing changed;
    ``duplicate`` when the same report was already recorded a moment ago."""

    change_id: str
    issue: Issue
    fields: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    created: bool = False
    duplicate: bool = False
    undoes: str | None = None
    previous_actor: str | None = None  # for "已记录过": who recorded it

    @property
    def changed(self) -> bool:
        return bool(self.fields) or self.created


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _place(issue: Issue) -> tuple[str, str]:
    return issue.village.township.name, issue.village.name


def _check_may_write(user: User, issue: Issue) -> None:
    township, village = _place(issue)
    if not may_write(user, township, village, issue.category):
        raise Forbidden(write_refusal(user))


def _write_events(
    session: Session,
    issue: Issue,
    fields: list[tuple[str, str | None, str | None]],
    actor: Actor,
    now: dt.datetime,
    *,
    undoes: str | None = None,
) -> str:
    """Insert one event per field, grouped by a new change id."""
    change_id = new_change_id()
    rows = event_rows(issue.id, fields, now, change_id=change_id, undoes=undoes, **actor.event_columns())
    write_events(session, rows)
    return change_id


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("该问题刚被别人修改过，请查看后重发。") from None


def _set_fields(issue: Issue, fields: list[tuple[str, str | None, str | None]], now: dt.datetime) -> None:
    for name, _old, new in fields:
        if name == "status":
            issue.status = new
        elif name == "deadline":
            issue.deadline = dt.date.fromisoformat(new) if new else None
    issue.updated_at = now


def _recent_same_text(
    session: Session, issue_id: int, actor: Actor, since: dt.datetime
) -> Row | None:
    """(change_id, actor) of the sender's own not-undone event on this issue from the same
    text since ``since``."""
    if not actor.text:
        return None
    return session.execute(_same_text_query(), _same_text_params(issue_id, actor, since)).first()


def _same_text_params(issue_id: int, actor: Actor, since: dt.datetime) -> dict[str, Any]:
    return {"issue_id": issue_id, "user_id": actor.user.id, "text": actor.text, "since": since}


def _same_text_guard() -> tuple:
    """:func:`same_text_conditions` on the report's bound parameters."""
    return same_text_conditions(bindparam("issue_id"), bindparam("user_id"), bindparam("text"),
                                bindparam("since", type_=IssueEvent.__table__.c.at.type))


@cache
def _same_text_query() -> Select:
    events = IssueEvent.__table__
    return (
        select(events.c.change_id, events.c.actor)
        .where(*_same_text_guard())
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(1)
    )


def _recent_same_values(
    session: Session, issue: Issue, wanted: dict[str, str], since: dt.datetime
) -> IssueEvent | None:
    """Someone's recent event that already set one of ``wanted``'s values on this issue."""
    for name, value in wanted.items():
        event = session.scalars(
            select(IssueEvent).where(
                IssueEvent.issue_id == issue.id,
                IssueEvent.field == name,
                IssueEvent.new_value == value,
                IssueEvent.at >= since,
                IssueEvent.change_id.not_in(undone_change_ids(issue.id)),
            ).order_by(IssueEvent.at.desc(), IssueEvent.id.desc()).limit(1)
        ).first()
        if event is not None:
            return event
    return None


def apply_report(
    session: Session,
    issue: Issue,
    *,
    status: str | None,
    deadline: dt.date | None,
    actor: Actor,
    now: dt.datetime,
    duplicate_window_minutes: int,
    expected_version: int | None = None,
) -> Change:
    """Set status (未整改/整改中/已整改) and/or 整改期限 of a non-closed issue. The supervision
    office (and admins) may set a deadline alone anywhere: a dated order (督办)."""
    if not (status is None and deadline is not None and may_close(actor.user)):
        _check_may_write(actor.user, issue)
    if issue.status == IssueStatus.CLOSED:
        raise Conflict(f"{issue.code} 已销号，报告不能修改；如问题复发，请联系督巡办重新打开。")
    if status is not None and status not in REPORTABLE:
        raise Forbidden("报告最多改为“已整改”；销号由督巡办办理。")
    if status is None and deadline is None:
        raise InvalidInput("没看出进展：请说明已整改、整改中还是未整改，或新的整改期限。")
    if expected_version is not None and issue.version != expected_version:
        raise Conflict(f"{issue.code} 在此期间已被修改，请查看后重新报告。")
    since = now - dt.timedelta(minutes=duplicate_window_minutes)
    fields: list[tuple[str, str | None, str | None]] = []
    if status is not None and status != issue.status:
        fields.append(("status", issue.status, str(status)))
    if deadline is not None and deadline != issue.deadline:
        fields.append(("deadline", _iso(issue.deadline), _iso(deadline)))
    # The same text from the sender a moment ago is "已记录过", whatever it would change
    # now; with fields to set, that check rides in the UPDATE (see _write_report).
    change_id = _write_report(session, issue, fields, now, actor, since) if fields else None
    if change_id is None:
        earlier = _recent_same_text(session, issue.id, actor, since)
        if earlier is None and not fields:
            wanted = {"status": str(status)} if status else {"deadline": _iso(deadline)}
            earlier = _recent_same_values(session, issue, wanted, since)
        if earlier is not None:
            return Change(earlier.change_id, issue, duplicate=True, previous_actor=earlier.actor)
        if fields:
            raise Conflict("该问题刚被别人修改过，请查看后重发。")
        return Change("", issue)
    return Change(change_id, issue, fields)


def _write_report(
    session: Session,
    issue: Issue,
    fields: list[tuple[str, str | None, str | None]],
    now: dt.datetime,
    actor: Actor,
    since: dt.datetime,
) -> str | None:
    """Set a report's status and deadline with one UPDATE, write its events, and tell the
    loaded issue (the hot path of every report; a report never closes or reopens, so
    nothing the parser knows changes). The UPDATE holds two guards and changes nothing
    when either fails: the version read (nobody changed the issue meanwhile) and, when the
    report has a text, that the sender sent none like it lately (no "已记录过"). Returns
    the change id, or None when a guard failed (then nothing was written).

    On PostgreSQL the UPDATE and the events' INSERT are one statement (the UPDATE as a
    common table expression, so an event row exists only if the UPDATE changed the issue):
    one round trip to the server instead of two."""
    new = {"status": issue.status, "deadline": issue.deadline}
    for name, _old, value in fields:
        new[name] = dt.date.fromisoformat(value) if name == "deadline" and value else value
    params = {"seen_version": issue.version, "new_status": new["status"], "new_deadline": new["deadline"],
              "new_updated_at": now, "new_version": issue.version + 1}
    params.update(_same_text_params(issue.id, actor, since))
    change_id = new_change_id()
    events = event_rows(issue.id, fields, now, change_id=change_id, **actor.event_columns())
    if queue_report_write(session, issue.id, params, events):
        written = True  # sent with the batch's other writes; if not made, the batch runs again
    elif session.get_bind().dialect.name == "postgresql":
        params.update(_numbered(events))
        written = session.execute(_report_write(bool(actor.text), len(fields)), params).rowcount == len(fields)
    else:
        written = session.execute(_report_update(bool(actor.text)), params).rowcount == 1
        if written:
            write_events(session, events)
    if not written:
        return None
    for name, value in (*new.items(), ("updated_at", now), ("version", issue.version + 1)):
        set_committed_value(issue, name, value)
    return change_id


def _numbered(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The event rows as the parameters of :func:`_report_write`: ``{column}_{n}`` for row n."""
    return {f"{column}_{number}": value
            for number, row in enumerate(events) for column, value in row.items() if column != "issue_id"}


@cache
def _report_write(unless_same_text: bool, field_count: int) -> Insert:
    """PostgreSQL: WITH updated AS (the report's UPDATE ... RETURNING id) INSERT INTO
    issue_event SELECT one row per field FROM updated (the rows of :func:`event_rows`,
    as :func:`_numbered` parameters)."""
    events = IssueEvent.__table__
    updated = _report_update(unless_same_text).returning(Issue.__table__.c.id).cte("updated")
    columns = EVENT_COLUMNS[1:]  # issue_id comes from the UPDATE
    rows = [
        select(updated.c.id, *(bindparam(f"{column}_{number}", type_=events.c[column].type) for column in columns))
        for number in range(field_count)
    ]
    rows_written = union_all(*rows) if len(rows) > 1 else rows[0]
    # An INSERT's rowcount is kept only when asked for: it says whether the UPDATE was made.
    return insert(events).from_select(list(EVENT_COLUMNS), rows_written).execution_options(
        preserve_rowcount=True, **{KEEPS_PRELOADED_ISSUES: True}
    )


@cache
def _report_update(unless_same_text: bool) -> Update:
    table = Issue.__table__
    guards = [table.c.id == bindparam("issue_id"), table.c.version == bindparam("seen_version")]
    if unless_same_text:
        guards.append(~exists().where(*_same_text_guard()))
    return (
        update(table)
        .where(*guards)
        .values(
            status=bindparam("new_status", type_=table.c.status.type),
            deadline=bindparam("new_deadline", type_=table.c.deadline.type),
            updated_at=bindparam("new_updated_at", type_=table.c.updated_at.type),
            version=bindparam("new_version", type_=table.c.version.type),
        )
        .execution_options(**{KEEPS_PRELOADED_ISSUES: True})  # _write_report tells the loaded issue
    )


def default_responsible_unit(category: str, township: str) -> str:
    """The bureau that owns a category (饮水 -> 水利局), else the township."""
    for bureau, categories in BUREAU_CATEGORIES.items():
        if categories == (category,):
            return bureau
    return township


def record_issue(
    session: Session,
    *,
    target: Target,
    category: str,
    status: str,
    deadline: dt.date | None,
    description: str,
    actor: Actor,
    now: dt.datetime,
    duplicate_window_minutes: int,
    responsible_unit: str | None = None,
) -> Change:
    """Add a new issue to the ledger (status 未整改 or 整改中) with its creation events."""
    if not may_write(actor.user, target.township, target.village, category):
        raise Forbidden(write_refusal(actor.user))
    if status not in (IssueStatus.OPEN, IssueStatus.IN_PROGRESS):
        raise InvalidInput("新问题的状态只能是未整改或整改中。")
    since = now - dt.timedelta(minutes=duplicate_window_minutes)
    if actor.text:
        earlier = session.scalars(
            select(IssueEvent).where(
                IssueEvent.user_id == actor.user.id,
                IssueEvent.field == CREATED,
                IssueEvent.message_text == actor.text,
                IssueEvent.at >= since,
            ).order_by(IssueEvent.id.desc()).limit(1)
        ).first()
        if earlier is not None:
            return Change(earlier.change_id, earlier.issue, duplicate=True, previous_actor=earlier.actor)
    for _attempt in range(5):
        code = next_issue_code(session)
        try:
            with session.begin_nested():
                issue = Issue(
                    code=code,
                    village_id=target.village_id,
                    household_id=target.household_id,
                    category=category,
                    description=description.strip()[:500] or category,
                    status=str(status),
                    deadline=deadline,
                    responsible_unit=responsible_unit or default_responsible_unit(category, target.township),
                    supervised=False,
                    created_at=now,
                    updated_at=now,
                )
                session.add(issue)
                session.flush()
        except IntegrityError:
            continue  # another report took this code at the same moment: take the next one
        break
    else:
        raise Conflict("编号冲突，请重发。")
    fields: list[tuple[str, str | None, str | None]] = [(CREATED, None, issue.code), ("status", None, str(status))]
    if deadline is not None:
        fields.append(("deadline", None, _iso(deadline)))
    change_id = _write_events(session, issue, fields, actor, now)
    session.flush()
    return Change(change_id, issue, fields[1:], created=True)


def last_change_of(session: Session, user: User) -> list[IssueEvent]:
    """The events of the user's latest change that is neither an undo nor undone."""
    latest = session.scalars(
        select(IssueEvent).where(
            IssueEvent.user_id == user.id,
            IssueEvent.undoes.is_(None),
            IssueEvent.change_id.not_in(undone_change_ids()),
        ).order_by(IssueEvent.at.desc(), IssueEvent.id.desc()).limit(1)
    ).first()
    if latest is None:
        return []
    return list(session.scalars(
        select(IssueEvent).where(IssueEvent.change_id == latest.change_id).order_by(IssueEvent.id)
    ).all())


def undo_last_change(session: Session, *, actor: Actor, now: dt.datetime, undo_minutes: int) -> Change:
    """Revert the sender's last change within ``undo_minutes`` as a new change."""
    events = last_change_of(session, actor.user)
    if not events:
        raise NotFound("您还没有可撤销的修改。")
    first = events[0]
    issue = first.issue
    if first.at < now - dt.timedelta(minutes=undo_minutes):
        raise Conflict(f"您最近的修改（{issue.code}）已超过 {undo_minutes} 分钟，不能撤销。")
    if any(event.field == CREATED for event in events):
        raise Conflict(f"{issue.code} 是新登记的问题，不能撤销；如登记有误请联系管理员。")
    fields = [(e.field, e.old_value, e.new_value) for e in events if e.field in REVERTABLE_FIELDS]
    current = {"status": issue.status, "deadline": _iso(issue.deadline)}
    if any(current[name] != new for name, _old, new in fields):
        raise Conflict(f"{issue.code} 之后已被他人修改，不能撤销。")
    touches_closed = any(
        name == "status" and IssueStatus.CLOSED in (old, new) for name, old, new in fields
    )
    if touches_closed:
        if not may_close(actor.user):
            raise Forbidden("只有督巡办或管理员可以撤销销号。")
    else:
        _check_may_write(actor.user, issue)
    reverse = [(name, new, old) for name, old, new in fields]
    change_id = _write_events(session, issue, reverse, actor, now, undoes=first.change_id)
    _set_fields(issue, reverse, now)
    _flush(session)
    return Change(change_id, issue, reverse, undoes=first.change_id)


def close_issue(
    session: Session, issue: Issue, *, actor: Actor, now: dt.datetime, reason: str | None = None
) -> Change:
    """已整改 -> 已销号, by the supervision office or an admin (``reason``: why it is closed
    without the evidence its category asks for, kept with the close-out)."""
    if not may_close(actor.user):
        raise Forbidden("只有督巡办或管理员可以销号。")
    if issue.status == IssueStatus.CLOSED:
        raise Conflict(f"{issue.code} 已经销号。")
    if issue.status != IssueStatus.RECTIFIED:
        raise Conflict(f"{issue.code} 当前为{issue.status}，只有已整改的问题才能销号。")
    fields = [("status", issue.status, IssueStatus.CLOSED.value)]
    noted = [(CLOSE_REASON, None, reason.strip()[:500])] if reason and reason.strip() else []
    change_id = _write_events(session, issue, fields + noted, actor, now)
    _set_fields(issue, fields, now)
    _flush(session)
    return Change(change_id, issue, fields)


def reopen_issue(session: Session, issue: Issue, reason: str, *, actor: Actor, now: dt.datetime) -> Change:
    """已销号 or 已整改 -> 未整改 with a reason, by the supervision office or an admin."""
    if not may_close(actor.user):
        raise Forbidden("只有督巡办或管理员可以重新打开问题。")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"请写明原因，例如：/reopen {issue.code} 复查发现仍未解决")
    if issue.status not in (IssueStatus.CLOSED, IssueStatus.RECTIFIED):
        raise Conflict(f"{issue.code} 当前为{issue.status}，无需重新打开。")
    fields = [("status", issue.status, IssueStatus.OPEN.value)]
    change_id = _write_events(session, issue, fields + [(REASON, None, reason[:500])], actor, now)
    _set_fields(issue, fields, now)
    _flush(session)
    return Change(change_id, issue, fields)


def link_evidence(
    session: Session,
    *,
    change_id: str,
    issue_id: int,
    kind: str,
    file_id: str | None,
    stored_path: str | None,
    file_name: str | None,
    now: dt.datetime,
    user_id: int | None = None,
    sha256: str | None = None,
    phash: str | None = None,
    taken_at: dt.datetime | None = None,
    reused_of: int | None = None,
) -> Evidence:
    """An Evidence row tying the file to the change it supports."""
    evidence = Evidence(
        change_id=change_id,
        issue_id=issue_id,
        telegram_file_id=file_id,
        stored_path=stored_path,
        kind=kind,
        file_name=_fit_file_name(file_name),
        at=now,
        user_id=user_id,
        sha256=sha256,
        phash=phash,
        taken_at=taken_at,
        reused_of=reused_of,
    )
    session.add(evidence)
    session.flush()
    return evidence


def _fit_file_name(name: str | None, limit: int = 256) -> str | None:
    """A sender's file name shortened to the column's size, keeping its extension."""
    if name is None or len(name) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and 0 < len(suffix) <= 16:
        return stem[: limit - len(suffix) - 1] + "." + suffix
    return name[:limit]

