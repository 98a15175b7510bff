"""The durable inbox: what was fetched is never lost, what was done is never done again.

Unit tests of services/inbox.py, then crashes simulated by leaving the inbox the way a
``kill -9`` at each point would leave it, and starting the bot on it (stand-in engine;
tests/e2e/test_e2e_conversation.py repeats the main case with the real engine and the ledger).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from db.models import AuditLog, InboxUpdate
from services import inbox
from services.conversation.messages import Reply
from services.conversation.serialize import replies_to_json
from tests.support.fake_bot_api import FakeUser, StandInEngine, bot_settings, running_bot

ALICE = FakeUser(2001, "艾丽")
BOB = FakeUser(2002, "鲍勃")


def message(update_id: int, user: FakeUser, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private"},
            "from": user.to_api(),
            "text": text,
        },
    }


def effects(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditLog))


# -- services/inbox.py ---------------------------------------------------------------------


def test_journal_returns_only_updates_not_seen_before(database):
    assert inbox.journal(database, [message(1, ALICE, "a"), message(2, BOB, "b")]) == [1, 2]
    # Telegram re-delivers an unconfirmed batch after a crash: nothing new in it
    assert inbox.journal(database, [message(2, BOB, "b"), message(3, ALICE, "c")]) == [3]
    assert [update_id for update_id, _ in inbox.unfinished(database)] == [1, 2, 3]


def test_an_update_is_marked_done_once(database):
    inbox.journal(database, [message(5, ALICE, "a")])
    with database.transaction() as session:
        assert inbox.mark_done(session, 5, "applied", [{"text": "ok"}]) is True
    with database.transaction() as session:
        assert inbox.mark_done(session, 5, "applied", [{"text": "again"}]) is False
    entry = inbox.load(database, 5)
    assert entry.done and not entry.replied and entry.replies == [{"text": "ok"}]
    inbox.mark_replied(database, 5)
    assert inbox.load(database, 5).replied
    assert inbox.unfinished(database) == []


def test_done_but_unsent_counts_as_unfinished(database):
    inbox.journal(database, [message(7, ALICE, "a"), message(8, ALICE, "b")])
    inbox.complete(database, 7, "answered", [{"text": "hi"}])
    assert [update_id for update_id, _ in inbox.unfinished(database)] == [7, 8]
    assert inbox.backlog(database) == 2


def test_prune_drops_only_old_finished_rows(database):
    inbox.journal(database, [message(1, ALICE, "old"), message(2, ALICE, "old, unsent"), message(3, ALICE, "new")])
    for update_id in (1, 2, 3):
        inbox.complete(database, update_id, "answered")
    inbox.mark_replied(database, 1)
    inbox.mark_replied(database, 3)
    later = dt.datetime.now(dt.timezone.utc) + inbox.KEEP_FINISHED + dt.timedelta(hours=1)
    assert inbox.prune(database, now=later) == 2  # 1 and 3; 2 still has a reply to send
    assert [update_id for update_id, _ in inbox.unfinished(database)] == [2]


def test_a_restarted_numbering_replaces_a_finished_row(database):
    inbox.journal(database, [message(9, ALICE, "last week")])
    inbox.complete(database, 9, "answered")
    inbox.mark_replied(database, 9)
    assert inbox.journal(database, [message(9, BOB, "a new update with an old id")]) == [9]
    entry = inbox.load(database, 9)
    assert not entry.done and entry.payload["message"]["text"] == "a new update with an old id"


def test_the_same_update_serialised_differently_is_not_new(database):
    """A webhook body and PTB's to_dict() of one update differ in detail; still not new."""
    inbox.journal(database, [message(11, ALICE, "东台村饮水问题已解决")])
    inbox.complete(database, 11, "applied")
    inbox.mark_replied(database, 11)
    again = message(11, ALICE, "东台村饮水问题已解决")
    again["message"]["entities"] = []
    again["message"]["from"]["language_code"] = "zh-hans"
    assert inbox.journal(database, [again]) == []
    assert inbox.load(database, 11).done


# -- crashes, through the bot ------------------------------------------------------------


