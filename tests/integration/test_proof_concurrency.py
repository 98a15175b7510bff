"""Concurrency: many people (and two bot processes) writing one ledger at the same moment.

- Ten cadres report on the same issue at once, several bursts in a row: every answer is
  either an applied change or a refusal that changed nothing; the issue's events replay
  to its final state with every old value equal to the previous new value (no lost
  update), and the optimistic version moved once per change.
- Two engines on two Database objects (what two bot processes are) report on shared
  issues from many threads: the same holds for every issue.
- Two engines working off the same journaled updates at once (two processes draining one
  inbox after a restart): each update takes effect once.
- A supervisor's close-out racing a cadre's report: exactly one of them is applied.
- New issues recorded at once get distinct codes, each with its creation events; one
  invite code redeemed by two people at once registers one of them.

Runs on SQLite (where writers queue behind BEGIN IMMEDIATE) and PostgreSQL (where they
truly overlap and the version column must catch the losers).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select

from db.models import AuditLog, InboxUpdate, Invite, Issue, IssueEvent, User
from db.session import Database
from delivery.pump import take_turns
from nlp.workdays import calendar_from_settings
from services import inbox
from services.conversation.engine import ConversationEngine
from services.conversation.messages import Incoming, Reply, reply_to
from services.errors import Conflict
from services.invites import InviteRefused, create_invite, redeem_invite
from services.issues import targets_for
from services.parser_provider import ParserProvider
from services.reports import Actor, apply_report, record_issue, reopen_issue
from settings import Settings, load_settings
from tests.support.proof_support import (
    COUNTY_TZ,
    Reporter,
    county_today,
    illegal_transitions,
    issue_history,
    prepare_reporting_county,
    report_text,
)
from vocab import IssueStatus, Role

CADRES = 10
BURSTS = 3
APPLIED = "✅"
# What a loser of a race may be told: nothing was changed, it was already so, or (a later
# deadline than the winner's) the engine asks before moving a deadline back.
REFUSALS = ("刚被别人修改过", "在此期间已被修改", "未修改", "已记录过", "请确认")


@pytest.fixture
def parser_provider() -> ParserProvider:
    # One per test, as one per database in a bot: a provider checks its ledger at most
    # every RECHECK_SECONDS, so one kept from the test before would read this test's
    # reports with that test's ledger.
    return ParserProvider(calendar_from_settings(load_settings(environ={})))


@pytest.fixture
def settings(tmp_path) -> Settings:
    base = load_settings(environ={})
    return base.model_copy(update={"storage": base.storage.model_copy(update={"evidence_dir": str(tmp_path / "ev")})})


def make_engine(database: Database, settings: Settings, parser_provider: ParserProvider) -> ConversationEngine:
    engine = ConversationEngine(database, settings, parser_provider=parser_provider)
    engine.bot_username = "gongjian_test_bot"
    return engine


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def add_cadres(database: Database, reporter: Reporter, count: int, first_id: int) -> list[int]:
    """``count`` more village cadres with the same village as ``reporter``; their Telegram ids."""
    ids = [first_id + n for n in range(count)]
    with database.transaction() as session:
        for telegram_id in ids:
            session.add(User(telegram_id=telegram_id, name=f"同村{telegram_id}", role=Role.VILLAGE.value,
                             scope=[f"{reporter.township}/{reporter.village}"], active=True))
    return ids


def say(engine: ConversationEngine, sender_id: int, text: str, message_id: int) -> list[Reply]:
    return reply_to(engine, engine.database, Incoming(sender_id=sender_id, chat_id=sender_id, text=text, message_id=message_id))


def field_chain_problems(start: dict[str, str | None], events: list[IssueEvent]) -> list[str]:
    """Deadline events chain like status events do: each old value is the previous new one."""
    problems = []
    current = dict(start)
    for e in events:
        if e.field in current:
            if e.old_value != current[e.field]:
                problems.append(f"event {e.id} {e.field}: {e.old_value}→{e.new_value} but it was {current[e.field]}")
            current[e.field] = e.new_value
    return problems


def assert_no_lost_update(database: Database, code: str, start_status: str, start_deadline: str | None,
                          applied_replies: int) -> None:
    issue, events = issue_history(database, code)
    changes = {e.change_id for e in events}
    assert len(changes) == applied_replies  # every applied answer has its events, no more
    assert issue.version == 1 + len(changes)  # and the optimistic lock saw each one
    assert illegal_transitions(start_status, events) == []
    assert field_chain_problems({"deadline": start_deadline}, events) == []
    last = {e.field: e.new_value for e in events}
    assert issue.status == last.get("status", start_status)
    assert (issue.deadline.isoformat() if issue.deadline else None) == last.get("deadline", start_deadline)


def classify(replies: list[Reply]) -> str:
    assert len(replies) == 1 and replies[0].text, replies
    text = replies[0].text
    if text.startswith(APPLIED):
        return "applied"
    assert any(word in text for word in REFUSALS), text
    return "refused"


def start_of(database: Database, code: str) -> tuple[str, str | None]:
    with database.transaction() as session:
        issue = session.scalar(select(Issue).where(Issue.code == code))
        return issue.status, issue.deadline.isoformat() if issue.deadline else None


def test_ten_cadres_reporting_on_one_issue_at_once_lose_no_update(database, settings, parser_provider):
    today = county_today()
    [reporter] = prepare_reporting_county(database, users=1, reports_each=CADRES * BURSTS, today=today)
    cadres = [reporter.telegram_id, *add_cadres(database, reporter, CADRES - 1, 990_001)]
    engine = make_engine(database, settings, parser_provider)
    engine.warm_up()
    start_status, start_deadline = start_of(database, reporter.issue_code)
    outcomes: list[str] = []
    for burst in range(BURSTS):
        calls = [
            (lambda i=i, c=c: say(engine, c, report_text(reporter, burst * CADRES + i, today), burst + 1))
            for i, c in enumerate(cadres)
        ]
        outcomes += [classify(replies) for replies in all_at_once(calls)]
    assert outcomes.count("applied") >= BURSTS  # at least one winner per burst
    assert_no_lost_update(database, reporter.issue_code, start_status, start_deadline, outcomes.count("applied"))


def test_two_bot_processes_on_one_database_lose_no_update(db_url, database, settings, parser_provider):
    """Two engines with their own Database (own connection pool), as two processes have,
    twelve threads, four shared issues, three cadres per issue in each process."""
    today = county_today()
    reporters = prepare_reporting_county(database, users=4, reports_each=12, today=today)
    second = Database.connect(db_url, migrate=False)
    try:
        engines = [make_engine(database, settings, parser_provider), make_engine(second, settings, parser_provider)]
        engines[0].warm_up()
        helpers = {r.issue_code: [r.telegram_id, *add_cadres(database, r, 5, 991_000 + 10 * n)]
                   for n, r in enumerate(reporters)}
        starts = {r.issue_code: start_of(database, r.issue_code) for r in reporters}
        applied = {r.issue_code: 0 for r in reporters}
        for burst in range(2):
            calls, codes = [], []
            for r in reporters:
                for i, cadre in enumerate(helpers[r.issue_code]):
                    engine = engines[i % 2]
                    k = burst * 6 + i
                    calls.append(lambda e=engine, c=cadre, t=report_text(r, k, today), m=burst + 1: say(e, c, t, m))
                    codes.append(r.issue_code)
            for code, replies in zip(codes, all_at_once(calls)):
                applied[code] += classify(replies) == "applied"
        for code, (status, deadline) in starts.items():
            assert applied[code] >= 2
            assert_no_lost_update(database, code, status, deadline, applied[code])
    finally:
        second.dispose()


def test_a_close_out_racing_a_report_lets_exactly_one_of_them_win(database, settings, parser_provider):
    """The supervisor closes out an 已整改 issue while its cadre reports it 整改中 again: one
    of the two is applied, the other refused, and the history never jumps (no 整改中 ->
    已销号, no change to a closed-out issue)."""
    today = county_today()
    [reporter] = prepare_reporting_county(database, users=1, reports_each=12, today=today)
    with database.transaction() as session:
        session.add(User(telegram_id=995_001, name="督巡办并发", role=Role.SUPERVISOR.value, scope=[], active=True))
        session.add(User(telegram_id=995_002, name="管理员并发", role=Role.ADMIN.value, scope=[], active=True))
    engine = make_engine(database, settings, parser_provider)
    engine.warm_up()
    start_status, _ = start_of(database, reporter.issue_code)
    for round_ in range(6):
        reset_to_rectified(database, reporter.issue_code, round_)
        close, report = all_at_once([
            lambda: say(engine, 995_001, f"/close {reporter.issue_code}", 100 + round_),
            lambda: say(engine, reporter.telegram_id, report_text(reporter, 2 * round_, today), 100 + round_),
        ])
        applied = [name for name, replies in (("close", close), ("report", report)) if replies[0].text.startswith(APPLIED)]
        assert len(applied) == 1, (close, report)
    _issue, events = issue_history(database, reporter.issue_code)
    assert illegal_transitions(start_status, events) == []


def reset_to_rectified(database: Database, code: str, round_: int) -> None:
    """Bring the issue back to 已整改 through the ledger's own acts (reopen, report), so that
    its history stays a legal chain."""
    with database.transaction() as session:
        issue = session.scalar(select(Issue).where(Issue.code == code))
        admin = session.scalar(select(User).where(User.telegram_id == 995_002))
        actor = Actor(admin, "test", None)
        now = dt.datetime.now(COUNTY_TZ)
        if issue.status == IssueStatus.CLOSED:
            reopen_issue(session, issue, f"第{round_}轮复查", actor=actor, now=now)
        if issue.status != IssueStatus.RECTIFIED:
            apply_report(session, issue, status=IssueStatus.RECTIFIED.value, deadline=None, actor=actor, now=now,
                         duplicate_window_minutes=30)


# -- one update, two workers -----------------------------------------------------------------


def private_update(update_id: int, sender_id: int, message_id: int, text: str) -> dict[str, Any]:
    """The JSON of a private text message as Telegram sends it (what the inbox journals)."""
    user = {"id": sender_id, "is_bot": False, "first_name": "测试"}
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": 1_700_000_000, "chat": {"id": sender_id, "type": "private"},
        "from": user, "text": text,
    }}


class OverlapBothReads:
    """Make the overlap certain on PostgreSQL: whichever worker marks the update done first
    waits (at most a second) until both workers have read the inbox row, then commits."""

    def __init__(self, *databases: Database) -> None:
        self._reads = 0
        self._lock = threading.Lock()
        self._both_read = threading.Event()
        for database in databases:
            event.listen(database.engine, "after_cursor_execute", self._seen)

    def next_update(self) -> None:
        with self._lock:
            self._reads = 0
            self._both_read.clear()

    def _seen(self, conn, cursor, statement, params, context, executemany) -> None:
        words = statement.split(None, 2)[:2]
        if statement.lstrip().upper().startswith("SELECT") and "inbox_update" in statement:
            with self._lock:
                self._reads += 1
                if self._reads >= 2:
                    self._both_read.set()
        elif [w.lower() for w in words] == ["update", "inbox_update"]:
            self._both_read.wait(timeout=1)


def work_off_twice(database: Database, db_url: str, settings: Settings, parser_provider: ParserProvider,
                   payloads: list[dict[str, Any]], incomings: list[Incoming]) -> list[tuple[list[Reply], list[Reply]]]:
    """Journal the updates, then let two engines (two Databases) handle each at the same time."""
    inbox.journal(database, payloads)
    second = Database.connect(db_url, migrate=False)
    try:
        overlap = OverlapBothReads(database, second) if database.dialect == "postgresql" else None
        engines = [make_engine(database, settings, parser_provider), make_engine(second, settings, parser_provider)]
        engines[0].warm_up()
        results = []
        for payload, incoming in zip(payloads, incomings):
            update_id = payload["update_id"]
            if overlap is not None:
                overlap.next_update()
            results.append(tuple(all_at_once([
                lambda e=engine: take_turns(e.database, e, [(incoming, update_id)], [])[0].replies for engine in engines
            ])))
        return results
    finally:
        second.dispose()


def test_two_processes_draining_one_inbox_apply_each_report_once(db_url, database, settings, parser_provider):
    today = county_today()
    [reporter] = prepare_reporting_county(database, users=1, reports_each=6, today=today)
    payloads, incomings = [], []
    for k in range(6):
        text = report_text(reporter, k, today)
        payloads.append(private_update(50_000 + k, reporter.telegram_id, 100 + k, text))
        incomings.append(Incoming(sender_id=reporter.telegram_id, chat_id=reporter.telegram_id, text=text,
                                  message_id=100 + k))
    work_off_twice(database, db_url, settings, parser_provider, payloads, incomings)
    _issue, events = issue_history(database, reporter.issue_code)
    per_message: dict[int, set[str]] = {}
    for e in events:
        per_message.setdefault(e.message_id, set()).add(e.change_id)
    assert {m: len(c) for m, c in per_message.items()} == {100 + k: 1 for k in range(6)}
    with database.transaction() as session:
        rows = session.scalars(select(InboxUpdate).where(InboxUpdate.update_id >= 50_000)).all()
        assert all(row.done_at is not None and row.outcome == "applied" for row in rows) and len(rows) == 6


def test_two_processes_draining_one_inbox_create_one_invite_per_command(db_url, database, settings, parser_provider):
    """An admin's /invite handled by two workers at once must create one invite, not two:
    the effect is not guarded by an issue version, only by the inbox row."""
    prepare_reporting_county(database, users=1, reports_each=1)
    with database.transaction() as session:
        session.add(User(telegram_id=992_001, name="并发管理员", role=Role.ADMIN.value, scope=[], active=True))
    payloads, incomings = [], []
    for n in range(3):
        text = f"/invite village 东光镇/东台村 新人{n}"
        payloads.append(private_update(60_000 + n, 992_001, 200 + n, text))
        incomings.append(Incoming(sender_id=992_001, chat_id=992_001, text=text, message_id=200 + n))
    results = work_off_twice(database, db_url, settings, parser_provider, payloads, incomings)
    with database.transaction() as session:
        invites = session.scalar(select(func.count()).select_from(Invite))
        audits = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "invite_created"))
    assert all(r[0] and r[1] for r in results)  # both workers answered
    assert (invites, audits) == (3, 3), "an update handled by two workers at once took effect twice"


# -- new issues and invites at the same moment ----------------------------------------------


def test_new_issues_recorded_at_once_get_distinct_codes_and_their_events(database):
    """Eight new issues at the same moment: each gets its own code and its creation events,
    or (when it lost the race for a code too often) a clear refusal that wrote nothing."""
    prepare_reporting_county(database, users=1, reports_each=1)
    with database.transaction() as session:
        admin = User(telegram_id=993_001, name="录入员", role=Role.ADMIN.value, scope=[], active=True)
        session.add(admin)
        session.flush()
        admin_id = admin.id
        target = targets_for(session, township="东光镇", village="东台村", household=None)[0]
        issues_before = session.scalar(select(func.count()).select_from(Issue))
    now = dt.datetime.now(COUNTY_TZ)

    def record(n: int) -> str:
        try:
            with database.transaction() as session:
                actor = Actor(session.get(User, admin_id), "test", f"东台村新问题{n}")
                change = record_issue(
                    session, target=target, category="基础设施", status=IssueStatus.OPEN.value, deadline=None,
                    description=f"并发登记{n}", actor=actor, now=now, duplicate_window_minutes=30,
                )
                return change.issue.code
        except Conflict as refusal:
            return f"refused: {refusal}"

    results = all_at_once([lambda n=n: record(n) for n in range(8)])
    codes = [r for r in results if not r.startswith("refused")]
    assert all(r == "refused: 编号冲突，请重发。" for r in results if r not in codes)
    assert len(set(codes)) == len(codes) >= 5  # the code is retried at least five times
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Issue)) == issues_before + len(codes)
        for code in codes:
            issue = session.scalar(select(Issue).where(Issue.code == code))
            fields = sorted(session.scalars(select(IssueEvent.field).where(IssueEvent.issue_id == issue.id)))
            assert fields == ["created", "status"]


def test_one_invite_code_redeemed_twice_at_once_registers_one_person(database):
    prepare_reporting_county(database, users=1, reports_each=1)
    now = dt.datetime.now(COUNTY_TZ)
    with database.transaction() as session:
        invite = create_invite(session, role_text="village", scope_text="东光镇/东台村", name=None,
                               created_by=None, now=now, valid_days=7)

    def redeem(telegram_id: int) -> str:
        try:
            with database.transaction() as session:
                redeem_invite(session, telegram_id=telegram_id, code=invite.code, sender_name="抢码",
                              now=now, attempts_per_hour=5)
            return "registered"
        except InviteRefused:
            return "refused"

    outcomes = all_at_once([lambda t=t: redeem(t) for t in (994_001, 994_002, 994_003)])
    assert sorted(outcomes) == ["refused", "refused", "registered"]
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.telegram_id >= 994_001)) == 1
