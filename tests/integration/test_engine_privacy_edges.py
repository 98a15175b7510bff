"""Nothing personal in groups, nothing wrong at the edges of a conversation (issue 14), through
the engine the console drives."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re

from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from db.models import Issue, IssueEvent
from services.disclosure import RedactingFilter, redact
from tests.support.engine_chat import TZ, buttons_of, chat_as, issue_state

PHONE = "13812345678"
ID_NUMBER = "222424195001011234"
LONG_DIGITS = re.compile(r"\d(?:[\s-]?\d){6,}")


def _no_personal_data(text: str) -> None:
    assert not LONG_DIGITS.search(text), text
    assert "刘在龙" not in text and "王大妈" not in text, text


def test_a_reopen_reason_never_reaches_a_group(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("刘在龙家黄牛补贴已到位")
    assert issue_state(demo_database, "ZG-0004")[0] == "已整改"
    group = chat_as(engine, "督巡办老周", group=True)
    group.say(f"/reopen ZG-0004 刘在龙本人说补贴只到一半，其妻电话{PHONE}")
    assert issue_state(demo_database, "ZG-0004")[0] == "未整改"
    _no_personal_data(group.text)
    group.say("/status ZG-0004")
    assert "ZG-0004" in group.text
    _no_personal_data(group.text)


def test_a_new_items_description_is_the_problem_not_the_message(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say(f"东台村新发现村民王大妈(身份证{ID_NUMBER},电话{PHONE})家的入户道路塌方，下周五前整改")
    assert "登记新问题：东光镇东台村 · 基础设施 · 未整改" in cadre.text
    cadre.press("登记")
    code = re.search(r"ZG-\d{4}", cadre.text).group(0)
    with demo_database.transaction() as session:
        issue = session.scalar(select(Issue).where(Issue.code == code))
        assert issue.description == "道路塌方"
        [event] = [e for e in session.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue.id))
                   if e.field == "created"]
        assert PHONE in event.message_text  # the message stays in the audit trail
    group = chat_as(engine, "东台村工作队", group=True)
    group.say(f"/status {code}")
    _no_personal_data(group.text)
    group.say("东台村还有哪些问题")
    _no_personal_data(group.text)


def test_a_report_after_a_reopen_applies(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决")
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("/reopen ZG-0003 复查仍无水")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    cadre.say("东台村饮水问题已解决")
    assert "已记录过" not in cadre.text
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"


def test_a_supervisor_closes_out_and_reopens_in_plain_words_after_a_question(engine, demo_database):
    chat_as(engine, "东台村工作队").say("东台村饮水问题已解决")
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("东台村饮水问题销号")
    assert supervisor.text.startswith("销号：") and issue_state(demo_database, "ZG-0003")[0] == "已整改"
    supervisor.press("销号")
    assert issue_state(demo_database, "ZG-0003")[0] == "已销号"
    supervisor.say("东台村饮水问题重新打开")
    assert "原因" in supervisor.text and issue_state(demo_database, "ZG-0003")[0] == "已销号"
    supervisor.say("东台村饮水问题重新打开，原因：复查仍无水")
    assert "复查仍无水" in supervisor.text
    supervisor.press("重新打开")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"


def test_a_forwarded_report_is_asked_about_and_records_its_author(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre._send(text="东台村饮水问题已解决", forwarded_from="王书记")
    assert cadre.text.startswith("转述 王书记 的报告？")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    cadre.press("确认")
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    with demo_database.transaction() as session:
        texts = [e.message_text for e in session.scalars(select(IssueEvent).where(IssueEvent.actor == "东台村工作队"))]
    assert texts == ["［转述自 王书记］东台村饮水问题已解决"]


def test_an_issue_code_alone_shows_that_item(engine):
    admin = chat_as(engine, "演示管理员")
    admin.say("ZG-0002")
    assert admin.text.startswith("ZG-0002 · ")


def test_due_this_week_on_a_sunday_covers_the_week_ahead(engine, clock):
    clock.current = dt.datetime(2026, 12, 6, 9, 0, tzinfo=TZ)  # a Sunday
    admin = chat_as(engine, "演示管理员")
    admin.say("本周到期的有哪些")
    assert "（至 12-13）" in admin.text  # the coming week, not Sunday alone


def test_a_category_asked_by_its_bureau_is_not_named_twice(engine):
    bureau = chat_as(engine, "水利局小王")
    bureau.say("饮水逾期的")
    assert "饮水（饮水）" not in bureau.text


digits = st.text(alphabet="0123456789", min_size=7, max_size=19)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(number=digits, phone=st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
       separator=st.sampled_from(["", " ", "-"]))
def test_no_number_reaches_a_group_reply_or_a_log(engine, number, phone, separator):
    spaced = separator.join([phone[:3], phone[3:7], phone[7:]])
    group = chat_as(engine, "督巡办老周", group=True)
    for text in (f"东台村饮水问题 电话{spaced} 身份证{number}", f"/status ZG-0003 {number}",
                 f"/reopen ZG-0003 电话{spaced}", f"东台村{number}情况"):
        group.say(text)
        for reply in group.last:
            assert not LONG_DIGITS.search(reply.text), reply.text
            assert not any(LONG_DIGITS.search(b) for b in buttons_of([reply]))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("gongjian.test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("report from %s: %s", spaced, f"身份证{number}")
    finally:
        logger.removeHandler(handler)
    assert not LONG_DIGITS.search(stream.getvalue()), stream.getvalue()
    assert redact(f"{number}X") == "［号码］"


def test_a_message_addressed_with_an_at_mention_is_understood(engine, demo_database):
    group = chat_as(engine, "东台村工作队", group=True)
    group.say("@gongjian_test_bot 东台村饮水问题已解决")
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    assert "✅" in group.text
