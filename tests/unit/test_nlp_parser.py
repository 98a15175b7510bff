"""The parser on messages written for these tests (not the corpus): intent, place, category,
status, deadline, and when it must ask. Today is Tuesday 2026-12-01 unless said otherwise."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.parser import Parser

TODAY = dt.date(2026, 12, 1)
CONTRACT_KEYS = ["text", "intent", "township", "village", "household", "category", "status", "deadline",
                 "needs_confirmation", "candidates", "confidence", "reasons", "facts"]


@pytest.fixture(scope="module")
def parser(story_rules: Parser) -> Parser:
    return story_rules  # the rules alone


def fields(parser: Parser, text: str, scope=()) -> tuple:
    got = parser.parse(text, TODAY, scope).to_contract()
    return (got["intent"], got["township"], got["village"], got["household"], got["category"],
            got["status"], got["deadline"], got["needs_confirmation"])


R, N = "report", "new_issue"
DONE, DOING, OPEN = "resolved", "in_progress", "open"

WRITES = [
    # completion said in many ways
    ("东台村自来水管子换好了", (R, "东光镇", "东台村", None, "饮水", DONE, None, False)),
    ("天平村李兆满户危房改造搞完了", (R, "汪清镇", "天平村", "李兆满", "住房", DONE, None, False)),
    ("刘在龙家养牛补贴钱到了", (R, "东光镇", "东台村", "刘在龙", "产业", DONE, None, False)),
    ("赵连生的孩子已经回学校上课了", (R, "春阳镇", "新村村", "赵连生", "教育", DONE, None, False)),
    ("郑海波家务工交通补贴已打到卡上", (R, "天桥岭镇", "东升村", "郑海波", "就业", DONE, None, False)),
    ("大兴沟镇杜荒子村菌包全部发放完毕", (R, "大兴沟镇", "杜荒子村", None, "产业", DONE, None, False)),
    ("东台村饮水问题整改到位", (R, "东光镇", "东台村", None, "饮水", DONE, None, False)),
    ("李兆满家房子不漏雨了", (R, "汪清镇", "天平村", "李兆满", "住房", DONE, None, False)),
    ("李兆满家房子没问题了", (R, "汪清镇", "天平村", "李兆满", "住房", DONE, None, False)),
    # thanks before a report: most likely an answer to someone else's report, so it is asked
    ("感谢水利局，东台村饮水问题已解决", (R, "东光镇", "东台村", None, "饮水", DONE, None, True)),
    ("【更正】东台村应为东光村，桥护栏已装好", (R, "东光镇", "东光村", None, "基础设施", DONE, None, False)),
    # work under way, promises with a date
    ("陈德胜家危房还在拆，下周三之前拆完", (R, "天桥岭镇", "红旗村", "陈德胜", "住房", DOING, "2026-12-09", False)),
    ("东光村过河桥护栏明天能装好", (R, "东光镇", "东光村", None, "基础设施", DOING, "2026-12-02", False)),
    ("李兆满家的危房改造我们争取下周完成", (R, "汪清镇", "天平村", "李兆满", "住房", DOING, "2026-12-13", False)),
    ("东台村水管冻了，正在抢修，预计后天恢复", (R, "东光镇", "东台村", None, "饮水", DOING, "2026-12-03", False)),
    ("许振华的慢病报销还在走流程", (R, "鸡冠乡", "平安村", "许振华", "医疗", DOING, None, False)),
    ("东台村饮水问题没解决完，还有三户没通", (R, "东光镇", "东台村", None, "饮水", DOING, None, False)),
    # not done, got worse, orders from above
    ("东台村水管还在漏", (R, "东光镇", "东台村", None, "饮水", OPEN, None, False)),
    ("东台村水管修好了，但是又冻了", (R, "东光镇", "东台村", None, "饮水", OPEN, None, False)),
    ("天平村的暖气到现在都不热", (R, "汪清镇", "天平村", None, "基础设施", OPEN, None, False)),
    ("东光村金春花家庭医生还没签", (R, "东光镇", "东光村", "金春花", "医疗", OPEN, None, False)),
    ("杜荒子村菌包还差三十户没发", (R, "大兴沟镇", "杜荒子村", None, "产业", OPEN, None, False)),
    ("县住建局要求李兆满家危房改造月底前完成", (R, "汪清镇", "天平村", "李兆满", "住房", OPEN, "2026-12-31", True)),
    ("东台村饮水问题请于12月10日前整改完毕", (R, "东光镇", "东台村", None, "饮水", OPEN, "2026-12-10", True)),
    # new problems: the ledger has none of that category there
    ("东台村发现有两户房屋开裂", (N, "东光镇", "东台村", None, "住房", OPEN, None, False)),
    ("幸福村有三户房子漏雨", (N, None, None, None, "住房", OPEN, None, True)),
    # must ask: homophones, same names, stems, several facts, place from scope
    ("冻台村水管修好了", (R, "东光镇", "东台村", None, "饮水", DONE, None, True)),
    ("李照满家房子完工了", (R, "汪清镇", "天平村", "李兆满", "住房", DONE, None, True)),
    ("王秀英家低保纳入了", (R, None, None, "王秀英", "兜底保障", DONE, None, True)),
    ("新兴村饮水问题解决了", (R, None, "新兴村", None, "饮水", DONE, None, True)),
    ("东台村水管已修好 东光村桥护栏也装好了", (R, "东光镇", "东台村", None, "饮水", DONE, None, True)),
    ("卫生室药还没到", (R, "春阳镇", "新村村", None, "医疗", OPEN, None, True), ["春阳镇/新村村"]),
    ("新兴村饮水问题解决了", (R, "汪清镇", "新兴村", None, "饮水", DONE, None, False), ["汪清镇"]),
    ("王秀英家低保纳入了", (R, "罗子沟镇", "太平村", "王秀英", "兜底保障", DONE, None, False), ["罗子沟镇"]),
]

QUERIES = [
    ("东台村的水管修好了吗", ("query_area", "东光镇", "东台村", None, "饮水", None, None, False)),
    ("东台村水管修没修好", ("query_area", "东光镇", "东台村", None, "饮水", None, None, False)),
    ("天平村村部供暖问题解决了没有啊", ("query_area", "汪清镇", "天平村", None, "基础设施", None, None, False)),
    ("李兆满家危房改造完成了吗", ("query_household", "汪清镇", "天平村", "李兆满", None, None, None, False)),
    ("李兆满家", ("query_household", "汪清镇", "天平村", "李兆满", None, None, None, False)),
    ("东台村怎么样", ("query_area", "东光镇", "东台村", None, None, None, None, False)),
    ("东光镇", ("query_area", "东光镇", None, None, None, None, None, False)),
    ("鸡冠乡还有几个问题没整改", ("query_area", "鸡冠乡", None, None, None, None, None, False)),
    ("饮水问题还有哪些村没解决", ("query_area", None, None, None, "饮水", None, None, False)),
    ("东台村饮水问题整改情况", ("query_area", "东光镇", "东台村", None, "饮水", None, None, False)),
    ("王秀英家情况怎么样", ("query_household", None, None, "王秀英", None, None, None, True)),
    ("本周到期的饮水问题", ("query_due", None, None, None, "饮水", None, "2026-12-06", False)),
    ("今天到期的有哪些", ("query_due", None, None, None, None, None, "2026-12-01", False)),
    ("下个月到期的", ("query_due", None, None, None, None, None, "2027-01-31", False)),
    ("哪些问题已经逾期了", ("query_overdue", None, None, None, None, None, None, False)),
    ("东光镇逾期的问题", ("query_overdue", "东光镇", None, None, None, None, None, False)),
]

OTHERS = [
    ("帮我撤销一下", "undo"), ("刚才那条取消", "undo"), ("怎么上报问题", "help"),
    ("这个机器人怎么用啊", "help"), ("你好，我是新来的", "unknown"), ("谢谢领导", "unknown"),
    ("明天上午九点在镇政府开会", "unknown"), ("各村务必在周五前上报危房排查情况", "unknown"),
    ("如果东光村桥护栏装好了说一声", "unknown"), ("👍", "unknown"), ("", "unknown"),
]


@pytest.mark.parametrize("case", WRITES, ids=[c[0] + (f"@{c[2]}" if len(c) > 2 else "") for c in WRITES])
def test_writes(parser: Parser, case) -> None:
    text, expected, *scope = case
    assert fields(parser, text, scope[0] if scope else ()) == expected


@pytest.mark.parametrize(("text", "expected"), QUERIES, ids=[c[0] for c in QUERIES])
def test_queries(parser: Parser, text: str, expected: tuple) -> None:
    assert fields(parser, text) == expected


@pytest.mark.parametrize(("text", "intent"), OTHERS, ids=[c[0] or "empty" for c in OTHERS])
def test_no_slots_for_undo_help_unknown(parser: Parser, text: str, intent: str) -> None:
    assert fields(parser, text) == (intent, None, None, None, None, None, None, False)


def test_question_is_never_a_resolved_write(parser: Parser) -> None:
    for text in ("东台村饮水问题解决了吗", "东台村饮水问题解决没", "东台村饮水问题是否已整改",
                 "东台村有没有饮水问题", "东台村饮水问题解决了？", "李兆满家的房子不是危房了吗"):
        parse = parser.parse(text, TODAY)
        assert parse.intent not in ("report", "new_issue"), text


def test_rhetorical_question_in_a_complaint_is_an_open_report(parser: Parser) -> None:
    parse = parser.parse("不是说修好了吗？东台村水管怎么又漏了", TODAY)
    assert (parse.intent, parse.village, parse.status) == ("report", "东台村", "open")


def test_contract_shape(parser: Parser) -> None:
    got = parser.parse("东抬村水的问题搞定了👍", TODAY).to_contract()
    assert list(got) == CONTRACT_KEYS
    assert got["candidates"] == [{"township": "东光镇", "village": "东台村", "household": None, "score": 0.9}]
    assert 0 <= got["confidence"] <= 1


def test_report_names_the_ledger_issue(parser: Parser) -> None:
    assert parser.parse("东台村饮水问题已解决", TODAY).issue_code == "ZG-0003"
    assert parser.parse("李兆满家慢病卡办好了", TODAY).issue_code == "ZG-0002"


def test_household_with_only_a_village_issue_asks(parser: Parser) -> None:
    parse = parser.parse("刘在龙家饮水问题解决了", TODAY)
    assert (parse.intent, parse.household, parse.issue_code, parse.needs_confirmation) == \
        ("report", "刘在龙", "ZG-0003", True)


def test_closed_issue_is_not_reported_on(parser: Parser) -> None:
    parse = parser.parse("周长顺家临时救助又没发", TODAY)  # ZG-0023 is 已销号
    assert (parse.intent, parse.status) == ("new_issue", "open")


def test_confirmation_reasons_are_chinese(parser: Parser) -> None:
    parse = parser.parse("东台村饮水问题已解决，李兆满家危房也完工了", TODAY)
    assert parse.needs_confirmation and parse.reasons == ["一条消息里有 2 件事"]
    assert [(f.village, f.household, f.category, f.status) for f in parse.facts] == [
        ("东台村", None, "饮水", "resolved"), ("天平村", "李兆满", "住房", "resolved")]


def test_a_long_message_is_read_in_part_and_confirmed(parser: Parser) -> None:
    parse = parser.parse("东台村饮水问题已解决。" + "今天天气不错。" * 400, TODAY)
    assert parse.intent == "report" and parse.needs_confirmation


@pytest.mark.parametrize("text", [
    "东台村水管好像修好了，我再去确认一下",  # hedged: asks
    "东台村水管应该修好了吧",
    "东台村水管修好以后要验收",  # a time clause, not a completion
    "东台村水管没修好之前别销号",
    "东台村饮水问题很难解决",
    "东台村饮水问题解决不了",
    "东台村饮水问题基本解决了",  # partly
    "东台村水管昨天修好了，今天又坏了",  # came back
    "如果东台村水通了告诉我一声",
    "东台村饮水问题解决了没得",
])
def test_never_a_confident_resolved_write(parser: Parser, text: str) -> None:
    parse = parser.parse(text, TODAY)
    confident_write = parse.intent in ("report", "new_issue") and not parse.needs_confirmation
    assert not (confident_write and parse.status == "resolved"), parse
