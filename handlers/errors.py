"""The one error handler: every failure in a handler or job is logged here, once."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from handlers.inbox_pump import PUMP_KEY, is_transient

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure once and tell the inbox pump, which retries or apologises."""
    error = context.error
    if isinstance(update, Update):
        pump = context.application.bot_data.get(PUMP_KEY)
        first = pump.note_failure(update.update_id, error) if pump is not None else True
        if is_transient(error):
            # A passing fault (network, 429, database restart): the pump retries; no trace.
            if first:
                log.warning("update=%s failed for now: %s: %s", update.update_id, type(error).__name__, error)
        else:
            log.error("update=%s failed", update.update_id, exc_info=error)
        return
    log.error("background failure (job or task)", exc_info=error)
