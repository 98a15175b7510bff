"""Retrying Telegram calls at start-up, so a server that boots before its network still starts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import InvalidToken, RetryAfter, TelegramError

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_CAP_SECONDS = 60.0


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (PTB returns int or timedelta depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that the int form is going away
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def with_backoff(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    retries: int,
    backoff_seconds: float,
    on_retry: Callable[[int, TelegramError, float], None] | None = None,
) -> T:
    """Await ``call()``; on a Telegram or network failure wait (doubling) and try again.

    A rejected token is not retried: waiting cannot fix it. ``on_retry(attempt, error, delay)``
    replaces the warning logged before each wait (``python bot.py run`` says it in Chinese).
    """
    attempt = 0
    while True:
        try:
            return await call()
        except InvalidToken:
            raise
        except TelegramError as exc:
            if attempt >= retries:
                raise
            attempt += 1
            if isinstance(exc, RetryAfter):
                delay = retry_after_seconds(exc)
            else:
                delay = min(BACKOFF_CAP_SECONDS, backoff_seconds * 2 ** (attempt - 1))
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            else:
                log.warning(
                    "%s failed (%s), retry %d of %d in %.1f s", what, type(exc).__name__, attempt, retries, delay
                )
            await asyncio.sleep(delay)
