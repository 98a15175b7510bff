"""The ledger-aware parser, built from a snapshot of the ledger and rebuilt when it changes.

Building a parser is slow (gazetteer, tokenizer), so it is built once and reused. Whether
the ledger changed is checked with one SELECT of counts and highest ids (a *stamp*): new
or removed places, households and issues, and issues that were closed out or reopened
(the parser knows only non-closed issues). That SELECT counts whole tables, so it is not
run for every message:

- a change this process commits through a session the provider has seen (every engine
  turn's session) that adds, removes or renames a place, household or issue, or closes
  out or reopens an issue, makes the next use check at once;
- a change by another process (an import, a second bot on the same database) is seen at
  the first use at least :data:`RECHECK_SECONDS` after the previous check: the parser
  lags the ledger by at most that long. Reports still apply to the ledger as it is (the
  engine reads the issues themselves); only a place or issue added in the meantime is
  not yet recognised in text.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from db.models import Household, Issue, Township, Village
from nlp.workdays import WorkCalendar
from services.issues import VillageDirectory
from vocab import IssueStatus

if TYPE_CHECKING:  # nlp.parser loads jieba: imported when a parser is built, not before
    from nlp.parser import Parse, Parser
    from nlp.reader import StatisticalReader


RECHECK_SECONDS = 2.0
# Issue fields a report changes: they never change what the parser knows (a status among
# the non-closed ones is checked separately below).
_REPORT_FIELDS = frozenset({"status", "deadline", "updated_at", "version"})
_WATCHED = "parser_provider_watched"  # session.info key: hooks already attached
_SHAPE_CHANGED = "parser_provider_shape_changed"  # session.info key: flushed such a change


def ledger_stamp(session: Session) -> tuple:
    """Counts and highest ids of townships, villages, households, issues; closed issues."""
    def stats(model) -> list:
        return [select(func.count(model.id)).scalar_subquery(), select(func.max(model.id)).scalar_subquery()]

    closed = select(func.count(Issue.id)).where(Issue.status == IssueStatus.CLOSED.value).scalar_subquery()
    row = session.execute(
        select(*stats(Township), *stats(Village), *stats(Household), *stats(Issue), closed)
    ).one()
    return tuple(row)


def changes_what_parser_knows(session: Session) -> bool:
    """True when the session's pending flush changes places, households or the set of
    non-closed issues (conservative: a rename or any other edit of them counts too)."""
    places = (Township, Village, Household, Issue)
    if any(isinstance(obj, places) for obj in chain(session.new, session.deleted)):
        return True
    for obj in session.dirty:
        if isinstance(obj, (Township, Village, Household)):
            return True
        if isinstance(obj, Issue) and _issue_edit_matters(obj):
            return True
    return False


def _issue_edit_matters(issue: Issue) -> bool:
    attrs = inspect(issue).attrs
    for name in inspect(Issue).column_attrs.keys():
        history = attrs[name].history
        if not history.has_changes():
            continue
        if name not in _REPORT_FIELDS:
            return True
        if name == "status" and IssueStatus.CLOSED.value in (*history.added, *history.deleted):
            return True
    return False


def build_parser(session: Session, calendar: WorkCalendar, reader: StatisticalReader | Path | None = None) -> Parser:
    """A new nlp Parser over the ledger as it is in ``session``; ``reader``: the second reader
    (a StatisticalReader, or the path of its model; None: the shipped model)."""
    from nlp.parser import Parser  # slow import (jieba); only when a parser is needed
    from nlp.reader import SHIPPED_MODEL
    from services.snapshot import load_snapshot

    return Parser(load_snapshot(session), calendar, reader=SHIPPED_MODEL if reader is None else reader)


class ParserProvider:
    """Hands out the current parser; thread-safe (the engine runs in worker threads)."""

    def __init__(
        self,
        calendar: WorkCalendar,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        reader_model: Path | None = None,
    ) -> None:
        """``reader_model``: the county's own model of the second reader (``python bot.py
        learn``), used instead of the shipped one when the file exists."""
        self._calendar = calendar
        own_model = reader_model is not None and reader_model.exists()
        self._reader: StatisticalReader | Path | None = reader_model if own_model else None
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._parser: Parser | None = None
        self._villages: VillageDirectory | None = None  # read with the parser, from one snapshot
        self._stamp: tuple | None = None
        self._checked_at = 0.0
        self._changes = 0  # own committed changes of what the parser knows, counted
        self._checked_changes = 0  # ... as counted when the stamp was last read

    def get(self, session: Session) -> Parser:
        """The parser for the ledger as ``session`` sees it (rebuilt if the stamp moved)."""
        return self.current(session)[0]

    def current(self, session: Session) -> tuple[Parser, VillageDirectory]:
        """The parser and the village directory read with it (both rebuilt if the stamp moved)."""
        self.watch(session)
        with self._lock:
            if self._parser is not None and not self._due(session):
                return self._parser, self._villages
            changes = self._changes
        started = self._clock()
        stamp = ledger_stamp(session)
        with self._lock:
            if self._parser is None or stamp != self._stamp:
                self._parser = build_parser(session, self._calendar, self._reader)
                self._reader = self._parser.reader  # loaded once, kept across rebuilds
                self._villages = VillageDirectory.load(session)
                self._stamp = stamp
            self._checked_at = started
            self._checked_changes = changes
            return self._parser, self._villages

    def _due(self, session: Session) -> bool:
        return (
            self._changes != self._checked_changes
            or session.info.get(_SHAPE_CHANGED, False)
            or self._clock() - self._checked_at >= self._recheck_seconds
        )

    def watch(self, session: Session) -> None:
        """Notice when ``session`` commits a change the parser must know of."""
        if session.info.get(_WATCHED):
            return
        session.info[_WATCHED] = True
        event.listen(session, "after_flush", _note_flush)
        event.listen(session, "after_commit", self._note_commit)

    def _note_commit(self, session: Session) -> None:
        if session.info.pop(_SHAPE_CHANGED, False):
            with self._lock:
                self._changes += 1

    def bound(self, session: Session) -> BoundParser:
        """A lazily fetched parser for one turn's session (watched for ledger changes)."""
        self.watch(session)
        return BoundParser(self, session)


def _note_flush(session: Session, _flush_context) -> None:
    if not session.info.get(_SHAPE_CHANGED) and changes_what_parser_knows(session):
        session.info[_SHAPE_CHANGED] = True


class BoundParser:
    """The parser of one turn, fetched on first use (many turns never parse text), with
    the village directory read with it."""

    def __init__(self, provider: ParserProvider, session: Session) -> None:
        self._provider = provider
        self._session = session
        self._current: tuple[Parser, VillageDirectory] | None = None

    def parse(self, text: str, today: dt.date, scope: Sequence[str]) -> Parse:
        """Parse ``text`` as sent by someone with ``scope`` on ``today``."""
        return self._fetch()[0].parse(text, today, scope)

    @property
    def person_names(self) -> tuple[str, ...]:
        """Names of the ledger's household heads (redacted from group replies)."""
        return self._fetch()[0].person_names

    @property
    def villages(self) -> VillageDirectory:
        """The villages by name, as the parser that reads this turn's text knows them."""
        return self._fetch()[1]

    def _fetch(self) -> tuple[Parser, VillageDirectory]:
        if self._current is None:
            self._current = self._provider.current(self._session)
        return self._current
