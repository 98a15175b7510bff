"""Sending each subscription's digest once per working day: claim, send, mark sent.

Why claims: several things can make the minute job see the same digest twice — a restart
(jobs are rebuilt and the missed digest is due again), a crash mid-broadcast, or two bot
processes on one PostgreSQL. Each (subscription, day) is therefore claimed with an INSERT
into digest_delivery before sending; the unique constraint makes exactly one claimer win
(the loser gets IntegrityError and skips), and sent_at is set after Telegram confirmed.

Telegram has no idempotency key, so a send whose outcome is unknown (the process died, or
the request timed out after it was written) cannot be made exactly-once. We choose
at-most-once for that case: such a claim stays without sent_at and is NOT sent again
automatically (a warning is logged and the group can still ask with /digest), because a
slow network would otherwise turn every read timeout into a duplicate digest. Every
failure where Telegram certainly did not deliver (flood control 429, connection refused or
connect timeout) releases the claim (DELETE), so that the next minute's run sends it:
at-least-once for those, still never twice. A digest missed while the bot was down is
simply due at the next run, as long as it is the same working day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from db.models import DigestDelivery, Subscription
from db.session import Database
from nlp.workdays import WorkCalendar
from services.chart import ProgressChart, render_progress_chart
from services.digest import Digest, build_digest, previous_summary, render_digest_text
from services.subscriptions import is_delivery_day, unsubscribe_chat
from settings import Settings

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 60.0  # seconds we wait for a 429 inside one run; longer waits go to later runs
MAX_ATTEMPTS = 2


class Outcome(StrEnum):
    SENT = "sent"            # Telegram confirmed
    NOT_SENT = "not_sent"    # certainly not delivered, worth retrying (429, no connection)
    GONE = "gone"            # the bot is no longer in the chat (Forbidden, chat not found)
    FAILED = "failed"        # certainly not delivered, retrying would fail again today
    UNCERTAIN = "uncertain"  # may or may not have been delivered (timeout after sending)


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    retry_after: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class DigestMessage:
    """What goes to one chat: the digest text, then the chart with a short caption."""

    chat_id: int
    text: str
    chart: bytes | None
    caption: str


Sender = Callable[[DigestMessage], Awaitable[SendResult]]


@dataclass(frozen=True)
class DueDigest:
    subscription_id: int
    chat_id: int
    scope: str
    weekly: bool


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)        # subscription ids
    skipped: list[int] = field(default_factory=list)     # claimed by another run
    not_sent: list[int] = field(default_factory=list)    # released, due again next run
    failed: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)


def due_digests(database: Database, now: dt.datetime, calendar: WorkCalendar) -> list[DueDigest]:
    """Subscriptions whose time has come today (local ``now``) and that nobody claimed yet."""
    today = now.date()
    if not calendar.is_workday(today):
        return []
    claimed = select(DigestDelivery.id).where(
        DigestDelivery.subscription_id == Subscription.id, DigestDelivery.digest_date == today
    )
    with database.transaction() as session:
        rows = session.scalars(
            select(Subscription)
            .where(
                Subscription.active.is_(True),
                Subscription.send_time <= now.strftime("%H:%M"),
                ~claimed.exists(),
            )
            .order_by(Subscription.send_time, Subscription.id)
        ).all()
        due = []
        for subscription in rows:
            send_at = dt.datetime.combine(today, dt.time.fromisoformat(subscription.send_time), tzinfo=now.tzinfo)
            # Subscribed after today's time: the first digest is the next delivery day's.
            if subscription.created_at > send_at:
                continue
            if is_delivery_day(subscription.weekly, today, calendar):
                due.append(DueDigest(subscription.id, subscription.chat_id, subscription.scope, subscription.weekly))
        return due


def prepare_message(
    database: Database,
    due: DueDigest,
    today: dt.date,
    calendar: WorkCalendar,
    settings: Settings,
    render_chart: Callable[[Digest], bytes] = render_progress_chart,
) -> tuple[DigestMessage, dict]:
    """Build the digest text and chart of one subscription (blocking: run in a thread)."""
    with database.transaction() as session:
        previous = previous_summary(session, due.scope, today, subscription_id=due.subscription_id)
        digest = build_digest(session, due.scope, today, calendar, settings, weekly=due.weekly, previous=previous)
    # Drawn after the commit: the chart takes about a second, and a transaction open that
    # long would hold SQLite's one write lock and make every report wait.
    chart = render_chart(digest) if digest.progress else None
    caption = ProgressChart.of(digest).caption
    return DigestMessage(due.chat_id, render_digest_text(digest), chart, caption), digest.summary()


def claim(database: Database, due: DueDigest, day: dt.date, instance_id: str, now: dt.datetime) -> bool:
    """Claim (subscription, day) for this process; False when another run has it."""
    try:
        with database.transaction() as session:
            session.add(
                DigestDelivery(
                    subscription_id=due.subscription_id, chat_id=due.chat_id, digest_date=day,
                    claimed_by=instance_id, claimed_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def _mine(due: DueDigest, day: dt.date, instance_id: str):
    return (
        DigestDelivery.subscription_id == due.subscription_id,
        DigestDelivery.digest_date == day,
        DigestDelivery.claimed_by == instance_id,
        DigestDelivery.sent_at.is_(None),
    )


def mark_sent(database: Database, due: DueDigest, day: dt.date, instance_id: str, summary: dict, now: dt.datetime) -> None:
    with database.transaction() as session:
        session.execute(update(DigestDelivery).where(*_mine(due, day, instance_id)).values(sent_at=now, summary=summary))


def release(database: Database, due: DueDigest, day: dt.date, instance_id: str) -> None:
    """Give a claim back after Telegram certainly did not deliver, so a later run sends it."""
    with database.transaction() as session:
        session.execute(delete(DigestDelivery).where(*_mine(due, day, instance_id)))


def mark_unsent(database: Database, due: DueDigest, day: dt.date, instance_id: str, note: dict, *, gone: bool = False) -> None:
    """Keep the claim (no resend today) and note why; end the chat's subscriptions when the
    bot was removed from it."""
    with database.transaction() as session:
        session.execute(update(DigestDelivery).where(*_mine(due, day, instance_id)).values(summary=note))
        if gone:
            unsubscribe_chat(session, due.chat_id, reason=note.get("error", "removed"))


async def deliver_due_digests(
    database: Database,
    settings: Settings,
    calendar: WorkCalendar,
    now: dt.datetime,
    instance_id: str,
    send: Sender,
    *,
    render_chart: Callable[[Digest], bytes] = render_progress_chart,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryReport:
    """One run of the minute job: send every digest that is due and unclaimed."""
    report = DeliveryReport()
    today = now.date()
    for due in await asyncio.to_thread(due_digests, database, now, calendar):
        try:
            message, summary = await asyncio.to_thread(
                prepare_message, database, due, today, calendar, settings, render_chart
            )
        except Exception:  # a bug in one scope's digest must not stop the other groups'
            log.exception("digest for subscription %s could not be built", due.subscription_id)
            report.failed.append(due.subscription_id)
            continue
        outcome = await _deliver_one(database, due, today, instance_id, message, summary, send, sleep)
        getattr(report, outcome).append(due.subscription_id)
        if outcome == "not_sent":
            break  # Telegram is limiting us or unreachable: the rest waits for the next run
    return report


async def _deliver_one(database, due, today, instance_id, message, summary, send, sleep) -> str:
    for attempt in range(MAX_ATTEMPTS):
        now = dt.datetime.now(dt.timezone.utc)
        if not await asyncio.to_thread(claim, database, due, today, instance_id, now):
            return "skipped"
        result = await send(message)
        if result.outcome is Outcome.SENT:
            done = dt.datetime.now(dt.timezone.utc)
            await asyncio.to_thread(mark_sent, database, due, today, instance_id, summary, done)
            return "sent"
        if result.outcome is Outcome.NOT_SENT:
            await asyncio.to_thread(release, database, due, today, instance_id)
            wait = result.retry_after or 0.0
            if attempt + 1 < MAX_ATTEMPTS and 0 < wait <= MAX_INLINE_WAIT:
                await sleep(wait)
                continue
            log.warning("digest to chat %s not sent (%s); retrying next run", due.chat_id, result.detail)
            return "not_sent"
        if result.outcome is Outcome.UNCERTAIN:
            log.warning(
                "digest to chat %s may not have arrived (%s); not resending today (at most once)",
                due.chat_id, result.detail,
            )
            await asyncio.to_thread(mark_unsent, database, due, today, instance_id, {"unconfirmed": result.detail})
            return "uncertain"
        gone = result.outcome is Outcome.GONE
        log.warning("digest to chat %s failed: %s", due.chat_id, result.detail)
        await asyncio.to_thread(mark_unsent, database, due, today, instance_id, {"error": result.detail}, gone=gone)
        return "gone" if gone else "failed"
    return "not_sent"
