"""Several turns in one transaction (delivery/pump.py's take_turns around the engine's
handle): each turn still counts once, answers for itself, and a refusal in one of them
touches none of the others."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import InboxUpdate, IssueEvent, User
from delivery.pump import take_turns
from services import inbox
from services.conversation.messages import Incoming
from services.issues import issue_by_code
from tests.support.backends import POSTGRESQL_ONLY
from tests.support.engine_chat import TELEGRAM_IDS, issue_state
from vocab import Role


def said(name: str, text: str, message_id: int) -> Incoming:
    sender = TELEGRAM_IDS[name]
    return Incoming(sender_id=sender, chat_id=sender, text=text, message_id=message_id, source="telegram")


def journaled(database, *update_ids: int) -> None:
    inbox.journal(database, [{"update_id": u, "message": {"message_id": u, "chat": {"id": 1}}} for u in update_ids])


def user_events(database, code: str) -> int:
    with database.transaction() as s:
        issue = issue_by_code(s, code)
        return s.scalar(
            select(func.count(IssueEvent.id)).where(IssueEvent.issue_id == issue.id, IssueEvent.user_id.is_not(None))
        )


def test_turns_in_one_batch_each_apply_once_and_answer_for_themselves(engine, demo_database):
    journaled(demo_database, 11, 12, 13)
    results = take_turns(demo_database, engine, [
        (said("东台村工作队", "东台村饮水问题已解决", 1), 11),
        (said("东台村工作队", "李兆满家危房改造完工了", 2), 12),  # not their village: refused
        (said("东台村工作队", "东台村刘在龙家黄牛补贴到位了", 3), 13),
    ], [])
    assert [r.outcome for r in results] == ["applied", "refused", "applied"]
    assert results[0].replies[0].text == "✅ 东光镇东台村 · 饮水：未整改 → 已整改（期限 12-03）"
    assert results[1].replies[0].text == "该问题不在您的负责范围（东光镇东台村）内，不能修改。"
    assert results[2].replies[0].text == "✅ 东光镇东台村 刘在龙 · 产业：未整改 → 已整改（期限 12-21）"
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    assert issue_state(demo_database, "ZG-0004")[0] == "已整改"
    for update_id, result in zip((11, 12, 13), results):
        entry = inbox.load(demo_database, update_id)
        assert entry.done and entry.outcome == result.outcome
        assert entry.replies[0]["text"] == result.replies[0].text


def test_an_update_done_before_or_twice_in_a_batch_is_not_applied_again(engine, demo_database):
    journaled(demo_database, 21)
    report = said("东台村工作队", "东台村饮水问题已解决", 1)
    [first] = take_turns(demo_database, engine, [(report, 21)], [])
    again = take_turns(demo_database, engine, [(report, 21), (report, 21)], [])  # replayed after a crash, and doubled
    assert [r.replies[0].text for r in again] == [first.replies[0].text] * 2
    assert user_events(demo_database, "ZG-0003") == 1


def test_replied_marks_ride_along_with_the_batch(engine, demo_database):
    journaled(demo_database, 31, 32)
    [done] = take_turns(demo_database, engine, [(said("东台村工作队", "东台村饮水问题已解决", 1), 31)], [])
    assert not inbox.load(demo_database, 31).replied
    take_turns(demo_database, engine, [(said("东台村工作队", "东台村刘在龙家黄牛补贴到位了", 2), 32)], [31])
    assert inbox.load(demo_database, 31).replied and not inbox.load(demo_database, 32).replied
    assert done.outcome == "applied"


def test_a_batch_that_fails_writes_nothing(engine, demo_database, monkeypatch):
    journaled(demo_database, 41, 42)

    def broken_record(session, results):
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbox, "record", broken_record)
    with pytest.raises(RuntimeError, match="disk full"):
        take_turns(demo_database, engine, [
            (said("东台村工作队", "东台村饮水问题已解决", 1), 41),
            (said("东台村工作队", "东台村刘在龙家黄牛补贴到位了", 2), 42),
        ], [])
    assert user_events(demo_database, "ZG-0003") == 0 and user_events(demo_database, "ZG-0004") == 0
    with demo_database.transaction() as s:
        assert s.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_not(None))) == 0


def test_an_update_never_journaled_is_not_applied(engine, demo_database):
    [result] = take_turns(demo_database, engine, [(said("东台村工作队", "东台村饮水问题已解决", 1), 999)], [])
    assert (result.outcome, result.replies) == ("missing", [])
    assert user_events(demo_database, "ZG-0003") == 0


def test_a_sender_disabled_earlier_in_the_batch_is_refused_later_in_it(engine, demo_database):
    """The senders of a batch are read once at its start; what an earlier turn changes
    about them still counts for the later turns."""
    journaled(demo_database, 61, 62)
    results = take_turns(demo_database, engine, [
        (said("演示管理员", "/users disable 东台村工作队", 1), 61),
        (said("东台村工作队", "东台村饮水问题已解决", 2), 62),
    ], [])
    assert results[0].replies[0].text.startswith("已停用")
    assert results[1].outcome != "applied" and "停用" in results[1].replies[0].text
    assert user_events(demo_database, "ZG-0003") == 0


def test_a_turn_failing_half_way_through_its_change_leaves_none_of_it(engine, demo_database, monkeypatch):
    """Turns run without a savepoint of their own until one fails: then the batch runs
    again with one per turn, so the failed turn's writes are undone and the others count once."""
    from services import reports

    write_report = reports._write_report

    def failing_for_zg_0004(session, issue, *args, **kwargs):
        change_id = write_report(session, issue, *args, **kwargs)
        if issue.code == "ZG-0004":  # its UPDATE and events are written, the turn is not over
            raise RuntimeError("lost the disk")
        return change_id

    monkeypatch.setattr(reports, "_write_report", failing_for_zg_0004)
    journaled(demo_database, 71, 72)
    results = take_turns(demo_database, engine, [
        (said("东台村工作队", "东台村饮水问题已解决", 1), 71),
        (said("东台村工作队", "东台村刘在龙家黄牛补贴到位了", 2), 72),
    ], [])
    assert [r.outcome for r in results] == ["applied", "error"]
    assert results[1].replies[0].text.startswith("出错了，这条消息没有修改台账")
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改" and user_events(demo_database, "ZG-0003") == 1
    assert issue_state(demo_database, "ZG-0004")[0] == "未整改" and user_events(demo_database, "ZG-0004") == 0
    assert inbox.load(demo_database, 72).done and inbox.load(demo_database, 72).outcome == "error"


