"""The digest's numbers and text against the known ledger of tests/support/digest_ledger.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from db.models import DigestDelivery, Issue, Township, User, Village
from services.digest import build_digest, previous_summary, render_digest_text
from services.issues import targets_for
from services.ledger_import import import_ledger
from services.reports import Actor, apply_report, close_issue, record_issue, reopen_issue, undo_last_change
from tests.support.digest_ledger import (
    TODAY,
    TZ,
    add_subscription,
    add_user,
    build_known_ledger,
    calendar_of,
    local,
    settings_for,
)
from tests.support.ledger_files import sample_sheets, write_xlsx

SATURDAY, SUNDAY = dt.date(2026, 10, 10), dt.date(2026, 10, 11)
OFFICE = "扶贫办"  # an admin: reports, closes out and reopens


def _digest(database, settings, scope="", today=TODAY, **kwargs):
    with database.transaction() as session:
        return build_digest(session, scope, today, calendar_of(settings), settings, **kwargs)


def test_county_digest_numbers(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    digest = _digest(database, settings)

    assert (digest.total, digest.open_count, digest.done_count) == (11, 8, 3)
    assert digest.overdue_count == 3
    assert dict(digest.overdue_by_unit) == {"住建局": 2, "水利局": 1}
    assert [i.code for i in digest.overdue_items] == ["ZG-05", "ZG-01", "ZG-02"]  # most overdue first
    assert digest.due_until == dt.date(2026, 10, 15)
    assert digest.due_count == 3
    assert [i.code for i in digest.due_items] == ["ZG-10", "ZG-03", "ZG-06"]
    assert dict(digest.open_by_category) == {"饮水": 2, "住房": 2, "教育": 1, "产业": 1, "档案": 1, "医疗": 1}
    progress = {row.name: (row.done, row.total) for row in digest.progress}
    assert progress == {"东光镇": (1, 4), "汪清镇": (1, 4), "百草沟镇": (1, 3)}
    assert digest.progress_level == "乡镇"


def test_yesterdays_changes_come_from_events_of_the_previous_working_day(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    digest = _digest(database, settings)
    # Monday after a Saturday make-up day: the window is Saturday 00:00 to Monday 00:00;
    # the undone change, the one before and the ones today are not counted.
    assert digest.period_start == dt.date(2026, 10, 10)
    assert (digest.rectified_count, digest.new_count, digest.closed_count) == (2, 1, 1)
    text = render_digest_text(digest)
    assert "自上个工作日（10月10日，周六）以来：已整改 2 件，新增 1 件，已销号 1 件" in text


def test_weekly_digest_counts_the_last_seven_days(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    digest = _digest(database, settings, weekly=True)
    assert digest.period_start == dt.date(2026, 10, 5)
    assert digest.new_count == 2  # ZG-06 (Friday 10-09) and ZG-11
    assert "整改周报" in render_digest_text(digest)


def test_township_digest_shows_progress_per_village(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    digest = _digest(database, settings, "东光镇")
    assert (digest.total, digest.overdue_count, digest.due_count) == (4, 2, 1)
    assert digest.progress_level == "村"
    assert [(r.name, r.done, r.total) for r in digest.progress] == [("东台村", 0, 2), ("东光村", 1, 2)]
    assert digest.rectified_count == 1 and digest.closed_count == 0


def test_bureau_digest_covers_its_category_across_townships(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    digest = _digest(database, settings, "饮水")
    assert (digest.total, digest.done_count, digest.overdue_count, digest.due_count) == (3, 1, 1, 1)
    assert {r.name for r in digest.progress} == {"东光镇", "汪清镇"}
    assert digest.label == "全县饮水类"


def test_text_lists_overdue_by_unit_with_days_and_due_items(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    text = render_digest_text(_digest(database, settings))
    assert "🔴 逾期 3 件" in text
    assert "【住建局】2 件" in text
    assert "· ZG-05 汪清镇天平村 住房 逾期 20 天 【督办】" in text
    assert "· ZG-01 东光镇东台村 饮水 逾期 5 天" in text
    assert "🟡 3 个工作日内到期 3 件（至10月15日）" in text
    assert "· ZG-06 汪清镇天平村 教育 10月15日到期" in text
    assert "百草沟镇 33%（1/3）" in text


def test_no_household_personal_data_in_the_digest(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    for scope in ("", "东光镇", "东光镇/东台村", "住房"):
        text = render_digest_text(_digest(database, settings, scope))
        assert "ZG-02" in text
        assert "李兆满" not in text


def test_item_limit_lists_then_counts(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url, item_limit=1)
    digest = _digest(database, settings)
    text = render_digest_text(digest)
    assert len(digest.overdue_items) == 1
    assert "（另有 2 件逾期未逐条列出）" in text
    assert "【水利局】1 件" in text  # counted per unit even when not listed
    assert "（另有 2 件即将到期未逐条列出）" in text


def test_large_digest_fits_one_telegram_message(database, db_url, tmp_path):
    settings = settings_for(tmp_path, db_url)
    with database.transaction() as session:
        town = Township(name="东光镇")
        villages = [Village(township=town, name=f"第{i}号很长名字的行政村") for i in range(80)]
        session.add_all(villages)
        session.flush()
        session.add_all(
            Issue(
                code=f"ZG-{i:05d}", village=villages[i % 80], category="基础设施", description="-",
                status="未整改", deadline=TODAY - dt.timedelta(days=1 + i % 40),
                responsible_unit=f"第{i % 45}个责任单位名称很长的部门",
            )
            for i in range(600)
        )
    text = render_digest_text(_digest(database, settings, "东光镇"))
    assert len(text) <= 4096
    assert "🔴 逾期 600 件" in text


def test_change_since_previous_digest_of_the_subscription(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    subscription_id = add_subscription(database, -100)
    with database.transaction() as session:
        session.add(DigestDelivery(
            subscription_id=subscription_id, chat_id=-100, digest_date=dt.date(2026, 10, 10),
            claimed_by="t", claimed_at=local(dt.date(2026, 10, 10), 8, 30),
            sent_at=local(dt.date(2026, 10, 10), 8, 30),
            summary={"date": "2026-10-10", "total": 10, "open": 9, "done": 1, "overdue": 2, "due": 2, "share": 0.1},
        ))
    with database.transaction() as session:
        previous = previous_summary(session, "", TODAY, subscription_id=subscription_id)
    text = render_digest_text(_digest(database, settings, previous=previous))
    # open 8 (was 9), overdue 3 (was 2), share 3/11 = 27.3 % (was 10 %).
    assert "较上次（10月10日）：未完成 -1，逾期 +1，整改率 +17.3 个百分点" in text


def test_an_empty_scope_says_so(database, db_url, tmp_path):
    settings = settings_for(tmp_path, db_url)
    with database.transaction() as session:
        session.add(Village(township=Township(name="鸡冠乡"), name="鸡冠村"))
    digest = _digest(database, settings, "鸡冠乡")
    assert digest.total == 0
    assert "范围内台账暂无问题" in render_digest_text(digest)


def test_summary_feeds_the_next_comparison(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    summary = _digest(database, settings).summary()
    assert summary == {
        "date": "2026-10-12", "total": 11, "open": 8, "done": 3, "overdue": 3, "due": 3, "share": 0.2727,
    }


# ---- the period's figures agree with the ledger ---------------------------------------


def _as_office(database, code: str, at: dt.datetime, act) -> None:
    """``act(session, issue, actor, now)`` on one issue, as the county office would."""
    with database.transaction() as session:
        user = session.scalar(select(User).where(User.name == OFFICE))
        issue = session.scalar(select(Issue).where(Issue.code == code))
        act(session, issue, Actor(user, "telegram", "测试"), at)


def rectify(database, code, at):
    _as_office(database, code, at, lambda s, issue, actor, now: apply_report(
        s, issue, status="已整改", deadline=None, actor=actor, now=now, duplicate_window_minutes=0))


def close(database, code, at):
    _as_office(database, code, at, lambda s, issue, actor, now: close_issue(s, issue, actor=actor, now=now))


def reopen(database, code, at):
    _as_office(database, code, at, lambda s, issue, actor, now: reopen_issue(
        s, issue, "复查发现仍未解决", actor=actor, now=now))


def test_on_demand_digest_counts_todays_changes_up_to_now(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    add_user(database, OFFICE, "admin", [], None)
    rectify(database, "ZG-06", local(TODAY, 9))

    morning = _digest(database, settings)  # what the 08:30 digest says: up to today's start
    assert (morning.rectified_count, morning.new_count, morning.closed_count) == (2, 1, 1)
    now = _digest(database, settings, as_of=local(TODAY, 10, 15))
    assert (now.rectified_count, now.new_count, now.closed_count) == (3, 1, 1)
    assert "自上个工作日（10月10日，周六）至今（截至10:15）：已整改 3 件，新增 1 件，已销号 1 件" in (
        render_digest_text(now)
    )
    assert _digest(database, settings, as_of=local(TODAY, 8, 59)).rectified_count == 2  # not yet


def test_period_labels_of_the_morning_and_the_on_demand_digest(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    tuesday = dt.date(2026, 10, 13)
    assert "\n昨日：已整改" in render_digest_text(_digest(database, settings, today=tuesday))
    on_demand = _digest(database, settings, today=tuesday, as_of=local(tuesday, 16, 5))
    assert "\n昨日至今（截至16:05）：已整改" in render_digest_text(on_demand)


def test_imported_items_are_not_new(database, db_url, tmp_path):
    settings = settings_for(tmp_path, db_url)
    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sample_sheets()))
    now = dt.datetime.now(TZ) + dt.timedelta(seconds=1)
    first_morning = calendar_of(settings).add_workdays(now.date(), 1)
    for digest in (
        _digest(database, settings, today=now.date(), as_of=now),  # /digest right after the import
        _digest(database, settings, today=first_morning),  # the next morning's digest
    ):
        assert digest.total == 5 and digest.done_count == 2
        # Imported as 已整改 / 已销号, but nobody rectified or closed them in the period.
        assert (digest.rectified_count, digest.new_count, digest.closed_count) == (0, 0, 0)

    admin = add_user(database, "管理员", "admin", [], None)
    with database.transaction() as session:  # an item found in the field is new
        record_issue(
            session, target=targets_for(session, township="东光镇", village="东台村", household=None)[0],
            category="住房", status="未整改", deadline=None, description="3户房屋漏雨",
            actor=Actor(session.get(User, admin), "telegram", "东台村新发现3户房屋漏雨"),
            now=dt.datetime.now(TZ), duplicate_window_minutes=30,
        )
    later = dt.datetime.now(TZ) + dt.timedelta(seconds=1)
    assert _digest(database, settings, today=later.date(), as_of=later).new_count == 1


def test_a_reopened_item_counts_once_by_its_current_status(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    add_user(database, OFFICE, "admin", [], None)
    # ZG-04 (rectified 10-10 00:00) closed out and then reopened: it is open again.
    close(database, "ZG-04", local(SATURDAY, 9))
    reopen(database, "ZG-04", local(SUNDAY, 9))
    # ZG-09 (rectified 10-11 20:00) then closed out: 已销号, and only that.
    close(database, "ZG-09", local(SUNDAY, 21))

    digest = _digest(database, settings)
    assert (digest.rectified_count, digest.closed_count) == (0, 2)  # ZG-08 and ZG-09
    assert digest.done_count == 2
    text = render_digest_text(digest)
    assert "以来：已整改 0 件，新增 1 件，已销号 2 件" in text
    assert "共 11 件：已完成 2 件（18%），未完成 9 件" in text


def test_an_undone_reopening_counts_the_item_as_closed_again(database, db_url, tmp_path):
    build_known_ledger(database)
    settings = settings_for(tmp_path, db_url)
    add_user(database, OFFICE, "admin", [], None)
    close(database, "ZG-04", local(SATURDAY, 9))
    reopen(database, "ZG-04", local(SATURDAY, 10))
    _as_office(database, "ZG-04", local(SATURDAY, 10, 5), lambda s, issue, actor, now: undo_last_change(
        s, actor=actor, now=now, undo_minutes=10))
    digest = _digest(database, settings)
    assert (digest.rectified_count, digest.closed_count, digest.done_count) == (1, 2, 3)  # ZG-09; ZG-04, ZG-08
