"""Old inbox rows dropped: handled-and-answered updates older than a week hold message texts
(services/inbox.py's KEEP_FINISHED). A job in PTB's JobQueue, at start and every few hours."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram.ext import Application, ContextTypes

from db.session import Database
from services import inbox

log = logging.getLogger(__name__)

PRUNE_EVERY = dt.timedelta(hours=6)


async def prune_inbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop handled-and-answered updates older than a week."""
    dropped = await asyncio.to_thread(inbox.prune, context.job.data)
    if dropped:
        log.info("inbox: %d old handled updates dropped", dropped)


def register(app: Application, database: Database) -> None:
    """Prune ``database``'s inbox at start and every few hours."""
    app.job_queue.run_repeating(prune_inbox, interval=PRUNE_EVERY, first=1, name="prune-inbox", data=database)