def test_a_refused_digest_command_is_recorded_as_refused(engine, demo_database):
    journaled(demo_database, 21)
    private = said("东台村工作队", "/subscribe", 21)  # only in a group: refused
    [result] = take_turns(demo_database, engine, [(private, 21)], [])
    assert result.outcome == "refused"
    assert "工作群" in result.replies[0].text
    assert inbox.load(demo_database, 21).outcome == "refused"


@POSTGRESQL_ONLY  # another writer cannot change an issue while a SQLite batch holds the ledger
def test_a_batched_write_refused_by_its_guard_runs_the_batch_again(engine, demo_database, monkeypatch):
    """PostgreSQL sends a batch's report writes together, each as if it had been made: when
    one is not (the issue changed after the batch read it), the batch runs again with its
    writes one by one, so every reply says what was written."""
    from services.conversation import engine as engine_module

    preload = engine_module.preload_village_issues
    changed = []

    def preload_then_someone_changes_zg_0003(session, places):
        preload(session, places)
        if not changed:  # another chat's transaction commits a change of ZG-0003 meanwhile
            with demo_database.transaction() as other:
                issue = issue_by_code(other, "ZG-0003")
                issue.deadline = issue.deadline.replace(year=issue.deadline.year + 1)
                changed.append(issue.deadline)

    monkeypatch.setattr(engine_module, "preload_village_issues", preload_then_someone_changes_zg_0003)
    journaled(demo_database, 81, 82)
    results = take_turns(demo_database, engine, [
        (said("东台村工作队", "东台村饮水问题已解决", 1), 81),
        (said("东台村工作队", "东台村刘在龙家黄牛补贴到位了", 2), 82),
    ], [])
    assert [r.outcome for r in results] == ["applied", "applied"]
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改" and user_events(demo_database, "ZG-0003") == 1
    assert issue_state(demo_database, "ZG-0004")[0] == "已整改" and user_events(demo_database, "ZG-0004") == 1
    with demo_database.transaction() as s:
        assert [issue_by_code(s, "ZG-0003").deadline] == changed  # the other writer's change stays


def test_a_batch_of_reports_sends_its_writes_together(engine, demo_database):
    """On PostgreSQL the batch's reports (on village-level issues, found without a query of
    their own) reach the server as one write statement."""
    from sqlalchemy import event

    statements = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    with demo_database.transaction() as s:  # a second village cadre (the demo has one)
        s.add(User(telegram_id=1099, name="东光村工作队", role=Role.VILLAGE.value, scope=["东光镇/东光村"], active=True))
    journaled(demo_database, 91, 92)
    event.listen(demo_database.engine, "before_cursor_execute", note)
    try:
        results = take_turns(demo_database, engine, [
            (said("东台村工作队", "东台村饮水问题已解决", 1), 91),
            (Incoming(sender_id=1099, chat_id=1099, text="东光村基础设施问题已解决", message_id=2), 92),
        ], [])
    finally:
        event.remove(demo_database.engine, "before_cursor_execute", note)
    assert [r.outcome for r in results] == ["applied", "applied"]
    writes = [s for s in statements if "UPDATE issue " in s]
    assert len(writes) == (1 if demo_database.dialect == "postgresql" else 2)
    assert user_events(demo_database, "ZG-0003") == 1 and user_events(demo_database, "ZG-0032") == 1


@POSTGRESQL_ONLY  # a PostgreSQL server's connections
def test_without_a_connection_check_a_dropped_connection_fails_one_batch_for_a_retry(
    demo_database, settings, clock, parser_provider
):
    """The engine process checks no connection before a batch (a round trip each): a batch
    on a connection the server dropped fails as a passing failure, and the next one works."""
    from sqlalchemy import text

    from db.session import Database
    from delivery.faults import is_transient
    from services.conversation.engine import ConversationEngine

    url = demo_database.engine.url.render_as_string(hide_password=False)
    database = Database.connect(url, migrate=False, pre_ping=False)  # as the engine process does
    try:
        engine = ConversationEngine(database, settings, clock=clock, parser_provider=parser_provider)
        journaled(database, 101, 102)
        take_turns(database, engine, [(said("东台村工作队", "/help", 1), 101)], [])
        with database.transaction() as s:
            backend = s.scalar(text("SELECT pg_backend_pid()"))
        with demo_database.transaction() as s:
            s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(Exception) as failure:
            take_turns(database, engine, [(said("东台村工作队", "东台村饮水问题已解决", 2), 102)], [])
        assert is_transient(failure.value)
        [result] = take_turns(database, engine, [(said("东台村工作队", "东台村饮水问题已解决", 2), 102)], [])
        assert result.outcome == "applied" and user_events(database, "ZG-0003") == 1
    finally:
        database.dispose()
