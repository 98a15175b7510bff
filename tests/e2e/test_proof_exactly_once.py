"""Each update applied exactly once, even through ``kill -9``.

The fake Bot API server feeds 1,000 status reports from 50 registered village cadres
(20 each, every one a real report the engine applies as one change). ``python bot.py run``
works them off as a child process (with its engine in a process of its own) and is
killed with SIGKILL twice while the stream is still coming in, then restarted; the engine
process dies with it each time. Afterwards:

- every report is in the ledger exactly once (one change per message, 1,000 in all);
- each cadre's issue went through exactly their reports, in the order they were sent, and
  every status change starts from the status the previous one left;
- every update is marked done and answered in the inbox, and the reply stored for it is in
  the fake server's transcript for that cadre's chat.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from db.models import InboxUpdate, IssueEvent
from services.conversation.serialize import replies_from_json
from tests.support.fake_bot_api import BotProcess, FakeBotApi, FakeUser, process_alive
from tests.support.proof_support import (
    Reporter,
    county_today,
    expected_status,
    illegal_transitions,
    issue_history,
    prepare_reporting_county,
    report_date,
    report_text,
)
from vocab import IssueStatus

USERS = 50
REPORTS_EACH = 20
TOTAL = USERS * REPORTS_EACH
KILL_AFTER_REPLIES = (TOTAL // 5, TOTAL // 2)  # SIGKILL once this many replies went out
ROUND_PAUSE_SECONDS = 0.3  # one report from every cadre per round: the stream lasts a while
WAIT = 240.0  # upper bound for "eventually"; never a timing assertion


@dataclass(frozen=True)
class SentReport:
    reporter: Reporter
    k: int  # the cadre's k-th report
    message_id: int  # in the cadre's private chat (shared with the bot's messages there)


async def feed(fake: FakeBotApi, reporters: list[Reporter], today, sent: dict[int, SentReport]) -> None:
    """Round k: every cadre sends their k-th report; rounds a moment apart."""
    for k in range(REPORTS_EACH):
        for reporter in reporters:
            user = FakeUser(reporter.telegram_id, reporter.name)
            update_id = fake.send_text(user, report_text(reporter, k, today))
            sent[update_id] = SentReport(reporter, k, fake.message_id_of(update_id))
        await asyncio.sleep(ROUND_PAUSE_SECONDS)


def unfinished_count(database, update_ids: list[int]) -> int:
    with database.transaction() as session:
        finished = session.scalar(
            select(func.count()).select_from(InboxUpdate).where(
                InboxUpdate.update_id.in_(update_ids),
                InboxUpdate.done_at.is_not(None),
                InboxUpdate.replied_at.is_not(None),
            )
        )
    return len(update_ids) - finished


async def wait_all_finished(database, update_ids: list[int], bot: BotProcess) -> None:
    deadline = time.monotonic() + WAIT
    while await asyncio.to_thread(unfinished_count, database, update_ids):
        if bot.process.poll() is not None:
            raise AssertionError(f"bot process exited {bot.process.returncode}:\n{bot.log[-4000:]}")
        if time.monotonic() > deadline:
            left = await asyncio.to_thread(unfinished_count, database, update_ids)
            raise AssertionError(f"{left} updates still unfinished after {WAIT:.0f} s:\n{bot.log[-4000:]}")
        await asyncio.sleep(0.5)


@pytest.mark.slow
async def test_1000_reports_survive_two_kill_9s_applied_exactly_once(fake_bot_api, db_url, database, tmp_path):
    today = county_today()
    reporters = await asyncio.to_thread(
        prepare_reporting_county, database, users=USERS, reports_each=REPORTS_EACH, today=today
    )
    sent: dict[int, SentReport] = {}
    bot = BotProcess(fake_bot_api, db_url, tmp_path)
    bot.start()
    feeder = None
    try:
        await bot.wait_polling()
        feeder = asyncio.create_task(feed(fake_bot_api, reporters, today, sent))
        for kill_after in KILL_AFTER_REPLIES:
            await fake_bot_api.wait_until(lambda: len(fake_bot_api.sent) >= kill_after or bot.process.poll() is not None, WAIT)
            assert bot.process.poll() is None, bot.log[-4000:]
            engine_processes = bot.children()
            assert engine_processes, "bot.py run parses and writes in an engine process of its own"
            bot.kill()
            # The engine process dies with the bot: no orphan goes on writing to the ledger.
            await fake_bot_api.wait_until(lambda: not any(map(process_alive, engine_processes)), WAIT)
            bot.start()
            await bot.wait_polling()
        await feeder
        await wait_all_finished(database, list(sent), bot)
        assert await bot.terminate() == 0
    finally:
        if feeder is not None and not feeder.done():
            feeder.cancel()
        if bot.process.poll() is None:
            bot.kill()

    assert len(sent) == TOTAL
    assert_every_report_applied_once(database, sent)
    for reporter in reporters:
        message_ids = [s.message_id for s in sorted(sent.values(), key=lambda s: s.k) if s.reporter == reporter]
        assert_issue_followed_the_reports(database, reporter, message_ids, today)
    assert_every_update_answered(database, fake_bot_api, sent)


def assert_every_report_applied_once(database, sent: dict[int, SentReport]) -> None:
    """One change per message (chat, message id), and nothing else written by the bot."""
    with database.transaction() as session:
        per_message = session.execute(
            select(IssueEvent.chat_id, IssueEvent.message_id, func.count(func.distinct(IssueEvent.change_id)))
            .where(IssueEvent.source == "telegram")
            .group_by(IssueEvent.chat_id, IssueEvent.message_id)
        ).all()
        outcomes = dict(session.execute(
            select(InboxUpdate.outcome, func.count()).group_by(InboxUpdate.outcome)
        ).all())
        journaled = session.scalar(select(func.count()).select_from(InboxUpdate))
    doubled = [(chat, message, n) for chat, message, n in per_message if n != 1]
    assert doubled == [], f"messages applied more than once: {doubled[:10]}"
    assert len(per_message) == TOTAL  # no report lost
    assert journaled == TOTAL  # re-delivered batches were recognised, not journaled twice
    assert outcomes == {"applied": TOTAL}


def assert_issue_followed_the_reports(database, reporter: Reporter, message_ids: list[int], today) -> None:
    """The cadre's issue changed once per report, in the order sent, legally."""
    issue, events = issue_history(database, reporter.issue_code)
    changes: list[str] = []
    for event in events:
        if event.change_id not in changes:
            changes.append(event.change_id)
    assert len(changes) == REPORTS_EACH, reporter
    by_change = {change: [e for e in events if e.change_id == change] for change in changes}
    # In the order sent, none skipped, each change from its own message.
    assert [by_change[change][0].message_id for change in changes] == message_ids
    statuses = [next(e.new_value for e in by_change[c] if e.field == "status") for c in changes]
    assert statuses == [expected_status(k) for k in range(REPORTS_EACH)]
    assert illegal_transitions(IssueStatus.OPEN.value, events) == []
    last_in_progress = max(k for k in range(REPORTS_EACH) if k % 2 == 0)
    assert issue.status == expected_status(REPORTS_EACH - 1)
    assert issue.deadline == report_date(today, last_in_progress)
    assert issue.version == 1 + REPORTS_EACH  # one optimistic-lock bump per change
    assert {e.user_id for e in events} and all(e.chat_id == reporter.telegram_id for e in events)


def assert_every_update_answered(database, fake: FakeBotApi, sent: dict[int, SentReport]) -> None:
    """The reply the engine stored for each update reached that cadre's chat."""
    with database.transaction() as session:
        stored = dict(session.execute(
            select(InboxUpdate.update_id, InboxUpdate.replies).where(InboxUpdate.update_id.in_(list(sent)))
        ).all())
    texts_by_chat: dict[int, set[str]] = {}
    for message in fake.sent:
        texts_by_chat.setdefault(message.chat_id, set()).add(message.text)
    missing = []
    for update_id, report in sent.items():
        replies = replies_from_json(stored[update_id])
        assert len(replies) == 1 and replies[0].text.startswith("✅"), (report.k, replies)
        if replies[0].text not in texts_by_chat.get(report.reporter.telegram_id, set()):
            missing.append((report.reporter.name, report.k, replies[0].text))
    assert missing == [], f"replies never sent: {missing[:10]}"
    for reporter in {s.reporter for s in sent.values()}:
        # One distinct answer per report (a reply re-sent after a crash is the same text;
        # due-date reminders the bot sends on its own are not answers).
        answers = {t for t in texts_by_chat[reporter.telegram_id] if t.startswith("✅")}
        assert len(answers) == REPORTS_EACH
