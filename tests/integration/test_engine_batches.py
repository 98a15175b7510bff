"""Several turns in one transaction (delivery/pump.py's take_turns around the engine's
handle): each turn still counts once, answers for itself, and a refusal in one of them
touches none of the others."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import InboxUpdate, IssueEvent
from delivery.pump import take_turns
from services import inbox
from services.conversation.messages import Incoming
from services.issues import issue_by_code
from tests.support.engine_chat import TELEGRAM_IDS, issue_state


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
