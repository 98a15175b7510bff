"""delivery/faults.py: one reading of Telegram's errors for replies, digests and start-up."""

from __future__ import annotations

import datetime as dt
from concurrent.futures.process import BrokenProcessPool

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from delivery.faults import is_transient, retry_after_seconds, send_result
from services.digest_delivery import Outcome


def caused_by(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(("error", "outcome", "transient"), [
    (RetryAfter(7), Outcome.NOT_SENT, True),
    (caused_by(NetworkError("connect"), httpx.ConnectError("refused")), Outcome.NOT_SENT, True),
    (NetworkError("Bad Gateway"), Outcome.NOT_SENT, True),  # Telegram answered 5xx
    (caused_by(TimedOut(), httpx.ReadTimeout("slow")), Outcome.UNCERTAIN, True),
    (Forbidden("bot was blocked by the user"), Outcome.GONE, False),
    (BadRequest("Chat not found"), Outcome.GONE, False),
    (BadRequest("Message text is empty"), Outcome.FAILED, False),
    (ChatMigrated(-100123), Outcome.FAILED, False),
    (Conflict("terminated by other getUpdates request"), Outcome.FAILED, False),
])
def test_a_telegram_error_reads_the_same_for_digests_and_replies(error, outcome, transient):
    assert send_result(error).outcome == outcome
    assert is_transient(error) is transient


def test_retry_after_is_the_wait_telegram_asked_for():
    assert send_result(RetryAfter(7)).retry_after == 7.0
    assert retry_after_seconds(RetryAfter(dt.timedelta(seconds=3))) == 3.0


def test_the_database_or_the_engine_process_going_away_passes():
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(BrokenProcessPool("the engine process ended"))
    assert not is_transient(RuntimeError("a bug"))
