"""Transport bookkeeping in the JobQueue: old finished inbox rows are dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram.ext import Application, ContextTypes

from handlers.runtime import runtime_of
from services import inbox

log = logging.getLogger(__name__)

PRUNE_EVERY = dt.timedelta(hours=6)


async def prune_inbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop handled-and-answered updates older than a week (they hold message texts)."""
    dropped = await asyncio.to_thread(inbox.prune, runtime_of(context).database)
    if dropped:
        log.info("inbox: %d old handled updates dropped", dropped)


def register(app: Application) -> None:
    """Prune at start and every few hours."""
    app.job_queue.run_repeating(prune_inbox, interval=PRUNE_EVERY, first=1, name="prune-inbox")
