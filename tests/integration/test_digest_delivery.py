"""Exactly once: every subscribed group gets one digest per working day, whatever happens.

The sender here is a fake that records what each chat received (the Telegram-level test
is tests/e2e/test_digest_telegram.py). A "crash" is an exception the delivery loop does not
catch, like a process dying: nothing after it runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from db.models import AuditLog, DigestDelivery, Subscription
from db.session import Database
from services.digest_delivery import Outcome, SendResult, deliver_due_digests, due_digests
from tests.support.digest_ledger import (
    TODAY,
    ChartProbe,
    add_subscription,
    build_known_ledger,
    calendar_of,
    local,
    settings_for,
)

CHATS = (-1001, -1002, -1003, -1004)
NOW = local(TODAY, 9)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


class FakeTelegram:
    """Records delivered digests per chat; ``script`` gives the outcome of each call in turn."""

    def __init__(self, script=()):
        self.delivered: Counter[int] = Counter()
        self.calls: list[int] = []
        self.script = list(script)
        self.lock = threading.Lock()

    async def __call__(self, message) -> SendResult:
        with self.lock:
            self.calls.append(message.chat_id)
            step = self.script.pop(0) if self.script else "ok"
        if step == "crash_before":
            raise Crash()
        if isinstance(step, SendResult):
            return step
        with self.lock:
            self.delivered[message.chat_id] += 1
        assert message.text.startswith("📋") and len(message.text) <= 4096
        if step == "crash_after":
            raise Crash()
        return SendResult(Outcome.SENT)


@pytest.fixture
def setup(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    ids = [add_subscription(database, chat, "" if i % 2 == 0 else "东光镇") for i, chat in enumerate(CHATS)]
    return database, settings, ids


def deliver(database, settings, send, *, now=NOW, instance="bot-a", render_chart=None, sleeps=None):
    kwargs = {}
    if render_chart is not None:
        kwargs["render_chart"] = render_chart

    async def fake_sleep(seconds):
        if sleeps is not None:
            sleeps.append(seconds)

    return asyncio.run(deliver_due_digests(
        database, settings, calendar_of(settings), now, instance, send, sleep=fake_sleep, **kwargs
    ))


def deliveries(database):
    with database.transaction() as session:
        return {
            (d.chat_id, d.digest_date): (d.sent_at is not None, d.summary)
            for d in session.scalars(select(DigestDelivery))
        }


def test_every_chat_gets_one_digest_with_chart_and_figures_are_kept(setup):
    database, settings, _ = setup
    charts = []
    send = FakeTelegram()
    report = deliver(database, settings, send, render_chart=lambda d: charts.append(d.label) or b"png")
    assert send.delivered == Counter({chat: 1 for chat in CHATS})
    assert len(report.sent) == 4 and len(charts) == 4
    sent = deliveries(database)
    assert all(ok for ok, _ in sent.values())
    assert sent[(-1001, TODAY)][1]["overdue"] == 3  # the county's figures, for tomorrow's comparison


def test_charts_are_drawn_after_the_digest_transaction_committed(setup, db_url, monkeypatch):
    database, settings, _ = setup
    probe = ChartProbe(db_url, monkeypatch)
    charts = []

    async def send(message):
        charts.append(message.chart)
        return SendResult(Outcome.SENT)

    deliver(database, settings, send)  # the real chart
    assert probe.open_during_drawing == [False] * len(CHATS)  # a report would not have waited
    assert len(charts) == len(CHATS) and all(chart.startswith(b"\x89PNG") for chart in charts)


def test_restart_sends_nothing_twice(setup):
    database, settings, _ = setup
    send = FakeTelegram()
    deliver(database, settings, send)
    deliver(database, settings, send, instance="bot-a-restarted")  # jobs rebuilt at start
    deliver(database, settings, send, now=NOW + dt.timedelta(hours=3))
    assert send.delivered == Counter({chat: 1 for chat in CHATS})


def test_crash_between_sends_then_rerun(setup):
    database, settings, _ = setup
    send = FakeTelegram()
    built = []

    def chart_then_crash(digest):
        built.append(digest.label)
        if len(built) == 2:  # dies after the first group's digest went out and was recorded
            raise Crash()
        return b"png"

    with pytest.raises(Crash):
        deliver(database, settings, send, render_chart=chart_then_crash)
    assert send.delivered == Counter({CHATS[0]: 1})
    deliver(database, settings, send, instance="bot-a-restarted")
    assert send.delivered == Counter({chat: 1 for chat in CHATS})


def test_crash_after_telegram_accepted_but_before_recording_sends_no_duplicate(setup):
    database, settings, _ = setup
    send = FakeTelegram(script=["ok", "crash_after"])
    with pytest.raises(Crash):
        deliver(database, settings, send)
    deliver(database, settings, send, instance="bot-a-restarted")
    deliver(database, settings, send, now=NOW + dt.timedelta(hours=2), instance="bot-a-restarted")
    # The second group's claim was never confirmed; it is not sent again (at most once).
    assert send.delivered == Counter({chat: 1 for chat in CHATS})
    assert deliveries(database)[(CHATS[1], TODAY)][0] is False


def test_two_processes_on_one_database_send_each_digest_once(setup, db_url):
    _, settings, _ = setup
    send = FakeTelegram()
    # generous: on a loaded 2-core machine the second "process" may take long to get here
    both_built_first = threading.Barrier(2, timeout=120)
    reports, errors = [], []

    def chart_of(name):
        def chart(digest):
            # Both processes have built the first digest before either claims it: a real race.
            if name not in built:
                built.add(name)
                both_built_first.wait()
            return b"png"

        return chart

    built: set[str] = set()

    def process(name):
        own = Database.connect(db_url)  # each "process" has its own engine and connections
        try:
            for minute in range(3):  # three ticks of the minute job each
                reports.append(deliver(own, settings, send, now=NOW + dt.timedelta(minutes=minute),
                                       instance=name, render_chart=chart_of(name)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=process, args=(f"bot-{n}",), name=f"bot-{n}") for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert send.delivered == Counter({chat: 1 for chat in CHATS})
    assert sum(len(r.sent) for r in reports) == len(CHATS)
    assert sum(len(r.skipped) for r in reports) >= 1  # the loser of the race skipped


def test_flood_control_is_waited_out_and_the_digest_sent_once(setup):
    database, settings, _ = setup
    send = FakeTelegram(script=[SendResult(Outcome.NOT_SENT, retry_after=7, detail="429")])
    sleeps = []
    report = deliver(database, settings, send, sleeps=sleeps)
    assert sleeps == [7]
    assert send.delivered == Counter({chat: 1 for chat in CHATS})
    assert len(report.sent) == 4


def test_unreachable_telegram_releases_the_claim_for_the_next_run(setup):
    database, settings, _ = setup
    send = FakeTelegram(script=[SendResult(Outcome.NOT_SENT, detail="connect error")])
    report = deliver(database, settings, send)
    assert report.not_sent and not report.sent  # the run stops at the first failure
    assert deliveries(database) == {}
    deliver(database, settings, send, now=NOW + dt.timedelta(minutes=1))
    assert send.delivered == Counter({chat: 1 for chat in CHATS})


def test_removed_group_is_unsubscribed_with_an_event(setup):
    database, settings, ids = setup
    send = FakeTelegram(script=[SendResult(Outcome.GONE, detail="Forbidden: bot was kicked")])
    deliver(database, settings, send)
    with database.transaction() as session:
        assert session.get(Subscription, ids[0]).active is False
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "bot_removed")).one()
        assert audit.detail["chat_id"] == CHATS[0]
    deliver(database, settings, send, now=local(dt.date(2026, 10, 13), 9))
    assert send.calls.count(CHATS[0]) == 1  # never tried again
    assert send.delivered[CHATS[1]] == 2  # the others go on, one a day


def test_uncertain_send_is_not_repeated(setup):
    database, settings, _ = setup
    send = FakeTelegram(script=[SendResult(Outcome.UNCERTAIN, detail="TimedOut")])
    deliver(database, settings, send)
    deliver(database, settings, send, now=NOW + dt.timedelta(hours=1))
    assert send.calls.count(CHATS[0]) == 1
    assert deliveries(database)[(CHATS[0], TODAY)] == (False, {"unconfirmed": "TimedOut"})


@pytest.mark.parametrize(
    "day, expected",
    [
        (dt.date(2026, 10, 1), 0),  # National Day: none
        (dt.date(2026, 10, 10), 4),  # Saturday make-up working day: yes
        (dt.date(2026, 10, 11), 0),  # Sunday
        (dt.date(2027, 2, 8), 0),  # 2027 Spring Festival from config.yaml
        (dt.date(2027, 2, 14), 4),  # 2027 make-up Sunday from config.yaml
    ],
)
def test_digests_only_on_working_days(setup, day, expected):
    database, settings, _ = setup
    assert len(due_digests(database, local(day, 9), calendar_of(settings))) == expected


def test_time_and_subscription_date_decide_what_is_due(setup):
    database, settings, _ = setup
    calendar = calendar_of(settings)
    add_subscription(database, -2001, send_time="10:00")
    add_subscription(database, -2002, created=local(TODAY, 9, 30))  # subscribed after 08:30 today
    assert {d.chat_id for d in due_digests(database, local(TODAY, 8, 29), calendar)} == set()
    assert {d.chat_id for d in due_digests(database, local(TODAY, 9, 45), calendar)} == set(CHATS)
    assert {d.chat_id for d in due_digests(database, local(TODAY, 10, 0), calendar)} == {*CHATS, -2001}
    tomorrow = local(dt.date(2026, 10, 13), 8, 30)
    assert -2002 in {d.chat_id for d in due_digests(database, tomorrow, calendar)}


def test_missed_digest_is_sent_on_start_the_same_day(setup):
    database, settings, _ = setup
    send = FakeTelegram()
    deliver(database, settings, send, now=local(TODAY, 16))  # the bot was down all morning
    assert send.delivered == Counter({chat: 1 for chat in CHATS})


def test_weekly_digest_only_on_first_working_day_of_the_week(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    add_subscription(database, -3001, weekly=True)
    send = FakeTelegram()
    for day in (dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 10), TODAY, dt.date(2026, 10, 13)):
        deliver(database, settings, send, now=local(day, 9))
    assert send.delivered == Counter({-3001: 2})  # Thursday 10-08 (after the holiday), Monday 10-12
