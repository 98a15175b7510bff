"""Questions through the engine: scope limits, privacy in groups, markers, paging."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from db.models import Household, Issue, Township, Village
from services.formatting import TELEGRAM_LIMIT
from tests.support.engine_chat import Chat, buttons_of, chat_as

GROUP_QUESTIONS = (
    "李兆满家情况",
    "王秀英家情况",
    "天平村",
    "东台村",
    "东光镇还有哪些问题",
    "全县还有多少问题",
    "本周到期的有哪些",
    "三天内到期",
    "/status",
    "/status 天平村",
    "/status 李兆满",
    "/status ZG-0001",
    "/status ZG-0006",
    "/due",
    "/overdue",
    "/overdue 百草沟镇",
)


def _all_pages(chat: Chat) -> list[str]:
    """The texts of the first answer and of every page after it."""
    texts = [chat.text]
    while "下一页 ›" in buttons_of(chat.last):
        chat.press("下一页")
        assert chat.last[0].edit
        texts.append(chat.text)
    return texts


def test_a_household_in_private_to_someone_whose_scope_covers_it(engine):
    admin = chat_as(engine, "演示管理员")
    admin.say("李兆满家危房改造12月8日前完工")  # earlier than 12-11: applied without asking
    admin.say("李兆满家情况")
    text = admin.text
    assert text.startswith("李兆满家（汪清镇天平村，户编号 222424-0001）")
    for expected in ("状态：未脱贫 · 人口 4 人", "致贫原因：因病", "帮扶责任人：王建国", "未销号问题 2 个"):
        assert expected in text
    assert "ZG-0001 住房：危房改造未完工 · 整改中 · 期限 12-08" in text
    assert "最近：12-01 09:00 演示管理员 期限 12-11 → 12-08" in text
    assert "🟡 ZG-0002 医疗" not in text and "ZG-0002 医疗" in text  # due 12-05: beyond 3 working days


def test_a_household_outside_the_scope_is_refused(engine):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("李兆满家情况")
    assert cadre.text == "该户不在您的查看范围（东光镇东台村）内。"
    bureau = chat_as(engine, "水利局小王")
    bureau.say("李兆满家情况")
    assert bureau.text == "该户不在您的查看范围（饮水（全县））内。"
    cadre.say("刘在龙家情况")
    assert "人口 3 人" in cadre.text


def test_same_name_households_are_asked_about_in_private(engine):
    admin = chat_as(engine, "演示管理员")
    admin.say("王秀英家情况")
    assert admin.text == "台账里有几户同名，您要查哪一户？"
    admin.press("太平村")
    assert admin.text.startswith("王秀英家（罗子沟镇太平村，户编号 222424-0005）")


def test_group_answers_never_carry_household_details(engine, demo_database):
    with demo_database.transaction() as s:
        heads = set(s.scalars(select(Household.head_name)))
        helpers = {h for h in s.scalars(select(Household.helper)) if h}
    group = chat_as(engine, "演示管理员", group=True)
    texts: list[str] = []
    for question in GROUP_QUESTIONS:
        group.say(question)
        texts += _all_pages(group)
    assert len(texts) > len(GROUP_QUESTIONS)
    joined = "\n".join(texts)
    assert "人口" not in joined and "致贫原因" not in joined and "户编号" not in joined
    leaked = sorted(name for name in heads | helpers if name in joined)
    assert leaked == []
    assert "户的情况只在私聊中查看，请私聊我。" in texts
    assert "另有 1 个户级问题，详情请私聊查询。" in joined  # counted, not described
    assert "孩子初二辍学在家" not in joined  # ZG-0006's description is about a household


def test_area_answers_are_limited_to_the_scope(engine):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东光镇还有哪些问题")
    assert cadre.text.startswith("东光镇（您负责的部分） · 未销号问题 2 个")
    cadre.say("东台村")
    assert cadre.text.startswith("东光镇东台村 · 未销号问题 2 个\n未整改 2\n")
    assert "🟡 ZG-0003 饮水（督办）：自来水管道冻裂，饮水不安全 · 未整改 · 期限 12-03" in cadre.text
    assert "ZG-0004 刘在龙 产业" in cadre.text
    cadre.say("天平村")
    assert cadre.text == "汪清镇天平村不在您的查看范围（东光镇东台村）内。"
    bureau = chat_as(engine, "水利局小王")
    bureau.say("/status")
    assert bureau.text.startswith("全县（饮水） · 未销号问题")
    assert "饮水" in bureau.text and "住房" not in bureau.text
    bureau.say("/overdue")
    assert "ZG-0029 复兴镇红旗村 饮水" in bureau.text  # a village's issue: listed
    assert "吴凤英" not in bureau.text and "自家水井" not in bureau.text  # a household's: counted
    assert "另有 1 个户级问题（农户不在您的查看范围，只计数）。" in bureau.text


def test_due_and_overdue_are_limited_to_the_scope_and_marked(engine, demo_database):
    township = chat_as(engine, "东光镇干部")
    township.say("三天内到期")
    assert township.text.startswith("东光镇 3 天内到期（至 12-04）：1 个")
    assert "🟡 ZG-0003 东光镇东台村 饮水" in township.text
    assert "另有逾期" in township.text
    township.say("/overdue")
    text = township.text
    assert text.startswith("东光镇 逾期未整改：")
    codes = set(re.findall(r"ZG-\d{4}", text))
    assert "ZG-0032" in codes and "🔴 ZG-0032 东光镇东光村 基础设施" in text
    with demo_database.transaction() as s:
        townships = set(s.scalars(
            select(Township.name).join(Village).join(Issue, Issue.village_id == Village.id)
            .where(Issue.code.in_(codes))
        ))
    assert townships == {"东光镇"}


def test_long_answers_are_paged_under_telegrams_limit_and_lose_nothing(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    admin.say("/overdue")
    pages = _all_pages(admin)
    assert len(pages) > 1
    assert all(len(page) <= TELEGRAM_LIMIT for page in pages)
    assert pages[0].count("（第 1/") == 1
    shown = {code for page in pages for code in re.findall(r"ZG-\d{4}", page)}
    with demo_database.transaction() as s:
        overdue = s.scalar(select(func.count(Issue.id)).where(
            Issue.status.in_(("未整改", "整改中")), Issue.deadline < engine.now().date()))
    assert len(shown) == overdue
    admin.press("上一页")
    assert admin.text == pages[-2]


def test_names_with_markup_characters_come_out_as_typed(engine, demo_database):
    with demo_database.transaction() as s:
        household = s.scalar(select(Household).where(Household.code == "222424-0001"))
        household.head_name = "<李>&*_兆满"
        household.helper = "王_建*国"
    admin = chat_as(engine, "演示管理员")
    admin.say("/status 天平村")
    assert "ZG-0001 <李>&*_兆满 住房" in admin.text
    admin.say("/status ZG-0001")
    assert admin.text.startswith("ZG-0001 · 汪清镇天平村 <李>&*_兆满 · 住房")
