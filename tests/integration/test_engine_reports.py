"""Reports through the engine: applied, confirmed, asked, recorded, refused, undone, audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from db.models import Evidence, InboxUpdate, Issue, IssueEvent, PendingAction, User
from delivery.pump import take_turns
from nlp.parser import Parse
from services.conversation import report_flow
from services.conversation.context import CommandContext
from services.conversation.messages import Incoming
from services.issues import issue_by_code, targets_for
from services.reports import Actor, record_issue
from tests.support.engine_chat import TELEGRAM_IDS, buttons_of, chat_as, issue_state, user_named
from tests.support.evidence_images import photo


def _user_events(database, code: str) -> list[IssueEvent]:
    with database.transaction() as s:
        issue = issue_by_code(s, code)
        return list(s.scalars(
            select(IssueEvent).where(IssueEvent.issue_id == issue.id, IssueEvent.user_id.is_not(None))
            .order_by(IssueEvent.id)
        ))


def _issue_count(database) -> int:
    with database.transaction() as s:
        return s.scalar(select(func.count(Issue.id)))


def test_a_report_is_applied_and_audited(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决")
    assert cadre.text == "✅ 东光镇东台村 · 饮水：未整改 → 已整改（期限 12-03）"
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    [event] = _user_events(demo_database, "ZG-0003")
    user = user_named(demo_database, "东台村工作队")
    assert (event.field, event.old_value, event.new_value) == ("status", "未整改", "已整改")
    assert (event.user_id, event.actor, event.message_text) == (user.id, "东台村工作队", "东台村饮水问题已解决")
    assert (event.chat_id, event.message_id, event.source) == (TELEGRAM_IDS["东台村工作队"], 1, "telegram")
    assert event.at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc)


def test_a_deadline_in_a_report_sets_the_deadline(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("李兆满家危房改造12月8日前完工")  # earlier than the ledger's 12-11
    assert admin.text == "✅ 汪清镇天平村 李兆满 · 住房：期限 12-11 → 12-08"
    assert issue_state(demo_database, "ZG-0001")[:2] == ("整改中", dt.date(2026, 12, 8))


def test_a_later_deadline_is_never_applied_without_confirmation(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("李兆满家危房改造12月20日前完工")  # pushes 12-11 back: could hide a problem
    assert admin.text.startswith("请确认：汪清镇天平村 李兆满 · 住房：期限 12-11 → 12-20")
    assert issue_state(demo_database, "ZG-0001")[:2] == ("整改中", dt.date(2026, 12, 11))
    admin.press("确认")
    assert admin.text.startswith("✅ 汪清镇天平村 李兆满 · 住房：期限 12-11 → 12-20")
    assert issue_state(demo_database, "ZG-0001")[:2] == ("整改中", dt.date(2026, 12, 20))


def test_setting_progress_back_to_open_is_confirmed_first(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("李兆满家危房改造停工了，还没修好")  # ZG-0001 is 整改中: this undoes progress
    assert admin.text.startswith("请确认：汪清镇天平村 李兆满 · 住房：整改中 → 未整改")
    assert issue_state(demo_database, "ZG-0001")[0] == "整改中"
    admin.press("确认")
    assert admin.text.startswith("✅ 汪清镇天平村 李兆满 · 住房：整改中 → 未整改")
    assert issue_state(demo_database, "ZG-0001")[0] == "未整改"


def test_a_doubtful_report_waits_for_the_button(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    before = issue_state(demo_database, "ZG-0003")
    cadre.say("东抬村饮水问题已解决")  # a typo: the parser is not sure
    assert cadre.text.startswith("“东抬村”按读音匹配为“东台村”。请确认：东光镇东台村 · 饮水：未整改 → 已整改")
    assert buttons_of(cadre.last) == ["确认", "取消"]
    assert issue_state(demo_database, "ZG-0003") == before  # nothing written yet
    cadre.press("确认")
    assert cadre.last[0].edit and cadre.text.startswith("✅ 东光镇东台村 · 饮水：未整改 → 已整改")
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    [event] = _user_events(demo_database, "ZG-0003")
    assert event.message_text == "东抬村饮水问题已解决" and event.message_id == 1  # the report, not the press


def test_a_button_answers_once_and_only_for_the_asker(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队", group=True)
    question = cadre.say("东抬村饮水问题已解决")
    other = chat_as(engine, "东光镇干部", group=True)
    other.press("确认", question)
    assert other.text == "这个问题是问别人的，请自己发送报告。" and not other.last[0].edit
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    cadre.press("确认", question)
    assert cadre.text.startswith("✅")
    cadre.press("确认", question)
    assert cadre.text == "这个问题已经回答过了。"
    assert len(_user_events(demo_database, "ZG-0003")) == 1


def test_a_cancelled_question_writes_nothing(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东抬村饮水问题已解决")
    cadre.press("取消")
    assert cadre.text == "已取消，未修改台账。"
    assert _user_events(demo_database, "ZG-0003") == []


def test_a_question_expires_after_the_configured_hours(engine, demo_database, clock):
    engine.settings = engine.settings.model_copy(
        update={"policy": engine.settings.policy.model_copy(update={"question_valid_hours": 2})}
    )
    cadre = chat_as(engine, "东台村工作队")
    question = cadre.say("东抬村饮水问题已解决")
    clock.advance(hours=2, minutes=1)  # within the default 12 hours, past the configured 2
    cadre.press("确认", question)
    assert cadre.text == "这个问题已过期，请重新发送。"
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"


def test_a_name_in_two_places_is_asked_about(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("王秀英家房子修好了")
    assert admin.text == "您说的是哪一个？"
    assert buttons_of(admin.last) == ["大兴沟镇红日村 王秀英", "罗子沟镇太平村 王秀英", "取消"]
    assert issue_state(demo_database, "ZG-0007")[0] == "未整改"
    admin.press("红日村")
    assert admin.text == "✅ 大兴沟镇红日村 王秀英 · 住房：未整改 → 已整改（期限 11-26）"


def test_two_issues_of_one_category_are_asked_about(engine, demo_database):
    with demo_database.transaction() as s:
        cadre = s.get(User, user_named(demo_database, "东台村工作队").id)
        target = targets_for(s, township="东光镇", village="东台村", household=None)[0]
        record_issue(
            s, target=target, category="饮水", status="未整改", deadline=dt.date(2026, 12, 20),
            description="三组水井干涸", actor=Actor(cadre, "test", "三组水井干涸"),
            now=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc), duplicate_window_minutes=30,
        )
    chat = chat_as(engine, "东台村工作队")
    chat.say("东台村饮水问题已解决")
    assert chat.text.startswith("东光镇东台村有 2 个饮水问题，您说的是哪一个？")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    chat.press("ZG-0003")
    assert chat.text == "✅ 东光镇东台村 · 饮水：未整改 → 已整改（期限 12-03）"
    assert issue_state(demo_database, "ZG-0437")[0] == "未整改"


def test_no_matching_issue_offers_a_new_one_and_records_it(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    count = _issue_count(demo_database)
    cadre.say("东台村新发现3户房屋漏雨，月底前整改")
    # a new item with a deadline is 未整改 unless the message says work is under way
    assert cadre.text == "东光镇东台村没有未销号的住房问题。\n登记新问题：东光镇东台村 · 住房 · 未整改 · 期限 12-31？"
    assert _issue_count(demo_database) == count
    cadre.press("登记")
    assert cadre.text == "🆕 已登记 ZG-0437：东光镇东台村 · 住房 · 未整改（期限 12-31）"
    with demo_database.transaction() as s:
        issue = issue_by_code(s, "ZG-0437")
        assert (issue.village.name, issue.category, issue.responsible_unit) == ("东台村", "住房", "住建局")
        assert issue.description == "房屋漏雨"  # the problem, not the whole message
    fields = [(e.field, e.new_value) for e in _user_events(demo_database, "ZG-0437")]
    assert fields == [("created", "ZG-0437"), ("status", "未整改"), ("deadline", "2026-12-31")]


def _context(engine, database, session, name: str, text: str) -> CommandContext:
    user = session.get(User, user_named(database, name).id)
    incoming = Incoming(sender_id=TELEGRAM_IDS[name], chat_id=TELEGRAM_IDS[name], text=text, message_id=9)
    return CommandContext(session, user, incoming, engine.settings, engine.calendar, engine.now(),
                          parser=engine.parsers.bound(session))


def test_a_new_issue_without_category_or_deadline_asks_for_both(engine, demo_database):
    text = "东光新村村部屋顶漏了"
    parse = Parse(text=text, intent="new_issue", township="东光镇", village="东光新村", status="open")
    with demo_database.transaction() as s:
        ctx = _context(engine, demo_database, s, "东光镇干部", text)
        [question] = report_flow.handle_report(ctx, parse, text)
    assert question.text.endswith("要登记为新问题吗？请选类别：")
    chat = chat_as(engine, "东光镇干部")
    chat.press("基础设施", [question])
    assert chat.text.endswith("登记新问题：东光镇东光新村 · 基础设施 · 未整改\n整改期限？")
    assert buttons_of(chat.last) == ["一周内", "两周内", "月底前", "暂不设期限", "取消"]
    chat.press("两周内")
    assert chat.text == "🆕 已登记 ZG-0437：东光镇东光新村 · 基础设施 · 未整改（期限 12-15）"


def test_out_of_scope_reports_are_refused_and_write_nothing(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    before = issue_state(demo_database, "ZG-0001")
    cadre.say("李兆满家危房改造完工了")
    assert cadre.text == "该问题不在您的负责范围（东光镇东台村）内，不能修改。"
    leader = chat_as(engine, "县领导")
    leader.say("东台村饮水问题已解决")
    assert leader.text == "您的角色（县级领导）只能查看，不能修改台账。"
    assert issue_state(demo_database, "ZG-0001") == before
    assert _user_events(demo_database, "ZG-0003") == []
    with demo_database.transaction() as s:
        assert s.scalar(select(func.count(PendingAction.id))) == 0


def test_closing_out_is_for_supervisors_and_only_when_rectified(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("/close ZG-0003")
    assert cadre.text == "只有督巡办或管理员可以销号。"
    cadre.say("东台村饮水问题已解决")
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("/close ZG-0004")
    assert supervisor.text == "ZG-0004 当前为未整改，只有已整改的问题才能销号。"
    supervisor.say("/close ZG-0003")
    assert supervisor.text == "✅ ZG-0003 东光镇东台村 · 饮水：已整改 → 已销号（期限 12-03）\n（这次整改没有佐证材料）"
    cadre.say("东台村饮水问题又坏了")
    assert "已销号" in cadre.text
    assert issue_state(demo_database, "ZG-0003")[0] == "已销号"
    supervisor.say("/reopen ZG-0003")
    assert supervisor.text.startswith("请写明原因")
    supervisor.say("/reopen ZG-0003 复查发现管道仍漏水")
    assert supervisor.text.startswith("✅ ZG-0003 东光镇东台村 · 饮水：已销号 → 未整改")
    assert [e.field for e in _user_events(demo_database, "ZG-0003")] == ["status", "status", "status", "reason"]


def test_the_close_button_on_an_issue_card(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("/status ZG-0022")
    assert cadre.text == "ZG-0022 不在您的查看范围（东光镇东台村）内。"
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("/status ZG-0022")
    assert supervisor.text.startswith("ZG-0022 · 春阳镇双河村 黄丽娟 · 住房")
    supervisor.press("销号")
    assert supervisor.last[0].edit and "已整改 → 已销号" in supervisor.text
    assert issue_state(demo_database, "ZG-0022")[0] == "已销号"


def test_a_photo_with_a_caption_is_kept_as_evidence(engine, demo_database, settings):
    cadre = chat_as(engine, "东台村工作队")
    jpeg = photo(1)
    cadre.photo("东台村饮水管道修好了，已通水", data=jpeg, file_id="AgADBAAD")
    assert cadre.text == "✅ 东光镇东台村 · 饮水：未整改 → 已整改（期限 12-03）\n📎 佐证材料已保存。"
    [event] = _user_events(demo_database, "ZG-0003")
    with demo_database.transaction() as s:
        [evidence] = s.scalars(select(Evidence)).all()
        assert (evidence.change_id, evidence.issue_id) == (event.change_id, event.issue_id)
        assert (evidence.telegram_file_id, evidence.kind) == ("AgADBAAD", "photo")
        path = Path(settings.storage.evidence_dir) / evidence.stored_path
    assert path.read_bytes() == jpeg and path.suffix == ".jpg"
    assert Path(settings.storage.evidence_dir) in path.parents


def test_a_photo_without_caption_asks_for_one(engine):
    cadre = chat_as(engine, "东台村工作队")
    cadre.photo("")
    assert "请给照片加上文字说明" in cadre.text


def test_the_same_report_twice_is_applied_once(engine, demo_database, clock):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水工程正在施工")
    clock.advance(minutes=3)
    cadre.say("东台村饮水工程正在施工")
    assert cadre.text.startswith("已记录过：东光镇东台村 · 饮水")
    assert len(_user_events(demo_database, "ZG-0003")) == 1


def test_undo_within_ten_minutes_and_not_after(engine, demo_database, clock):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决")
    clock.advance(minutes=9)
    cadre.say("撤销")
    assert cadre.text == "已撤销：ZG-0003 东光镇东台村 · 饮水：已整改 → 未整改（期限 12-03）"
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    events = _user_events(demo_database, "ZG-0003")
    assert [(e.old_value, e.new_value) for e in events] == [("未整改", "已整改"), ("已整改", "未整改")]
    assert events[1].undoes == events[0].change_id
    cadre.say("东台村饮水工程正在施工")
    clock.advance(minutes=11)
    cadre.say("/undo")
    assert cadre.text == "您最近的修改（ZG-0003）已超过 10 分钟，不能撤销。"
    assert issue_state(demo_database, "ZG-0003")[0] == "整改中"


def test_groups_are_answered_only_when_addressed(engine, demo_database):
    bystander = chat_as(engine, "东台村工作队", group=True, addressed=False)
    assert bystander.say("东台村饮水问题已解决") == []
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    addressed = chat_as(engine, "东台村工作队", group=True)
    addressed.say("东台村饮水问题已解决")
    assert addressed.text.startswith("✅ 东光镇东台村 · 饮水")


def test_a_household_report_in_a_group_does_not_name_the_household(engine):
    cadre = chat_as(engine, "东台村工作队", group=True)
    cadre.say("东台村刘在龙家黄牛补贴到位了")
    assert cadre.text == "✅ 东光镇东台村 ZG-0004 · 产业：未整改 → 已整改（期限 12-21）"


def test_an_inbox_update_is_marked_done_with_its_replies_once(engine, demo_database):
    with demo_database.transaction() as s:
        s.add(InboxUpdate(update_id=42, payload={"update_id": 42}))
    incoming = Incoming(sender_id=TELEGRAM_IDS["东台村工作队"], chat_id=TELEGRAM_IDS["东台村工作队"],
                        text="东台村饮水问题已解决", message_id=5)
    [first] = take_turns(demo_database, engine, [(incoming, 42)], [])
    [again] = take_turns(demo_database, engine, [(incoming, 42)], [])  # redelivered after a crash
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert len(_user_events(demo_database, "ZG-0003")) == 1
    with demo_database.transaction() as s:
        row = s.get(InboxUpdate, 42)
        assert row.done_at is not None and row.outcome == "applied"
        assert row.replies[0]["text"].startswith("✅ 东光镇东台村 · 饮水")


def test_a_new_problem_like_an_open_issue_is_never_merged_without_asking(engine, demo_database):
    text = "东台村新发现饮水问题：三组水井干涸"
    parse = Parse(text=text, intent="new_issue", township="东光镇", village="东台村", category="饮水",
                  status="open")
    with demo_database.transaction() as s:
        ctx = _context(engine, demo_database, s, "东台村工作队", text)
        [question] = report_flow.handle_report(ctx, parse, text)
    assert question.text.startswith("东光镇东台村已有未销号的饮水问题，是同一个问题吗？")
    assert buttons_of([question])[-2:] == ["都不是，登记为新问题", "取消"]
    cadre = chat_as(engine, "东台村工作队")
    cadre.press("都不是", [question])
    cadre.press("暂不设期限")
    assert cadre.text == "🆕 已登记 ZG-0437：东光镇东台村 · 饮水 · 未整改（期限 未定）"
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
