"""PTB's part of the bot: the JobQueue's jobs and the error handler for them.

Updates do not go through PTB's dispatcher: delivery/intake.py takes them from the inbox,
in order per chat, to the engine and back (docs/architecture.md). :func:`register` is the
one place that decides what runs in the JobQueue (the inbox's pruning job is added by
bot.py with the delivery it belongs to: delivery/pruning.py).
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import digest_jobs, housekeeping
from handlers.errors import on_error


def register(app: Application) -> None:
    """Add every job and the error handler to ``app``."""
    digest_jobs.register(app)  # daily digests and reminders
    housekeeping.register(app)  # orphan evidence files removed
    app.add_error_handler(on_error)
