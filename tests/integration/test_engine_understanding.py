"""Understanding that earns its confidence (issue 13), through the engine the console drives.

Every message quoted in the issue's "Why" was once written to the ledger without a question;
none may be now. Two facts in one message are asked about together and both are written after
one confirmation. A place and problem with no readable status get status buttons, never "没看懂".
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

from cli.console_cmd import run_console
from db.models import IssueEvent, ReadingExample, User
from tests.support.engine_chat import buttons_of, chat_as, issue_state

QUOTED_IN_WHY = [
    "东台村饮水问题快解决了",
    "东台村饮水问题解决了一半",
    "除了东台村，其他村饮水问题都已解决",
    "东台村饮水问题已解决是假的",
    "东台村饮水问题没法说已解决",
    "东台村饮水问题已解决，假的",
    "东台村饮水解决了，刘在龙家黄牛补贴也到位了",
    "李兆满家的慢病卡办好了，危房也改完了",
    "河北村新增问题：村部屋顶漏水，月底前修好",
    "请东台村尽快解决饮水问题",
    "双桥村路灯亮堂了",
    "红日村的账对上了",
    "东台村饮水快弄完了",
    "东台村饮水材料报上去了，说下周批",
    "东台村饮水说是通了，还没去看",
    "东台村饮水哪有解决，还是没水",
    "东台村饮水不是没修，是修完又坏了",
    "东台村刚换的水泵用了三天又坏了",
    "東台村飲水問題還沒解決",
    "嗯 那个 东林村档案那个事 补齐了啊",
]


def test_a_past_completion_date_is_no_deadline(engine, demo_database):
    """上周五已经发到他手里了: once written with last Friday as a deadline; now a plain
    completion of 刘在龙's subsidy item (its description names 补贴), deadline untouched."""
    cadre = chat_as(engine, "东台村工作队")
    before = issue_state(demo_database, "ZG-0004")[1]
    cadre.say("刘在龙家补贴上周五已经发到他手里了")
    assert issue_state(demo_database, "ZG-0004")[:2] == ("已整改", before)


def _events(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count(IssueEvent.id)))


@pytest.mark.parametrize("text", QUOTED_IN_WHY)
def test_no_message_quoted_in_the_issue_writes_without_a_question(engine, demo_database, text):
    admin = chat_as(engine, "演示管理员")
    before = _events(demo_database)
    admin.say(text)
    assert _events(demo_database) == before, admin.text
    assert admin.text  # never silence in private


