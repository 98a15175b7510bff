"""Private reminders: an open issue entering 🟡 (due within N working days) or 🔴 (overdue).

Who is reminded: the users whose scope covers the issue — village and township users for
its place, department users for its category — with a Telegram account. Each (issue,
stage, user) is reminded at most once (the Reminder row, unique, is the claim), and each
person gets at most one reminder message a day that lists all their items.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, exists, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Issue, Reminder, Township, User, Village
from db.session import Database
from nlp.workdays import WorkCalendar
from services.digest import NO_UNIT, OPEN_STATUSES, DigestItem, issues_in_scope, month_day
from services.digest_delivery import Outcome, SendResult
from services.scope import Scope
from settings import Settings
from vocab import Role

log = logging.getLogger(__name__)

REMINDED_ROLES = (Role.TOWNSHIP.value, Role.VILLAGE.value, Role.DEPARTMENT.value)
DUE, OVERDUE = "due", "overdue"


@dataclass(frozen=True)
class ReminderBatch:
    """Everything one person is reminded of today, as one message."""

    user_id: int
    telegram_id: int
    overdue: tuple[DigestItem, ...]
    due: tuple[DigestItem, ...]
    issue_ids: tuple[tuple[int, str], ...]  # (issue id, stage) claimed by this batch
    text: str


@dataclass
class ReminderReport:
    sent: list[int] = field(default_factory=list)  # user ids
    skipped: list[int] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


ReminderSender = Callable[[int, str], Awaitable[SendResult]]


def pending_batches(session: Session, today: dt.date, calendar: WorkCalendar, settings: Settings) -> list[ReminderBatch]:
    """Per person, the (issue, stage) pairs not yet reminded; none for people already
    reminded today (one message a day: later arrivals wait for tomorrow)."""
    due_until = calendar.add_workdays(today, settings.digest.due_soon_working_days)
    stage = case((Issue.deadline < today, literal(OVERDUE)), else_=literal(DUE))
    users = session.scalars(
        select(User).where(
            User.active.is_(True), User.telegram_id.is_not(None), User.role.in_(REMINDED_ROLES)
        ).order_by(User.id)
    ).all()
    reminded_today = set(session.scalars(select(Reminder.user_id).where(Reminder.sent_on == today).distinct()))
    batches = []
    for user in users:
        if user.id in reminded_today:
            continue
        scope = Scope.of_user(user)
        if scope.is_empty:
            continue
        reminded = exists().where(
            Reminder.issue_id == Issue.id, Reminder.user_id == user.id, Reminder.stage == stage
        )
        rows = session.execute(_reminder_query(scope, stage, reminded, today, due_until)).all()
        if rows:
            batches.append(_batch(user, rows, today, settings))
    return batches


def _reminder_query(scope: Scope, stage, reminded, today: dt.date, due_until: dt.date):
    return (
        issues_in_scope(
            select(
                Issue.id, stage, Issue.code, Township.name, Village.name, Issue.category,
                Issue.responsible_unit, Issue.deadline,
            ),
            scope,
        )
        .where(
            Issue.status.in_(OPEN_STATUSES),
            and_(Issue.deadline.is_not(None), Issue.deadline <= due_until),
            ~reminded,
        )
        .order_by(Issue.deadline, Issue.code)
    )


def _batch(user: User, rows, today: dt.date, settings: Settings) -> ReminderBatch:
    overdue, due = [], []
    for _id, stage, code, township, village, category, unit, deadline in rows:
        item = DigestItem(code, township, village, category, unit or NO_UNIT, deadline)
        (overdue if stage == OVERDUE else due).append(item)
    return ReminderBatch(
        user_id=user.id,
        telegram_id=user.telegram_id,
        overdue=tuple(overdue),
        due=tuple(due),
        issue_ids=tuple((row[0], row[1]) for row in rows),
        text=render_reminder_text(overdue, due, today, settings),
    )


def render_reminder_text(overdue, due, today: dt.date, settings: Settings) -> str:
    """One private message listing a person's newly due and newly overdue items."""
    limit = settings.digest.item_limit
    lines = [f"⏰ 整改提醒（{month_day(today)}）"]
    if overdue:
        lines.append(f"🔴 已逾期 {len(overdue)} 件：")
        for item in overdue[:limit]:
            lines.append(f"· {item.code} {item.place} {item.category} 逾期 {(today - item.deadline).days} 天（{item.unit}）")
        if len(overdue) > limit:
            lines.append(f"（另有 {len(overdue) - limit} 件，发送 /overdue 查看）")
    if due:
        lines.append(f"🟡 {settings.digest.due_soon_working_days} 个工作日内到期 {len(due)} 件：")
        for item in due[:limit]:
            lines.append(f"· {item.code} {item.place} {item.category} {month_day(item.deadline)}到期（{item.unit}）")
        if len(due) > limit:
            lines.append(f"（另有 {len(due) - limit} 件，发送 /due 查看）")
    lines.append("整改有进展请直接回复，例如“ZG-0003 已整改”。")
    return "\n".join(lines)


def claim_batch(database: Database, batch: ReminderBatch, today: dt.date) -> bool:
    """Insert the batch's Reminder rows; False when another run reminded any of them."""
    try:
        with database.transaction() as session:
            session.add_all(
                Reminder(issue_id=issue_id, stage=stage, user_id=batch.user_id, sent_on=today)
                for issue_id, stage in batch.issue_ids
            )
    except IntegrityError:
        return False
    return True


def release_batch(database: Database, batch: ReminderBatch, today: dt.date) -> None:
    """Telegram certainly did not deliver: forget the rows so that a later run resends."""
    with database.transaction() as session:
        for issue_id, stage in batch.issue_ids:
            session.execute(
                delete(Reminder).where(
                    Reminder.issue_id == issue_id, Reminder.stage == stage,
                    Reminder.user_id == batch.user_id, Reminder.sent_on == today,
                )
            )


async def send_due_reminders(
    database: Database,
    settings: Settings,
    calendar: WorkCalendar,
    today: dt.date,
    send: ReminderSender,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ReminderReport:
    """Remind every person of their newly due and overdue issues, once (working days only)."""
    report = ReminderReport()
    if not calendar.is_workday(today):
        return report

    def pending() -> list[ReminderBatch]:
        with database.transaction() as session:
            return pending_batches(session, today, calendar, settings)

    for batch in await asyncio.to_thread(pending):
        if not await asyncio.to_thread(claim_batch, database, batch, today):
            report.skipped.append(batch.user_id)
            continue
        result = await send(batch.telegram_id, batch.text)
        if result.outcome is Outcome.NOT_SENT and result.retry_after and result.retry_after <= 60:
            await sleep(result.retry_after)
            result = await send(batch.telegram_id, batch.text)
        if result.outcome is Outcome.SENT:
            report.sent.append(batch.user_id)
        elif result.outcome is Outcome.NOT_SENT:
            await asyncio.to_thread(release_batch, database, batch, today)
            report.not_sent.append(batch.user_id)
            break  # limited or unreachable: the rest waits for the next run
        else:  # blocked the bot, or unknown: keep the rows (at most once), log it
            log.warning("reminder to user %s not delivered: %s", batch.user_id, result.detail)
            report.failed.append(batch.user_id)
    return report
