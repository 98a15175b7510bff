"""Long polling that loses nothing: fetch a batch, journal it, only then confirm it.

PTB's Updater confirms a fetched batch (the next getUpdates offset) before its handlers
have run, so a ``kill -9`` loses every update fetched but not handled. Here the batch is
committed to the inbox first; the offset that confirms it is sent with the next
getUpdates call. A crash in between makes Telegram send the batch again, and the inbox
recognises it (services/inbox.py).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from db.session import Database
from handlers.backoff import retry_after_seconds
from handlers.inbox_pump import InboxPump
from services import inbox

log = logging.getLogger(__name__)

# What the bot reads; my_chat_member tells it it was removed from a group.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
POLL_TIMEOUT_SECONDS = 25
BACKOFF_CAP_SECONDS = 30.0


async def poll_updates(
    bot: Bot,
    database: Database,
    pump: InboxPump,
    *,
    timeout: int = POLL_TIMEOUT_SECONDS,
    backoff_seconds: float = 1.0,
) -> None:
    """Fetch, journal and dispatch updates until cancelled; faults are logged once a streak."""
    offset: int | None = None
    failures = 0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        except InvalidToken:
            raise
        except RetryAfter as exc:
            failures = _note_fault(failures, "getUpdates", exc)
            await asyncio.sleep(retry_after_seconds(exc))
            continue
        except TelegramError as exc:  # network drop, timeout, 5xx, 409 (another instance)
            failures = _note_fault(failures, "getUpdates", exc)
            await asyncio.sleep(min(BACKOFF_CAP_SECONDS, backoff_seconds * 2 ** (failures - 1)))
            continue
        if failures:
            log.info("getUpdates works again after %d failures", failures)
            failures = 0
        if not updates:
            continue
        payloads = [update.to_dict() for update in updates]
        try:
            fresh = set(await asyncio.to_thread(inbox.journal, database, payloads))
        except SQLAlchemyError as exc:
            # Not journaled, so not confirmed: Telegram keeps the batch until this works.
            failures = _note_fault(failures, "journal", exc)
            await asyncio.sleep(min(BACKOFF_CAP_SECONDS, backoff_seconds * 2 ** (failures - 1)))
            continue
        offset = updates[-1].update_id + 1
        pump.dispatch(
            ((update.update_id, payload) for update, payload in zip(updates, payloads) if update.update_id in fresh),
            fresh=True,
            updates={update.update_id: update for update in updates},
        )


def _note_fault(failures: int, what: str, exc: BaseException) -> int:
    if failures == 0:
        log.warning("%s failed: %s: %s (retrying)", what, type(exc).__name__, exc)
    return failures + 1
