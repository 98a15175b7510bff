"""Private reminders: once per issue per stage, one message per person per day."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from db.models import Issue, Reminder
from services.digest_delivery import Outcome, SendResult
from services.reminders import send_due_reminders
from tests.support.digest_ledger import TODAY, add_user, build_known_ledger, calendar_of, settings_for, village

TUESDAY, WEDNESDAY = dt.date(2026, 10, 13), dt.date(2026, 10, 14)


class Inbox:
    """Private messages per Telegram user id."""

    def __init__(self, fail_first: SendResult | None = None):
        self.messages: dict[int, list[str]] = {}
        self.fail_first = fail_first

    async def __call__(self, telegram_id: int, text: str) -> SendResult:
        if self.fail_first is not None:
            result, self.fail_first = self.fail_first, None
            return result
        self.messages.setdefault(telegram_id, []).append(text)
        return SendResult(Outcome.SENT)


@pytest.fixture
def county(database, db_url, tmp_path):
    ids = build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    add_user(database, "驻村队员", "village", ["东光镇/东台村"], 1001)
    add_user(database, "汪清镇干部", "township", ["汪清镇"], 1002)
    add_user(database, "水利局干部", "department", ["饮水"], 1003)
    add_user(database, "没有电报的干部", "township", ["东光镇"], None)
    add_user(database, "管理员", "admin", [], 1004)
    return database, settings, ids


def remind(database, settings, day, inbox):
    async def no_sleep(_seconds):
        return None

    return asyncio.run(send_due_reminders(database, settings, calendar_of(settings), day, inbox, sleep=no_sleep))


def codes(text: str) -> set[str]:
    return {word for word in text.split() if word.startswith("ZG-")}


def test_each_person_gets_one_message_with_all_their_items(county):
    database, settings, _ = county
    inbox = Inbox()
    remind(database, settings, TODAY, inbox)
    assert set(inbox.messages) == {1001, 1002, 1003}  # not the admin, not the user without Telegram
    assert all(len(messages) == 1 for messages in inbox.messages.values())
    assert codes(inbox.messages[1001][0]) == {"ZG-01", "ZG-02"}
    assert codes(inbox.messages[1002][0]) == {"ZG-05", "ZG-06"}
    assert codes(inbox.messages[1003][0]) == {"ZG-01", "ZG-03"}
    text = inbox.messages[1003][0]
    assert "🔴 已逾期 1 件" in text and "ZG-01 东光镇东台村 饮水 逾期 5 天（水利局）" in text
    assert "🟡 3 个工作日内到期 1 件" in text and "ZG-03 东光镇东光村 饮水 10月13日到期" in text


def test_at_most_once_per_issue_and_stage(county):
    database, settings, _ = county
    inbox = Inbox()
    remind(database, settings, TODAY, inbox)
    remind(database, settings, TODAY, inbox)  # a restart, or a second process
    assert all(len(messages) == 1 for messages in inbox.messages.values())
    # Tuesday: ZG-07 (10-16) enters 🟡 for 汪清镇; nothing new for the others.
    remind(database, settings, TUESDAY, inbox)
    assert codes(inbox.messages[1002][1]) == {"ZG-07"}
    assert len(inbox.messages[1001]) == 1 and len(inbox.messages[1003]) == 1
    # Wednesday: ZG-03 (due 10-13) has turned 🔴: reminded again, now as overdue.
    remind(database, settings, WEDNESDAY, inbox)
    assert codes(inbox.messages[1003][1]) == {"ZG-03"}
    assert "已逾期" in inbox.messages[1003][1]
    with database.transaction() as session:
        stages = session.execute(select(Reminder.stage).join(Issue).where(Issue.code == "ZG-03")).scalars().all()
    assert sorted(stages) == ["due", "overdue"]


def test_later_arrivals_wait_for_tomorrows_message(county):
    database, settings, _ = county
    inbox = Inbox()
    remind(database, settings, TODAY, inbox)
    with database.transaction() as session:
        session.add(Issue(
            code="ZG-99", village=village(session, "东光镇", "东台村"), category="住房", description="-",
            status="未整改", deadline=TODAY - dt.timedelta(days=2), responsible_unit="住建局",
        ))
    remind(database, settings, TODAY, inbox)
    assert len(inbox.messages[1001]) == 1
    remind(database, settings, TUESDAY, inbox)
    assert codes(inbox.messages[1001][1]) == {"ZG-99"}


def test_no_reminders_on_holidays(county):
    database, settings, _ = county
    inbox = Inbox()
    remind(database, settings, dt.date(2026, 10, 11), inbox)  # Sunday
    remind(database, settings, dt.date(2026, 10, 1), inbox)  # National Day
    assert inbox.messages == {}


def test_not_delivered_is_sent_by_the_next_run(county):
    database, settings, _ = county
    inbox = Inbox(fail_first=SendResult(Outcome.NOT_SENT, detail="connect error"))
    report = remind(database, settings, TODAY, inbox)
    assert report.not_sent and not inbox.messages
    remind(database, settings, TODAY, inbox)
    assert set(inbox.messages) == {1001, 1002, 1003}
    assert all(len(messages) == 1 for messages in inbox.messages.values())


def test_closed_and_rectified_issues_are_not_reminded(county):
    database, settings, _ = county
    with database.transaction() as session:
        session.scalars(select(Issue).where(Issue.code == "ZG-05")).one().status = "已整改"
    inbox = Inbox()
    remind(database, settings, TODAY, inbox)
    assert codes(inbox.messages[1002][0]) == {"ZG-06"}
