"""/subscribe, /unsubscribe, /subscriptions and /digest as the engine calls them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import AuditLog, Subscription, User
from services.conversation.context import CommandContext
from services.conversation.digest_commands import COMMANDS, draw_charts
from services.conversation.messages import Incoming, Reply
from services.errors import DomainError, InvalidInput
from services.subscriptions import (
    first_delivery_day,
    is_delivery_day,
    migrate_chat,
    parse_subscribe_args,
    unsubscribe_chat,
)
from tests.support.digest_ledger import TODAY, add_user, build_known_ledger, calendar_of, local, settings_for

GROUP = -100123


def run(database, settings, user_id, text, *, chat_type="group", chat_id=GROUP, now=None, title=None):
    """Call a digest command the way the engine does; returns the replies."""
    name, _, args = text.lstrip("/").partition(" ")
    try:
        with database.transaction() as session:
            user = session.get(User, user_id)
            incoming = Incoming(
                sender_id=user.telegram_id or 1, chat_id=chat_id, chat_type=chat_type, text=text, chat_title=title
            )
            ctx = CommandContext(session, user, incoming, settings, calendar_of(settings), now or local(TODAY, 10))
            return COMMANDS[name](ctx, args)
    except DomainError as error:  # as the engine does: the turn is rolled back, the refusal is the reply
        return [Reply(str(error))]


def active(database, chat_id=GROUP):
    with database.transaction() as session:
        return [
            (s.scope, s.send_time, s.weekly)
            for s in session.scalars(
                select(Subscription).where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
                .order_by(Subscription.scope)
            )
        ]


@pytest.fixture
def county(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    users = {
        "admin": add_user(database, "管理员", "admin", [], 1),
        "leader": add_user(database, "县长", "leader", [], 2),
        "township": add_user(database, "东光镇干部", "township", ["东光镇"], 3),
        "village": add_user(database, "驻村队员", "village", ["东光镇/东台村"], 4),
        "department": add_user(database, "水利局干部", "department", ["饮水"], 5),
    }
    return database, settings, users


def test_township_user_subscribes_own_township_by_default(county):
    database, settings, users = county
    [reply] = run(database, settings, users["township"], "/subscribe")
    assert "东光镇" in reply.text and "每个工作日 08:30" in reply.text
    assert "首次为 10月13日" in reply.text  # 10:00 is past today's 08:30
    assert active(database) == [("东光镇", "08:30", False)]
    with database.transaction() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "subscribe")).one()
        assert audit.detail["scope"] == "东光镇" and audit.detail["chat_id"] == GROUP


def test_leader_subscribes_county_with_time_and_weekly(county):
    database, settings, users = county
    [reply] = run(database, settings, users["leader"], "/subscribe 全县 7:45 每周")
    assert "每周第一个工作日 07:45" in reply.text
    assert active(database) == [("", "07:45", True)]
    # Subscribing again changes the time and frequency, never adds a second row.
    run(database, settings, users["leader"], "/subscribe 全县 9点半 每天")
    assert active(database) == [("", "09:30", False)]


def test_supervision_office_subscribes_the_county_and_sees_every_overdue_item(county):
    database, settings, users = county
    supervisor = add_user(database, "督巡办", "supervisor", [], 6)
    [reply] = run(database, settings, supervisor, "/subscribe")
    assert "全县" in reply.text and active(database) == [("", "08:30", False)]
    text, _ = run(database, settings, supervisor, "/digest")
    assert "🔴 逾期 3 件" in text.text
    assert all(code in text.text for code in ("ZG-01", "ZG-02", "ZG-05"))


def test_bureau_name_subscribes_its_category(county):
    database, settings, users = county
    run(database, settings, users["admin"], "/subscribe 水利局")
    assert active(database) == [("饮水", "08:30", False)]


@pytest.mark.parametrize(
    "who, text, chat_type, reason",
    [
        ("village", "/subscribe", "group", "只有"),
        ("department", "/subscribe", "group", "只有"),
        ("township", "/subscribe", "private", "工作群"),
        ("township", "/subscribe 汪清镇", "group", "不在您的负责范围"),
        ("township", "/subscribe 全县", "group", "不在您的负责范围"),
        ("admin", "/subscribe 某某镇", "group", "没有叫“某某镇”"),
        ("admin", "/subscribe 新兴村", "group", "多个乡镇"),
        ("admin", "/subscribe 东光镇 25:00", "group", "不是有效的时间"),
    ],
)
def test_refusals_are_one_sentence_and_write_nothing(county, who, text, chat_type, reason):
    database, settings, users = county
    [reply] = run(database, settings, users[who], text, chat_type=chat_type)
    assert reason in reply.text
    assert reply.text.count("。") == 1
    assert active(database) == []


def test_unsubscribe_the_only_one_or_the_named_one(county):
    database, settings, users = county
    run(database, settings, users["admin"], "/subscribe")
    run(database, settings, users["admin"], "/subscribe 东光镇")
    [reply] = run(database, settings, users["admin"], "/unsubscribe")
    assert "请写明" in reply.text and len(active(database)) == 2
    [reply] = run(database, settings, users["township"], "/unsubscribe 东光镇")
    assert "已退订" in reply.text
    assert active(database) == [("", "08:30", False)]
    [reply] = run(database, settings, users["township"], "/unsubscribe")
    assert "不在您的负责范围" in reply.text  # the county digest is not the township's to end
    [reply] = run(database, settings, users["admin"], "/unsubscribe")
    assert active(database) == []
    [reply] = run(database, settings, users["admin"], "/unsubscribe")
    assert reply.text == "本群没有订阅日报。"


def test_subscriptions_lists_this_group(county):
    database, settings, users = county
    [reply] = run(database, settings, users["village"], "/subscriptions")
    assert "本群没有订阅日报" in reply.text
    run(database, settings, users["admin"], "/subscribe 东光镇 08:00")
    run(database, settings, users["admin"], "/subscribe 饮水 每周")
    [reply] = run(database, settings, users["village"], "/subscriptions")
    assert "· 东光镇：每个工作日 08:00" in reply.text
    assert "· 饮水：每周第一个工作日 08:30" in reply.text
    [reply] = run(database, settings, users["admin"], "/subscriptions", chat_type="private", chat_id=1)
    assert "共 2 个群订阅" in reply.text


def test_subscriptions_in_private_name_each_group(county):
    """A county-wide user sees which group gets what by the group's name (as of the last
    /subscribe there); a group whose name the bot never learned shows its chat id."""
    database, settings, users = county
    run(database, settings, users["admin"], "/subscribe 东光镇 08:00", title="东光镇工作群")
    run(database, settings, users["admin"], "/subscribe 饮水", chat_id=-100777)
    run(database, settings, users["admin"], "/subscribe 饮水 09:00", title="东光镇扶贫攻坚群")  # renamed since
    [reply] = run(database, settings, users["leader"], "/subscriptions", chat_type="private", chat_id=2)
    assert "· 「东光镇扶贫攻坚群」：东光镇，每个工作日 08:00" in reply.text
    assert "· 「东光镇扶贫攻坚群」：饮水，每个工作日 09:00" in reply.text
    assert "东光镇工作群" not in reply.text
    assert "· 群 -100777：饮水，每个工作日 08:30" in reply.text


def test_digest_command_sends_text_then_chart_within_scope(county):
    database, settings, users = county
    text, chart = draw_charts(run(database, settings, users["village"], "/digest"))  # as a transport does
    assert text.text.startswith("📋 东光镇东台村问题整改日报 10月12日（周一）")
    assert "李兆满" not in text.text
    assert chart.file is not None and chart.file.kind == "photo"
    assert chart.file.data.startswith(b"\x89PNG")
    [refusal] = run(database, settings, users["village"], "/digest 汪清镇")
    assert "不在您的负责范围" in refusal.text
    text, _ = run(database, settings, users["department"], "/digest")
    assert "全县饮水类" in text.text


def test_bot_removed_and_group_migrated(county):
    database, settings, users = county
    run(database, settings, users["admin"], "/subscribe")
    run(database, settings, users["admin"], "/subscribe 东光镇")
    with database.transaction() as session:
        assert migrate_chat(session, GROUP, -100999) == 2
    assert active(database) == [] and len(active(database, -100999)) == 2
    with database.transaction() as session:
        assert unsubscribe_chat(session, -100999, "kicked") == 2
        assert unsubscribe_chat(session, -100999, "kicked") == 0  # replayed update: no-op
    assert active(database, -100999) == []
    with database.transaction() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions.count("bot_removed") == 2 and actions.count("chat_migrated") == 2


def test_parse_subscribe_args():
    assert parse_subscribe_args("东光镇 08:30 每周") == parse_subscribe_args("每周 8：30 东光镇")
    assert parse_subscribe_args("8点").send_time == "08:00"
    assert parse_subscribe_args("").scope_text is None
    with pytest.raises(InvalidInput):
        parse_subscribe_args("东光镇 8:75")


def test_delivery_days_follow_the_holiday_calendar(db_url, tmp_path):
    calendar = calendar_of(settings_for(tmp_path, db_url))
    assert not is_delivery_day(False, dt.date(2026, 10, 1), calendar)  # National Day
    assert is_delivery_day(False, dt.date(2026, 10, 10), calendar)  # Saturday make-up day
    assert not is_delivery_day(False, dt.date(2027, 2, 8), calendar)  # config.yaml holiday
    assert is_delivery_day(False, dt.date(2027, 2, 14), calendar)  # config.yaml make-up Sunday
    # Weekly: the first working day of the week (Thursday 10-08 after the holiday).
    assert is_delivery_day(True, dt.date(2026, 10, 8), calendar)
    assert not is_delivery_day(True, dt.date(2026, 10, 9), calendar)
    assert is_delivery_day(True, dt.date(2026, 10, 12), calendar)
    assert not is_delivery_day(True, dt.date(2026, 10, 13), calendar)


def test_first_delivery_day_skips_holidays(db_url, tmp_path):
    calendar = calendar_of(settings_for(tmp_path, db_url))
    subscription = Subscription(send_time="08:30", weekly=False)
    assert first_delivery_day(subscription, calendar, local(dt.date(2026, 9, 30), 9)) == dt.date(2026, 10, 8)
    assert first_delivery_day(subscription, calendar, local(dt.date(2026, 9, 30), 8)) == dt.date(2026, 9, 30)
