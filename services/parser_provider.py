"""The ledger-aware parser, built from a snapshot of the ledger and rebuilt when it changes.

Building a parser is slow (gazetteer, tokenizer), so it is built once and reused. Whether
the ledger changed is checked cheaply on every use with one SELECT of counts and highest
ids (a *stamp*): new or removed places, households and issues, and issues that were
closed out or reopened (the parser knows only non-closed issues).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Household, Issue, Township, Village
from db.vocab import IssueStatus
from nlp.workdays import WorkCalendar


def ledger_stamp(session: Session) -> tuple:
    """Counts and highest ids of townships, villages, households, issues; closed issues."""
    def stats(model) -> list:
        return [select(func.count(model.id)).scalar_subquery(), select(func.max(model.id)).scalar_subquery()]

    closed = select(func.count(Issue.id)).where(Issue.status == IssueStatus.CLOSED.value).scalar_subquery()
    row = session.execute(
        select(*stats(Township), *stats(Village), *stats(Household), *stats(Issue), closed)
    ).one()
    return tuple(row)


def build_parser(session: Session, calendar: WorkCalendar) -> Any:
    """A new nlp Parser over the ledger as it is in ``session``."""
    from nlp.parser import Parser  # slow import (jieba); only when a parser is needed
    from services.snapshot import load_snapshot

    return Parser(load_snapshot(session), calendar)


class ParserProvider:
    """Hands out the current parser; thread-safe (the engine runs in worker threads)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self._calendar = calendar
        self._lock = threading.Lock()
        self._parser: Any = None
        self._stamp: tuple | None = None

    def get(self, session: Session) -> Any:
        """The parser for the ledger as ``session`` sees it (rebuilt if the stamp moved)."""
        stamp = ledger_stamp(session)
        with self._lock:
            if self._parser is None or stamp != self._stamp:
                self._parser = build_parser(session, self._calendar)
                self._stamp = stamp
            return self._parser

    def bound(self, session: Session) -> BoundParser:
        """A lazily fetched parser for one turn's session."""
        return BoundParser(self, session)


class BoundParser:
    """The parser of one turn, fetched on first use (many turns never parse text)."""

    def __init__(self, provider: ParserProvider, session: Session) -> None:
        self._provider = provider
        self._session = session
        self._parser: Any = None

    def parse(self, text: str, today, scope) -> Any:
        """Parse ``text`` as sent by someone with ``scope`` on ``today``."""
        if self._parser is None:
            self._parser = self._provider.get(self._session)
        return self._parser.parse(text, today, scope)