async def test_journaled_but_unhandled_updates_are_handled_once_after_a_crash(
    fake_bot_api, db_url, database, tmp_path
):
    """Crash after the journal commit, before the offset was confirmed: Telegram sends the
    batch again, the inbox already has it; each update is handled once, answered once."""
    first = fake_bot_api.send_text(ALICE, "东台村饮水问题已解决")
    second = fake_bot_api.send_text(BOB, "东台村情况")
    inbox.journal(database, list(fake_bot_api.injected.values()))  # what the dead process did
    engine = StandInEngine(database)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, engine) as bot:
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await fake_bot_api.wait_for_messages(BOB.id, 1)
        await fake_bot_api.wait_until(lambda: fake_bot_api.pending_updates() == 0)  # offsets confirmed
        await bot.intake.wait_idle()
    assert effects(database) == 2
    assert sorted(i.text for i in engine.seen) == ["东台村情况", "东台村饮水问题已解决"]
    assert [m.text for m in fake_bot_api.messages_to(ALICE.id)] == ["收到：东台村饮水问题已解决"]
    assert [m.text for m in fake_bot_api.messages_to(BOB.id)] == ["收到：东台村情况"]
    for update_id in (first, second):
        entry = inbox.load(database, update_id)
        assert entry.done and entry.replied


async def test_stored_replies_are_sent_after_a_crash_without_handling_again(fake_bot_api, db_url, database, tmp_path):
    """Crash after the engine's commit, before the replies went out: they go out at start,
    and the update is not handled a second time."""
    done = message(41, ALICE, "东台村饮水问题已解决")
    inbox.journal(database, [done])
    inbox.complete(database, 41, "applied", replies_to_json([Reply("✅ 已整改"), Reply("第二条")]))
    engine = StandInEngine(database)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, engine) as bot:
        await fake_bot_api.wait_for_messages(ALICE.id, 2)
        await bot.intake.wait_idle()
    assert engine.seen == [] and effects(database) == 0
    assert [m.text for m in fake_bot_api.messages_to(ALICE.id)] == ["✅ 已整改", "第二条"]
    assert inbox.load(database, 41).replied


async def test_updates_of_one_chat_keep_their_order(fake_bot_api, db_url, database, tmp_path):
    texts = [f"第{n}条" for n in range(12)]
    engine = StandInEngine(database)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, engine):
        for text in texts:
            fake_bot_api.send_text(ALICE, text)
            fake_bot_api.send_text(BOB, text)
        await fake_bot_api.wait_for_messages(ALICE.id, len(texts))
        await fake_bot_api.wait_for_messages(BOB.id, len(texts))
    for user in (ALICE, BOB):
        assert [m.text for m in fake_bot_api.messages_to(user.id)] == [f"收到：{t}" for t in texts]
    assert effects(database) == 2 * len(texts)


async def test_a_database_outage_delays_updates_but_loses_none(fake_bot_api, db_url, database, tmp_path, monkeypatch):
    """While journaling fails, nothing is confirmed to Telegram; once it works, all arrive."""
    from sqlalchemy.exc import OperationalError

    real_journal = inbox.journal
    failures = {"left": 3}

    def flaky_journal(db, payloads):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is restarting"))
        return real_journal(db, payloads)

    monkeypatch.setattr(inbox, "journal", flaky_journal)
    engine = StandInEngine(database)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, engine):
        fake_bot_api.send_text(ALICE, "一")
        fake_bot_api.send_text(BOB, "二")
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await fake_bot_api.wait_for_messages(BOB.id, 1)
    assert failures["left"] == 0
    assert effects(database) == 2
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboxUpdate)) == 2


async def test_the_running_bot_drops_old_handled_updates(fake_bot_api, db_url, database, tmp_path):
    inbox.journal(database, [message(61, ALICE, "上个月的消息"), message(62, ALICE, "今天的消息")])
    for update_id in (61, 62):
        inbox.complete(database, update_id, "answered")
        inbox.mark_replied(database, update_id)
    with database.transaction() as session:
        session.get(InboxUpdate, 61).received_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, StandInEngine(database)):
        await fake_bot_api.wait_until(lambda: inbox.load(database, 61) is None)
    assert inbox.load(database, 62) is not None
