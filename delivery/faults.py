"""What a failure means for delivery: the one reading of Telegram's errors, used by the
replies to updates, the digest jobs and start-up alike.

- :func:`send_result`: a failed send is not sent (safe to send again), uncertain (it may
  have arrived), the chat is gone, or it failed for good;
- :func:`is_transient`: the failure passes by itself (network, Telegram overload, database
  down, the engine process died), so the same work is tried again later;
- :func:`retry_after_seconds`: how long Telegram asked us to wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import httpx
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from services.digest_delivery import Outcome, SendResult

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_CAP_SECONDS = 60.0  # start-up retries
# Telegram's descriptions for a chat the bot can no longer write to (besides 403 Forbidden).
GONE_DESCRIPTIONS = ("chat not found", "bot was kicked", "bot is not a member", "group chat was deactivated")
# The request never reached Telegram: safe to send again.
NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
PASSING = frozenset({Outcome.NOT_SENT, Outcome.UNCERTAIN})
# BrokenProcessPool: the engine's process died; its batch is tried again (a turn it
# committed before dying is claimed, so the retry answers it without applying it again).
PASSING_ELSEWHERE = (OperationalError, InterfaceError, PoolTimeout, BrokenProcessPool)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (PTB returns int or timedelta depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that the int form is going away
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def send_result(exc: TelegramError) -> SendResult:
    """What a failed Telegram call means: not sent, uncertain, chat gone, or failed."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RetryAfter):
        return SendResult(Outcome.NOT_SENT, retry_after=retry_after_seconds(exc), detail=detail)
    if isinstance(exc, Forbidden):
        return SendResult(Outcome.GONE, detail=detail)
    if isinstance(exc, BadRequest):  # PTB's BadRequest subclasses NetworkError: before it
        gone = any(text in str(exc).lower() for text in GONE_DESCRIPTIONS)
        return SendResult(Outcome.GONE if gone else Outcome.FAILED, detail=detail)
    if isinstance(exc, (TimedOut, NetworkError)):
        if isinstance(exc.__cause__, NOT_CONNECTED):
            return SendResult(Outcome.NOT_SENT, detail=detail)
        if exc.__cause__ is None and not isinstance(exc, TimedOut):
            return SendResult(Outcome.NOT_SENT, detail=detail)  # Telegram answered 5xx: not delivered
        return SendResult(Outcome.UNCERTAIN, detail=detail)  # sent, but no answer came back
    return SendResult(Outcome.FAILED, detail=detail)


def is_transient(exc: BaseException) -> bool:
    """True for failures that pass by themselves: network, Telegram overload, database down."""
    if isinstance(exc, TelegramError):
        return send_result(exc).outcome in PASSING
    return isinstance(exc, PASSING_ELSEWHERE)


async def with_backoff(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    retries: int,
    backoff_seconds: float,
    on_retry: Callable[[int, TelegramError, float], None] | None = None,
) -> T:
    """Await ``call()``; on a Telegram or network failure wait (doubling) and try again, so
    that a server that boots before its network still starts.

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
