"""The one error handler of PTB's Application: a job that failed is logged here, once.
(Updates never reach PTB's handlers: delivery/intake.py retries or apologises itself.)"""

from __future__ import annotations

import logging

from telegram.ext import ContextTypes

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure of a job or background task, with its traceback."""
    log.error("background failure (job or task)", exc_info=context.error)
