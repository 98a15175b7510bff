"""Telegram adapters only: read the update, call the engine or one service, send the reply.

:func:`register` is the one place that decides which handler sees which update, in which
order. Within group 0 the first matching handler wins, so the order below matters.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers import digest_jobs, housekeeping, membership
from handlers.errors import on_error
from delivery.updates import unsupported_kind
from handlers.messages import on_button, on_edited, on_file, on_text, on_unsupported

# Only new messages reach the engine; edits are answered by on_edited instead.
NEW = filters.UpdateType.MESSAGE


class _Unsupported(filters.MessageFilter):
    """A message the engine cannot read (handlers/incoming.py's one list of kinds)."""

    def filter(self, message) -> bool:
        return unsupported_kind(message) is not None


UNSUPPORTED = _Unsupported(name="unsupported kinds")
FILES = filters.PHOTO | filters.Document.ALL


def register(app: Application) -> None:
    """Add every handler, job and the error handler to ``app``."""
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(NEW & UNSUPPORTED, on_unsupported))
    app.add_handler(MessageHandler(NEW & FILES, on_file))
    app.add_handler(MessageHandler(NEW & filters.TEXT, on_text))  # commands are text too
    membership.register(app)  # my_chat_member (bot removed) and group -> supergroup migration
    digest_jobs.register(app)  # daily digests and reminders in the JobQueue
    housekeeping.register(app)  # old inbox rows dropped
    app.add_error_handler(on_error)
