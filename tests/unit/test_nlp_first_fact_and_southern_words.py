"""Round 29 (from h36 榕岭县 and h37 岘川县, development sets now): the fact a write is about is the
first one that names a problem or a place, whatever its status words; the second reader reads that
fact alone when a later one is about another place; a list item (另外, 再一个) naming another place
starts another fact; the office the sender spoke with (跟卫生院对接) names who, not what; a head said
right after their own village is found even when jieba knows the name as a word (王守仁); the
county's own name is the county; the north-west's 么 (没) and the Chaoshan 底时 / 无浪 / 甚物 /
好势 / 好似, and 边个 after a place word (桥边个护栏). Over a small ledger written for these tests;
today is Tuesday 2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.normalise import Normaliser
from nlp.parser import Parser
from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef
from tests.corpus.evaluate import default_calendar

TODAY = dt.date(2026, 12, 1)
HILL, RIVER = "岘口镇", "金坑镇"


@pytest.fixture(scope="module")
def snapshot() -> LedgerSnapshot:
    villages = (PlaceRef(HILL, "王家岔村"), PlaceRef(HILL, "柳湾村"), PlaceRef(HILL, "车道岭村"),
                PlaceRef(RIVER, "赤水村"), PlaceRef(RIVER, "陈厝村"))
    households = (HouseholdRef("H1", HILL, "王家岔村", "王守仁"), HouseholdRef("H2", HILL, "柳湾村", "蔺永平"),
                  HouseholdRef("H3", RIVER, "陈厝村", "陈秀英"), HouseholdRef("H4", RIVER, "赤水村", "曾佩玲"))
    issues = (IssueRef("I1", HILL, "王家岔村", "H1", "兜底保障", "未整改", "低保未纳入"),
              IssueRef("I2", HILL, "柳湾村", None, "基础设施", "未整改", "田间路坑洼"),
              IssueRef("I3", HILL, "柳湾村", "H2", "饮水", "未整改", "入户水管冻裂"),
              IssueRef("I4", HILL, "车道岭村", None, "集体经济", "未整改", "淀粉厂收益未分配"),
              IssueRef("I5", RIVER, "赤水村", None, "基础设施", "未整改", "桥边护栏缺失"),
              IssueRef("I6", RIVER, "陈厝村", "H3", "住房", "未整改", "危房改造未开工"),
              IssueRef("I7", RIVER, "陈厝村", "H3", "医疗", "未整改", "慢病卡未办理"),
              IssueRef("I8", RIVER, "赤水村", "H4", "就业", "未整改", "公益岗未安排"),
              IssueRef("I9", RIVER, "赤水村", None, "产业", "未整改", "青梅基地灌溉设施未修"))
    return LedgerSnapshot((HILL, RIVER), villages, households, issues)


@pytest.fixture(scope="module")
def rules(snapshot: LedgerSnapshot) -> Parser:
    return Parser(snapshot, default_calendar(), reader=None)


@pytest.fixture(scope="module")
def pair(snapshot: LedgerSnapshot) -> Parser:
    return Parser(snapshot, default_calendar())


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


def test_a_list_item_naming_another_place_is_another_fact_and_the_first_is_written(rules: Parser) -> None:
    got = read(rules, "柳湾村田间路还是烂的 另外蔺永平入户水管修好了")
    assert (got.village, got.household, got.category) == ("柳湾村", None, "基础设施")
    assert got.needs_confirmation
    assert any(fact.household == "蔺永平" and fact.status == "resolved" for fact in got.facts)


def test_the_first_matter_is_written_even_when_its_status_is_not_read(rules: Parser) -> None:
    got = read(rules, "车道岭村淀粉厂收益那个事；另外，蔺永平入户水管修好了")
    assert (got.village, got.category) == ("车道岭村", "集体经济")
    assert got.status is None and got.needs_confirmation


def test_the_second_reader_reads_only_the_fact_written(pair: Parser) -> None:
    got = read(pair, "车道岭村淀粉厂收益还么分，赤水村护栏正在装")
    assert got.guess is not None and got.guess.status != "in_progress"
    assert (got.village, got.status) == ("车道岭村", "open")


def test_whom_the_sender_spoke_with_is_not_the_problem(rules: Parser) -> None:
    got = read(rules, "我跟金坑镇卫生院对接过了，陈厝村陈秀英慢病卡三日内能解决")
    assert (got.household, got.category, got.status) == ("陈秀英", "医疗", "in_progress")
    assert got.deadline == dt.date(2026, 12, 4)
    got = read(rules, "我跟金坑镇社保所对接过了，曾佩玲公益岗下周三之前能解决")
    assert (got.household, got.category, got.deadline) == ("曾佩玲", "就业", dt.date(2026, 12, 9))


def test_a_head_right_after_their_village_is_found_even_when_jieba_knows_the_name(rules: Parser) -> None:
    got = read(rules, "王家岔村王守仁低保在走程序呢")
    assert (got.household, got.category, got.status) == ("王守仁", "兜底保障", "in_progress")


@pytest.mark.parametrize("text, status", [("王守仁低保还么纳入", "open"), ("柳湾村田间路么人管", "open"),
                                          ("王守仁低保咋么还么批下来", "open")])
def test_northwestern_mo_before_a_verb_is_not(rules: Parser, text: str, status: str) -> None:
    assert read(rules, text).status == status


@pytest.mark.parametrize("said, read_as", [("开工了么", "开工了么"), ("怎么样了", "怎么样了"), ("那么多", "那么多"),
                                           ("还么发", "还没发"), ("边个负责", "谁负责"), ("桥边个护栏", "桥边个护栏"),
                                           ("低保底时会好", "低保什么时候会好"), ("月底时完成", "月底时完成"),
                                           ("还无浪来验收", "还无人来验收"), ("浪费", "浪费")])
def test_regional_readings_keep_the_standard_words(said: str, read_as: str) -> None:
    assert Normaliser().clean(said) == read_as


def test_a_chaoshan_when_is_a_question(rules: Parser) -> None:
    got = read(rules, "赤水村护栏底时会好")
    assert (got.intent, got.village, got.category) == ("query_area", "赤水村", "基础设施")


def test_a_thing_only_the_places_item_names_is_understood_in_a_question(rules: Parser) -> None:
    got = read(rules, "赤水村青梅基地喷灌进度怎样")
    assert (got.intent, got.village, got.category) == ("query_area", "赤水村", "产业")


def test_the_countys_own_name_is_the_county(rules: Parser) -> None:
    got = read(rules, "榕岭县档案方面还有甚物问题")
    assert (got.intent, got.township, got.category) == ("query_area", None, "档案")


def test_a_weak_house_word_is_the_whole_house(rules: Parser) -> None:
    got = read(rules, "陈厝村陈秀英个厝开工了在打地基")
    assert (got.intent, got.category, got.status) == ("report", "住房", "in_progress")


def test_a_done_thing_is_no_instruction(rules: Parser) -> None:
    got = rules.parse("护栏做好了", TODAY, ("金坑镇/赤水村",))
    assert (got.intent, got.village, got.status) == ("report", "赤水村", "resolved")


@pytest.fixture(scope="module")
def hakka() -> Parser:
    town = "龙坑镇"
    villages = (PlaceRef(town, "茶园村"),)
    households = (HouseholdRef("K1", town, "茶园村", "郭运来"), HouseholdRef("K2", town, "茶园村", "谢冬娣"))
    issues = (IssueRef("J1", town, "茶园村", None, "产业", "未整改", "茶叶加工厂设备闲置，合作社未运转"),
              IssueRef("J2", town, "茶园村", None, "集体经济", "未整改", "合作社分红未兑现到户"),
              IssueRef("J3", town, "茶园村", "K1", "住房", "整改中", "厨房和厕所未改造"))
    return Parser(LedgerSnapshot((town,), villages, households, issues), default_calendar(), reader=None)


def test_one_item_half_done_is_the_less_done_and_asked(hakka: Parser) -> None:
    got = read(hakka, "郭运来屋里厕所改好了 厨房还在弄")
    assert (got.household, got.category, got.status) == ("郭运来", "住房", "in_progress")
    assert got.needs_confirmation


def test_a_word_two_categories_items_hold_is_asked(hakka: Parser) -> None:
    got = read(hakka, "茶园村茶厂机器开动了 合作社又运转起来哩")
    assert got.needs_confirmation
    assert "问题类别不确定" in "".join(got.reasons)


@pytest.mark.parametrize("text, intent", [("茶园村谢冬娣屋里", "query_household"), ("刚才该条撤掉", "undo"),
                                          ("菜单", "help"), ("手机冇电了 晚点报", "unknown")])
def test_hakka_wording_of_queries_undo_and_help(hakka: Parser, text: str, intent: str) -> None:
    assert read(hakka, text).intent == intent


def test_a_connector_said_alone_lists_the_next_clause(rules: Parser) -> None:
    got = read(rules, "柳湾村田间路还是烂的 再一个 赤水村护栏装好了")
    assert (got.village, got.category) == ("柳湾村", "基础设施")
    assert any(fact.village == "赤水村" and fact.status == "resolved" for fact in got.facts)


def test_a_thing_only_the_places_item_names_makes_a_report(rules: Parser) -> None:
    got = read(rules, "包村干部说车道岭村淀粉厂两周内能清出来")
    assert (got.intent, got.village, got.category, got.status) == ("report", "车道岭村", "集体经济", "in_progress")
    assert got.deadline == dt.date(2026, 12, 15)


@pytest.fixture(scope="module")
def hills() -> Parser:
    one, two, three = "以勒镇", "花山乡", "龙街苗族彝族乡"
    villages = (PlaceRef(one, "大寨村"), PlaceRef(two, "大寨村"), PlaceRef(three, "龙街村"), PlaceRef(one, "白岩村"),
                PlaceRef(one, "长潭村"))
    households = (HouseholdRef("P1", one, "长潭村", "彭大山"),)
    issues = (IssueRef("Q1", one, "大寨村", None, "饮水", "未整改", "蓄水池渗漏"),
              IssueRef("Q2", two, "大寨村", None, "产业", "未整改", "中蜂蜂箱未发放"),
              IssueRef("Q3", three, "龙街村", None, "医疗", "未整改", "卫生室缺药"),
              IssueRef("Q4", one, "白岩村", None, "基础设施", "未整改", "路灯坏了一半"),
              IssueRef("Q5", one, "长潭村", "P1", "住房", "未整改", "彭大山家木房子屋顶漏雨"))
    return Parser(LedgerSnapshot((one, two, three), villages, households, issues), default_calendar(), reader=None)


def test_a_township_said_as_a_word_before_its_village_is_another_fact(hills: Parser) -> None:
    got = read(hills, "以勒大寨村蓄水池还在渗，花山大寨村蜂箱发完了")
    assert (got.township, got.village, got.category, got.status) == ("以勒镇", "大寨村", "饮水", "open")
    assert got.needs_confirmation
    assert any(fact.township == "花山乡" and fact.status == "resolved" for fact in got.facts)


def test_a_township_of_two_peoples_is_also_said_bare_and_asked(hills: Parser) -> None:
    got = read(hills, "龙街卫生室的药在配了")
    assert got.needs_confirmation and got.township == "龙街苗族彝族乡"


def test_the_tong_of_a_road_name_is_no_completion(hills: Parser) -> None:
    got = read(hills, "白岩村通组路垮了一截")
    assert (got.category, got.status) == ("基础设施", "open")


def test_two_categories_said_and_an_item_not_holding_the_words_is_asked(hills: Parser) -> None:
    got = read(hills, "以勒镇长潭村村部屋顶漏水，开会都要打伞")
    assert got.needs_confirmation


@pytest.mark.parametrize("text", ["赤水村护栏可开工了", "陈厝村陈秀英家房子可还漏啊", "赤水村护栏可装了"])
def test_ke_before_any_status_verb_may_ask(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.needs_confirmation and "是问还是说" in "".join(got.reasons)


def test_not_closed_out_is_no_close_out_and_a_township_alone_is_asked(hills: Parser) -> None:
    got = read(hills, "以勒镇逾期未销号的饮水问题")
    assert got.intent == "query_overdue"
    got = read(hills, "以勒镇饮水问题还没有销号")
    assert got.needs_confirmation and "没说是哪个村" in "".join(got.reasons)


def test_a_bare_verb_after_the_thing_names_the_matter(rules: Parser) -> None:
    got = read(rules, "车道岭村光伏收益分配")
    assert got.status is None and got.needs_confirmation


def test_the_village_committee_is_the_village_office(hills: Parser) -> None:
    got = read(hills, "以勒镇长潭村村委会屋顶漏水")
    assert got.needs_confirmation and "基础设施" in "".join(got.reasons)


def test_mu_ending_a_question_is_not() -> None:
    assert Normaliser().clean("路灯修好了木") == "路灯修好了没"
