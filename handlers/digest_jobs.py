"""The digest and reminder jobs in PTB's JobQueue.

PTB's JobQueue cannot keep jobs in a persistent store, so nothing per subscription is
scheduled: one job runs every minute, reads the subscriptions from the database and sends
what is due (services/digest_delivery.py claims each digest in the database first, so a
restart, a crash or a second bot process never sends one twice). A digest missed while the
bot was down is sent by the first run after start, if it is still the same working day.
Reminders go out once a day from ``digest.default_time`` on, in the same job.

Telegram's answers become outcomes the services understand through delivery/faults.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram import Bot
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from delivery.faults import retry_after_seconds, send_result
from delivery.outbox import send_reply
from handlers.runtime import runtime_of
from services.conversation.messages import OutgoingFile, Reply
from services.digest_delivery import DigestMessage, Outcome, SendResult, deliver_due_digests
from services.reminders import send_due_reminders

log = logging.getLogger(__name__)

JOB_NAME = "digests-and-reminders"
TICK_SECONDS = 60
FIRST_TICK_SECONDS = 5  # soon after start: a digest missed while the bot was down goes out now
REMINDED_ON = "reminded_on"  # job.data key: the day this process finished its reminder run
CLOCK = "clock"  # job.data key: tests put a clock here to run the job "on" a chosen day
def digest_sender(bot: Bot):
    """Send a digest: its text (what counts as delivered), then its chart, best effort."""

    async def send(message: DigestMessage) -> SendResult:
        try:
            await send_reply(bot, message.chat_id, Reply(message.text))
        except TelegramError as exc:
            return send_result(exc)
        if message.chart is not None:
            await _send_chart(bot, message)
        return SendResult(Outcome.SENT)

    return send


async def _send_chart(bot: Bot, message: DigestMessage) -> None:
    reply = Reply(message.caption, file=OutgoingFile("photo", "progress.png", message.chart))
    for attempt in range(2):
        try:
            await send_reply(bot, message.chat_id, reply)
            return
        except RetryAfter as exc:
            if attempt == 0:
                await asyncio.sleep(retry_after_seconds(exc))
        except TelegramError as exc:
            # The digest text is already there: the chart is not worth a second digest.
            log.warning("chart to chat %s not sent: %s", message.chat_id, exc)
            return
    log.warning("chart to chat %s not sent: flood control", message.chat_id)


def reminder_sender(bot: Bot):
    """Send one private reminder message."""

    async def send(telegram_id: int, text: str) -> SendResult:
        try:
            await send_reply(bot, telegram_id, Reply(text))
        except TelegramError as exc:
            return send_result(exc)
        return SendResult(Outcome.SENT)

    return send


async def run_digests_and_reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The minute job: due digests first, then (once a day) the private reminders."""
    runtime = runtime_of(context)
    settings = runtime.settings
    state = context.job.data
    now = state[CLOCK]() if CLOCK in state else dt.datetime.now(settings.county.tz)
    report = await deliver_due_digests(
        runtime.database, settings, runtime.calendar, now, runtime.instance_id, digest_sender(context.bot)
    )
    if report.sent or report.failed or report.gone or report.uncertain:
        log.info("digests: %s", report)
    if now.strftime("%H:%M") < settings.digest.default_time or state.get(REMINDED_ON) == now.date():
        return
    reminders = await send_due_reminders(
        runtime.database, settings, runtime.calendar, now.date(), reminder_sender(context.bot)
    )
    if not reminders.not_sent:
        state[REMINDED_ON] = now.date()
    if reminders.sent or reminders.failed:
        log.info("reminders: %s", reminders)


def register(app: Application) -> None:
    """Schedule the minute job (the subscriptions themselves are read from the database)."""
    if app.job_queue is None:
        raise RuntimeError("PTB's JobQueue is missing: install python-telegram-bot[job-queue]")
    app.job_queue.run_repeating(
        run_digests_and_reminders,
        interval=TICK_SECONDS,
        first=FIRST_TICK_SECONDS,
        name=JOB_NAME,
        data={},
        # One run at a time (a slow run is not doubled); a late tick is run once, not queued.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": TICK_SECONDS},
    )