def test_nearly_done_is_offered_as_in_progress_with_the_reason(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题快解决了")
    assert cadre.text.startswith("您说“快解决了”，还没完全办完。请确认：东光镇东台村 · 饮水：未整改 → 整改中")
    cadre.press("确认")
    assert issue_state(demo_database, "ZG-0003")[0] == "整改中"


def test_a_denied_completion_never_reads_as_done(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决是假的")
    assert "已整改" not in cadre.text.split("请确认：")[1].split("（")[0]
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"


@pytest.mark.parametrize(("text", "codes", "status"), [
    ("东台村饮水解决了，刘在龙家黄牛补贴也到位了", ("ZG-0003", "ZG-0004"), "已整改"),
    ("李兆满家的慢病卡办好了，危房也改完了", ("ZG-0002", "ZG-0001"), "已整改"),
])
def test_two_facts_are_asked_together_and_both_written_after_one_confirmation(
        engine, demo_database, text, codes, status):
    admin = chat_as(engine, "演示管理员")
    admin.say(text)
    assert admin.text.startswith("这条消息里有 2 件事：")
    assert buttons_of(admin.last) == ["全部确认", "只记第1件", "只记第2件", "取消"]
    assert [issue_state(demo_database, code)[0] for code in codes] != [status, status]
    admin.press("全部确认")
    assert [issue_state(demo_database, code)[0] for code in codes] == [status, status]
    assert admin.text.count("✅") == 2


def test_one_fact_of_two_can_be_chosen(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("东台村饮水解决了，刘在龙家黄牛补贴也到位了")
    admin.press("只记第2件")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    assert issue_state(demo_database, "ZG-0004")[0] == "已整改"


def test_a_place_and_problem_without_a_status_gets_status_buttons(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("红日村路灯那个事")
    assert sorted(buttons_of(admin.last)[:4]) == sorted(["已整改", "整改中", "还没解决", "只是说明情况"])
    admin.press("只是说明情况")
    assert admin.text == "好的，只是说明情况，未修改台账。"
    assert issue_state(demo_database, "ZG-0027")[0] == "整改中"


def test_a_new_problem_unlike_the_item_is_asked_and_recorded_as_open(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("河北村新增问题：村部屋顶漏水，月底前修好")
    assert "是同一个问题吗？" in admin.text and "路灯损坏" in admin.text
    admin.press("都不是，登记为新问题")
    assert "登记新问题：东光镇河北村 · 基础设施 · 未整改 · 期限 12-31？" in admin.text
    admin.press("登记")
    assert admin.text.startswith("🆕 已登记") and "基础设施 · 未整改（期限 12-31）" in admin.text


def test_a_new_item_whose_category_is_in_doubt_is_picked_by_the_sender(engine, demo_database):
    """集体的果园租给老板: the rules read 产业 (果园), the second reader 集体经济; the sender picks,
    the two likely ones offered first, and the item is recorded under the picked category."""
    admin = chat_as(engine, "演示管理员")
    admin.say("河北村集体的果园租给老板了钱还没给")
    assert admin.text.startswith("类别拿不准：产业还是集体经济？")
    assert buttons_of(admin.last)[:2] == ["产业", "集体经济"]
    admin.press("集体经济")
    assert "是同一个问题吗？" in admin.text and "光伏收益未分配" in admin.text  # the village's 集体经济 item
    admin.press("都不是，登记为新问题")
    assert "登记新问题：东光镇河北村 · 集体经济 · 未整改" in admin.text
    admin.press("一周内")
    assert admin.text.startswith("🆕 已登记") and "集体经济 · 未整改" in admin.text


def test_an_order_never_changes_a_status(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决")
    cadre.say("请东台村尽快解决饮水问题")
    assert cadre.text == "这是一条要求，台账状态不变。"
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"


def test_a_supervisors_dated_order_sets_the_deadline_after_a_question(engine, demo_database):
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("要求东台村饮水问题12月20日前整改到位")
    assert "请确认：" in supervisor.text and "12-20" in supervisor.text and "→ 未整改" not in supervisor.text
    supervisor.press("确认")
    status, deadline, _ = issue_state(demo_database, "ZG-0003")
    assert (status, deadline.isoformat()) == ("未整改", "2026-12-20")


def test_acknowledgements_get_no_lecture(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("收到")
    assert cadre.text == "好的。"
    group = chat_as(engine, "东台村工作队", group=True)
    assert group.say("辛苦了👍") == []
    assert group.say("收到，东台村饮水已解决，辛苦了") == []
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"


def test_answers_are_kept_as_labelled_examples(engine, demo_database):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题快解决了")
    cadre.press("确认")
    cadre.say("东台村饮水问题解决了一半")
    cadre.press("取消")
    with demo_database.transaction() as session:
        rows = session.scalars(select(ReadingExample).order_by(ReadingExample.id)).all()
        got = [(r.text, r.choice, r.final.get("status"), r.village) for r in rows]
    assert got == [
        ("东台村饮水问题快解决了", "confirmed", "in_progress", "东台村"),
        ("东台村饮水问题解决了一半", "declined", None, "东台村"),
    ]


def test_the_console_asks_about_both_facts_and_writes_both(demo_database, db_url, settings):
    with demo_database.transaction() as s:  # the console speaks as the demo admin
        s.execute(update(User).where(User.name == "演示管理员").values(telegram_id=None))
    out = io.StringIO()
    lines = ["东台村饮水解决了，刘在龙家黄牛补贴也到位了", "1"]
    code = run_console(settings, db_url, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    assert code == 0
    assert "这条消息里有 2 件事：" in out.getvalue()
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    assert issue_state(demo_database, "ZG-0004")[0] == "已整改"
