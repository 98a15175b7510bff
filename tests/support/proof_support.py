"""Shared by the proof tests and the throughput benchmark: a demo county with many
reporting cadres, each with one issue of their own that their reports move back and forth.

Every report is a real status report the engine applies as exactly one change:

- report 0, 2, 4 … : "<乡镇><村><类别>问题整改中，M月D日前完成"  -> status 整改中, new deadline
- report 1, 3, 5 … : "<乡镇><村><类别>问题M月D日已整改"          -> status 已整改

The date differs in every report (today + 60 - k days), so no two texts of one cadre are
the same and the duplicate rule ("已记录过") never fires; the status toggles, so every
report changes something. Each deadline is earlier than the one before (the issue starts
at today + 90): a later deadline is always asked about first (a cover-up guard), an
earlier one is applied at once. Villages are kept only when the parser reads all their
reports confidently, so a change in the parser cannot make these tests about the parser.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.orm import Session, joinedload

from db.models import Issue, IssueEvent, Township, User, Village
from db.session import Database
from services.demo import build_demo, load_demo_county
from vocab import IssueStatus, Role

COUNTY_TZ = ZoneInfo("Asia/Shanghai")
# Categories whose name is also the word a cadre writes; the first one the village has no
# open issue of is used, so "<村><类别>问题" means exactly the issue made here.
REPORT_CATEGORIES = ("饮水", "档案", "基础设施", "集体经济", "教育", "就业", "医疗", "产业")
FIRST_TELEGRAM_ID = 880_001
ISSUE_CODE_PREFIX = "ZG-8"


@dataclass(frozen=True)
class Reporter:
    """A village cadre (registered, scope = one village) and the issue they report on."""

    telegram_id: int
    name: str
    township: str
    village: str
    category: str
    issue_code: str

    @property
    def place(self) -> str:
        return f"{self.township}{self.village}"


def county_today() -> dt.date:
    """Today in the county (what a bot process started now will call today)."""
    return dt.datetime.now(COUNTY_TZ).date()


MAX_REPORTS = 50
START_DEADLINE_DAYS = 90


def report_date(today: dt.date, k: int) -> dt.date:
    """The deadline the k-th report names: earlier with every report, always ahead."""
    return today + dt.timedelta(days=60 - k)


def report_text(reporter: Reporter, k: int, today: dt.date) -> str:
    """The k-th report of ``reporter`` (see the module docstring)."""
    day = report_date(today, k)
    head = f"{reporter.place}{reporter.category}问题"
    if k % 2 == 0:
        return f"{head}整改中，{day.month}月{day.day}日前完成"
    return f"{head}{day.month}月{day.day}日已整改"


def expected_status(k: int) -> str:
    return IssueStatus.IN_PROGRESS.value if k % 2 == 0 else IssueStatus.RECTIFIED.value


def prepare_reporting_county(
    database: Database, *, users: int, reports_each: int, today: dt.date | None = None
) -> list[Reporter]:
    """Build the demo county, then give ``users`` villages one new village-level issue
    (未整改) and one registered village cadre each; returns the cadres."""
    if reports_each > MAX_REPORTS:
        raise ValueError(f"at most {MAX_REPORTS} reports per cadre (their deadlines must stay ahead)")
    today = today or county_today()
    build_demo(database, today)
    county = load_demo_county()
    places = [(t, v) for t, villages in county["townships"].items() for v in villages]
    with database.transaction() as session:
        open_categories: dict[tuple[str, str], set[str]] = {}
        rows = session.execute(
            select(Township.name, Village.name, Issue.category)
            .join(Village, Issue.village_id == Village.id).join(Township)
            .where(Issue.status != IssueStatus.CLOSED.value)
        )
        for township, village, category in rows:
            open_categories.setdefault((township, village), set()).add(category)
        village_ids = {
            (township, village): village_id
            for village_id, township, village in session.execute(
                select(Village.id, Township.name, Village.name).join(Township)
            )
        }
        candidates: list[Reporter] = []
        for number, place in enumerate(places):
            free = [c for c in REPORT_CATEGORIES if c not in open_categories.get(place, set())]
            if not free:
                continue
            code = f"{ISSUE_CODE_PREFIX}{number:03d}"
            session.add(Issue(
                code=code, village_id=village_ids[place], household_id=None, category=free[0],
                description=f"{free[0]}问题（压力测试）", status=IssueStatus.OPEN.value,
                deadline=today + dt.timedelta(days=START_DEADLINE_DAYS), responsible_unit=place[0],
                supervised=False,
            ))
            candidates.append(Reporter(0, "", place[0], place[1], free[0], code))
    parser = _build_parser(database)
    readable = [r for r in candidates if _parser_reads_all(parser, r, reports_each, today)]
    if len(readable) < users:
        raise AssertionError(f"only {len(readable)} demo villages have reports the parser reads confidently")
    chosen = [
        Reporter(FIRST_TELEGRAM_ID + i, f"压测{r.village}{i}", r.township, r.village, r.category, r.issue_code)
        for i, r in enumerate(readable[:users])
    ]
    with database.transaction() as session:
        for reporter in chosen:
            session.add(User(
                telegram_id=reporter.telegram_id, name=reporter.name, role=Role.VILLAGE.value,
                scope=[f"{reporter.township}/{reporter.village}"], active=True,
            ))
    return chosen


def _build_parser(database: Database):
    from nlp.workdays import calendar_from_settings
    from services.parser_provider import build_parser
    from settings import load_settings

    with database.transaction() as session:
        return build_parser(session, calendar_from_settings(load_settings(environ={})))


def _parser_reads_all(parser, reporter: Reporter, reports_each: int, today: dt.date) -> bool:
    scope = [f"{reporter.township}/{reporter.village}"]
    wanted = {0: "in_progress", 1: "resolved"}
    for k in range(reports_each):
        parse = parser.parse(report_text(reporter, k, today), today, scope)
        if (
            parse.intent != "report"
            or parse.needs_confirmation
            or (parse.township, parse.village, parse.category) != (reporter.township, reporter.village, reporter.category)
            or parse.status != wanted[k % 2]
            or parse.household
        ):
            return False
    return True


def issue_history(database: Database, code: str) -> tuple[Issue, list[IssueEvent]]:
    """The issue (detached) and its events, oldest first."""
    with database.transaction() as session:
        issue = session.scalar(
            select(Issue).where(Issue.code == code)
            .options(joinedload(Issue.village).joinedload(Village.township))
        )
        events = list(session.scalars(
            select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id)
        ))
        session.expunge_all()
        return issue, events


def illegal_transitions(start_status: str, events: list[IssueEvent]) -> list[str]:
    """Replay the status events of one issue from ``start_status``: every event's old value
    must be the previous new value, and 已销号 is entered and left only as a close-out or
    reopening (never by a report). Returns a description of each violation."""
    problems: list[str] = []
    current = start_status
    for event in events:
        if event.field != "status":
            continue
        if event.old_value != current:
            problems.append(f"event {event.id}: {event.old_value}→{event.new_value} but the issue was {current}")
        if event.new_value not in {s.value for s in IssueStatus}:
            problems.append(f"event {event.id}: unknown status {event.new_value}")
        if event.new_value == IssueStatus.CLOSED and event.old_value != IssueStatus.RECTIFIED and not event.undoes:
            problems.append(f"event {event.id}: closed out from {event.old_value}")
        if event.old_value == IssueStatus.CLOSED and event.new_value != IssueStatus.OPEN and not event.undoes:
            problems.append(f"event {event.id}: left 已销号 for {event.new_value}")
        current = event.new_value
    return problems


# -- one ledger per backend for a whole module; one rolled-back transaction per case -----------

BACKENDS = [b.strip() for b in os.environ.get("GONGJIAN_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("GONGJIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def module_database(backend: str, folder: Path) -> Iterator[Database]:
    """A migrated, empty database for one test module: a SQLite file in ``folder``, or a
    PostgreSQL database of its own (dropped afterwards) — so that a module-scoped ledger
    never meets the per-test truncation of the shared session database."""
    if backend == "sqlite":
        database = Database.connect(f"sqlite:///{folder / 'ledger.db'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    name = f"gj_proof_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database.connect(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class CaseDatabase(Database):
    """A Database whose transactions are savepoints inside one outer transaction, which
    the case rolls back: the engine commits as usual, the next case never sees it."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.engine)
        self.connection = connection

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(bind=self.connection, join_transaction_mode="create_savepoint",
                     expire_on_commit=False) as session, session.begin():
            yield session


@contextmanager
def rolled_back(database: Database) -> Iterator[CaseDatabase]:
    """A CaseDatabase on ``database`` whose every write is undone at the end of the block."""
    with database.engine.connect() as connection:
        outer = connection.begin()
        try:
            yield CaseDatabase(connection)
        finally:
            outer.rollback()


class FrozenParsers:
    """Stands in for ParserProvider with one parser built up front. A case parses before
    it writes, so it never needs a parser of a newer ledger; and rebuilding (a second or
    two) after every rolled-back case would make a matrix of hundreds of cases slow."""

    def __init__(self, parser, villages) -> None:
        self.parser = parser
        self.villages = villages

    def get(self, session):
        return self.parser

    def current(self, session):
        return self.parser, self.villages

    def bound(self, session):
        return self

    def parse(self, text_, today, scope):
        return self.parser.parse(text_, today, scope)

    @property
    def person_names(self) -> tuple[str, ...]:
        return self.parser.person_names


def frozen_parsers(database: Database) -> FrozenParsers:
    from services.issues import VillageDirectory

    with database.transaction() as session:
        villages = VillageDirectory.load(session)
    return FrozenParsers(_build_parser(database), villages)
