"""Bookkeeping in the JobQueue: evidence files that no record points to (a question never
answered, a crash between writing and committing) are removed. (Old inbox rows: delivery/pruning.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram.ext import Application, ContextTypes

from db.types import utcnow
from handlers.runtime import runtime_of
from services.evidence import prune_orphans

log = logging.getLogger(__name__)

PRUNE_EVERY = dt.timedelta(hours=6)


async def prune_evidence(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove evidence files that no record points to (older than the grace period)."""
    runtime = runtime_of(context)
    removed = await asyncio.to_thread(prune_orphans, runtime.database, runtime.settings, utcnow())
    if removed:
        log.info("evidence: %d orphan files removed", removed)


def register(app: Application) -> None:
    """Remove orphans at start and every few hours."""
    app.job_queue.run_repeating(prune_evidence, interval=PRUNE_EVERY, first=2, name="prune-evidence")
