"""Rounds 25 and 26 (from h28 叙溪县, h29 察岭县, h30 乌秀县 and h31 紫塬县, development sets now): a village name two townships
share still finds a household by surname (竹林沟村黄家), a village's 村 is also the first
character of the thing after it (巴音嘎查村道), townships named without 苏木, a head whose name is
an ordinary word (乌云) at a clause's start before a thing of the ledger, the northern words
甚 / 咋介 / 闹 / 啦, "fixed what?" as a denial that a relayed claim does not override, 坏了一半 as the
extent of a problem, and a step followed by the fix itself. Over a small ledger written for these
tests; today is Tuesday 2026-12-01."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.normalise import Normaliser
from nlp.parser import Parser
from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef
from tests.corpus.evaluate import default_calendar

TODAY = dt.date(2026, 12, 1)
STEPPE, TOWN, OTHER = "赛汉塔拉苏木", "龙滩镇", "凉风垭乡"


@pytest.fixture(scope="module")
def rules() -> Parser:
    villages = (PlaceRef(STEPPE, "巴音嘎查村"), PlaceRef(STEPPE, "宝力根嘎查村"), PlaceRef(TOWN, "竹林沟村"),
                PlaceRef(OTHER, "竹林沟村"), PlaceRef(TOWN, "红沙村"))
    households = (HouseholdRef("H1", TOWN, "竹林沟村", "黄福贵"), HouseholdRef("H2", STEPPE, "宝力根嘎查村", "乌云"),
                  HouseholdRef("H3", TOWN, "红沙村", "张存旺"))
    issues = (IssueRef("I1", STEPPE, "巴音嘎查村", None, "基础设施", "未整改", "村道坑洼"),
              IssueRef("I2", TOWN, "竹林沟村", "H1", "教育", "未整改", "孩子辍学在家"),
              IssueRef("I3", STEPPE, "宝力根嘎查村", "H2", "教育", "未整改", "雨露计划补助未到位"),
              IssueRef("I4", TOWN, "红沙村", "H3", "医疗", "整改中", "慢病卡未办理"),
              IssueRef("I5", TOWN, "红沙村", None, "基础设施", "未整改", "路灯损坏"),
              IssueRef("I6", STEPPE, "巴音嘎查村", None, "集体经济", "未整改", "羊场分红方案未公示"),
              IssueRef("I7", TOWN, "竹林沟村", "H1", "产业", "未整改", "黄牛养殖补贴未发"))
    snapshot = LedgerSnapshot((STEPPE, TOWN, OTHER), villages, households, issues)
    return Parser(snapshot, default_calendar(), reader=None)


def read(parser: Parser, text: str):
    return parser.parse(text, TODAY)


def test_a_surname_after_a_village_two_townships_share_finds_the_household_and_asks(rules: Parser) -> None:
    got = read(rules, "竹林沟村黄家娃儿还没回学校")
    assert (got.township, got.household, got.status) == (TOWN, "黄福贵", "open")
    assert got.needs_confirmation


def test_the_villages_cun_is_also_the_first_character_of_the_thing(rules: Parser) -> None:
    got = read(rules, "巴音嘎查村道年底前能铺完")
    assert (got.village, got.category, got.status) == ("巴音嘎查村", "基础设施", "in_progress")


def test_a_township_is_named_without_sumu(rules: Parser) -> None:
    assert read(rules, "赛汉塔拉巴音嘎查村").township == STEPPE


@pytest.mark.parametrize("text, household", [("乌云雨露计划补助没到位", "乌云"), ("乌云的雨露计划补助到位了", "乌云"),
                                             ("今天乌云密布", None)])
def test_a_head_whose_name_is_a_word_is_found_before_a_thing_of_the_ledger(
        rules: Parser, text: str, household: str | None) -> None:
    assert read(rules, text).household == household


@pytest.mark.parametrize("said, standard", [
    ("红沙村有甚问题", "红沙村有什么问题"), ("咋介报新问题", "怎么报新问题"), ("路灯闹好了", "路灯弄好了"),
    ("还没闹", "还没弄"), ("水窖渗水没啦", "水窖渗水没了"), ("问题清单发我看哈", "问题清单发我看一下"),
])
def test_northern_and_south_western_words_are_read_as_standard_ones(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


@pytest.mark.parametrize("kept", ["甚至没人管", "村里很热闹", "啦啦队", "欺人太甚"])
def test_standard_words_that_look_northern_stay(kept: str) -> None:
    assert Normaliser().clean(kept) == kept


@pytest.mark.parametrize("text, intent", [("红沙村有甚问题", "query_area"), ("能干甚", "help"),
                                          ("乌云家咋介了", "query_household")])
def test_questions_in_northern_words(rules: Parser, text: str, intent: str) -> None:
    assert read(rules, text).intent == intent


def test_a_question_ending_in_wa_after_mei_is_a_question(rules: Parser) -> None:
    assert read(rules, "宝力根嘎查乌云家雨露计划补助到了没哇").intent == "query_household"


@pytest.mark.parametrize("text", ["巴音嘎查村道说修好了 哪里修好了", "巴音嘎查村道说弄好了 弄好甚了"])
def test_a_relayed_claim_then_fixed_what_is_open_and_asked(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert (got.intent, got.status) == ("report", "open") and got.needs_confirmation


def test_half_broken_is_how_much_is_broken(rules: Parser) -> None:
    assert read(rules, "红沙村路灯坏了一半").status == "open"
    assert read(rules, "红沙村路灯修了一半").status == "in_progress"


def test_papers_handed_in_and_then_the_card_issued_is_done(rules: Parser) -> None:
    got = read(rules, "张存旺慢病卡材料交上去了 卡也办下来了")
    assert (got.household, got.status) == ("张存旺", "resolved")
    assert read(rules, "张存旺慢病卡材料递到残联了").status == "in_progress"


# --- round 26 (from h30 黔东南 and h31 吕梁) ---------------------------------------------------

@pytest.mark.parametrize("text", ["红沙村路灯那个事 跟你说一下", "张存旺慢病卡的事", "红沙村路灯的问题 我反映一下"])
def test_a_message_that_only_names_a_matter_reads_no_status(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.intent == "report" and got.status is None and got.needs_confirmation
    assert "matter" in got.flags


def test_how_many_with_any_measure_word_asks(rules: Parser) -> None:
    got = read(rules, "红沙村还有几盏路灯不亮")
    assert (got.intent, got.village, got.category) == ("query_area", "红沙村", "基础设施")


@pytest.mark.parametrize("text, intent, township", [
    ("赛汉塔拉还有好多问题没整改", "query_area", STEPPE), ("全县还剩好多没销号的", "query_area", None),
    ("张存旺家还有好多问题没弄完", "query_household", TOWN),
])
def test_how_much_is_left_is_a_query(rules: Parser, text: str, intent: str, township: str | None) -> None:
    got = read(rules, text)
    assert (got.intent, got.township) == (intent, township)


def test_a_problem_with_its_thing_is_still_a_report_of_it(rules: Parser) -> None:
    assert read(rules, "红沙村还有好多路灯不亮").intent == "report"


def test_zai_before_a_place_is_where_not_work_going_on(rules: Parser) -> None:
    assert read(rules, "红沙村张存旺已经在卫生室办慢病卡了").status != "in_progress"
    assert read(rules, "红沙村路灯已经在修了").status == "in_progress"


def test_doing_what_the_item_says_is_not_done_is_the_fix(rules: Parser) -> None:
    assert read(rules, "巴音嘎查村羊场分红方案公示了").status == "resolved"
    assert read(rules, "巴音嘎查村羊场分红方案正在公示").status == "in_progress"


def test_no_more_said_as_meiyou_zai_is_resolved(rules: Parser) -> None:
    assert read(rules, "竹林沟村黄福贵家娃娃没有再辍学").status == "resolved"


@pytest.mark.parametrize("text, deadline", [("红沙村路灯下月5号前换齐", dt.date(2027, 1, 5)),
                                            ("张存旺慢病卡过两天就办下来", dt.date(2026, 12, 3)),
                                            ("红沙村路灯后儿就能亮", dt.date(2026, 12, 3))])
def test_a_bounded_date_and_then_any_verb_is_a_promise(rules: Parser, text: str, deadline: dt.date) -> None:
    got = read(rules, text)
    assert (got.status, got.deadline) == ("in_progress", deadline)



def test_except_one_village_the_others_done_leaves_that_village_open(rules: Parser) -> None:
    got = read(rules, "除了红沙村 龙滩镇别的村路灯都修好了")  # 别的 is "other", no negator
    assert (got.village, got.status) == ("红沙村", "open") and got.needs_confirmation


def test_a_relayed_claim_then_the_problem_seen_is_open(rules: Parser) -> None:
    got = read(rules, "红沙村路灯说修好了 咋还坏着哩")
    assert got.status == "open" and got.needs_confirmation


def test_a_topic_then_its_status_in_words_with_a_weak_category_character_is_one_fact(rules: Parser) -> None:
    """红沙村路灯，水泥拉到了: 水 of 水泥 starts no other matter after a topic said alone."""
    got = read(rules, "红沙村路灯 水泥拉到了 正装着哩")
    assert (got.village, got.category, got.status) == ("红沙村", "基础设施", "in_progress")
    assert not got.facts


def test_thanks_to_an_office_do_not_make_the_report_a_new_problem(rules: Parser) -> None:
    got = read(rules, "谢谢卫健局 张存旺慢病卡办下来了")
    assert (got.intent, got.household) == ("report", "张存旺")


def test_a_problem_verb_with_zhe_is_still_so(rules: Parser) -> None:
    assert read(rules, "红沙村路灯还坏着").status == "open"


# --- round 27 (from h32 新疆南疆 and h33 河北) ------------------------------------------------

def test_a_regional_reading_never_changes_a_ledger_name() -> None:
    """克 before a place is 去 in the north-west, but not inside 阿克塔什村."""
    names = Normaliser(names=("阿克塔什村", "阿克塔什"))
    assert names.clean("阿克塔什村路灯全部亮了") == "阿克塔什村路灯全部亮了"
    assert names.clean("明天克红沙村看看") == "明天去红沙村看看"


def test_a_village_with_ke_in_its_name_is_found() -> None:
    township = "阿热勒乡"
    snapshot = LedgerSnapshot((township,), (PlaceRef(township, "阿克塔什村"),), (),
                              (IssueRef("I1", township, "阿克塔什村", None, "基础设施", "未整改", "路灯损坏"),))
    got = Parser(snapshot, default_calendar(), reader=None).parse("阿克塔什村路灯全部亮了", TODAY)
    assert (got.village, got.status) == ("阿克塔什村", "resolved")


@pytest.mark.parametrize("said, standard", [("路灯嘛时候能修好", "路灯什么时候能修好"), ("还有嘛问题", "还有什么问题"),
                                            ("水多会儿能通", "水什么时候能通"), ("水管没麻达了", "水管没问题了")])
def test_hebei_and_xinjiang_words_are_read_as_standard_ones(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


def test_of_two_categories_said_the_item_holding_every_word_wins() -> None:
    town = "南流寨镇"
    snapshot = LedgerSnapshot((town,), (PlaceRef(town, "宋家疃村"),), (HouseholdRef("H1", town, "宋家疃村", "宋德林"),), (
        IssueRef("I1", town, "宋家疃村", "H1", "产业", "未整改", "蔬菜大棚棚膜破损"),
        IssueRef("I2", town, "宋家疃村", None, "集体经济", "整改中", "村集体果园承包费未收缴"),
        IssueRef("I3", town, "宋家疃村", None, "基础设施", "未整改", "村道塌方")))
    parser = Parser(snapshot, default_calendar(), reader=None)
    got = parser.parse("宋家疃村果园承包费收齐了", TODAY)
    assert (got.intent, got.category) == ("report", "集体经济")
    roof = parser.parse("宋家疃村村部屋顶漏水", TODAY)  # no item holds 村部 and 屋顶: asked
    assert roof.needs_confirmation


def test_salty_water_is_a_problem_and_no_longer_salty_is_fixed(rules: Parser) -> None:
    snapshot = LedgerSnapshot((TOWN,), (PlaceRef(TOWN, "红沙村"),), (),
                              (IssueRef("I1", TOWN, "红沙村", None, "饮水", "未整改", "自来水水质发咸"),))
    parser = Parser(snapshot, default_calendar(), reader=None)
    assert parser.parse("红沙村的水不咸了", TODAY).status == "resolved"
    still = parser.parse("红沙村水还是咸的", TODAY)
    assert (still.intent, still.status) == ("report", "open")


@pytest.fixture(scope="module")
def long_names() -> Parser:
    township = "库木萨依镇"
    villages = (PlaceRef(township, "吾斯塘博依村"), PlaceRef(township, "古勒巴格村"))
    households = (HouseholdRef("H1", township, "古勒巴格村", "阿不都热合曼"),
                  HouseholdRef("H2", township, "吾斯塘博依村", "买买提吐尔逊"))
    issues = (IssueRef("I1", township, "吾斯塘博依村", None, "集体经济", "未整改", "合作社分红未兑现"),
              IssueRef("I2", township, "古勒巴格村", "H1", "住房", "未整改", "墙体开裂"),
              IssueRef("I3", township, "吾斯塘博依村", "H2", "医疗", "整改中", "慢病卡未办理"))
    return Parser(LedgerSnapshot((township,), villages, households, issues), default_calendar(), reader=None)


@pytest.mark.parametrize("text, village, household", [
    ("吾斯塘伯依村分红发下去了", "吾斯塘博依村", None),               # six characters, 伯 for 博
    ("阿布都热合曼家墙还没补", "古勒巴格村", "阿不都热合曼"),          # 布 for 不
    ("麦麦提吐尔逊慢病卡办下来了", "吾斯塘博依村", "买买提吐尔逊"),    # 麦麦提 for 买买提
])
def test_long_transliterated_names_are_found_by_sound_and_asked(
        long_names: Parser, text: str, village: str, household: str | None) -> None:
    got = long_names.parse(text, TODAY)
    assert (got.village, got.household) == (village, household) and got.needs_confirmation


@pytest.mark.parametrize("text, status", [("红沙村路灯估计修好了", "resolved"), ("红沙村路灯估计下周能修好", "in_progress")])
def test_a_guess_about_work_done_is_the_reading_asked_and_a_guess_about_a_date_a_promise(
        rules: Parser, text: str, status: str) -> None:
    got = read(rules, text)
    assert got.status == status and got.needs_confirmation and "hedge" in got.flags


# --- round 28 (from h34 甘孜 and h35 恩施) ----------------------------------------------------

@pytest.mark.parametrize("said, standard", [("张存旺屋里么样哒", "张存旺屋里怎么样了"), ("路灯怎么样了", "路灯怎么样了"),
                                            ("什么样的", "什么样的")])
def test_hubei_meyang_is_how(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


def test_a_question_ending_in_sa_after_meiyou_is_a_question(rules: Parser) -> None:
    assert read(rules, "张存旺家医生来过没有撒").intent == "query_household"


def test_until_a_date_is_no_deadline(rules: Parser) -> None:
    assert read(rules, "红沙村路灯在修 要修到月底").deadline is None
    assert read(rules, "红沙村路灯月底前修好").deadline == dt.date(2026, 12, 31)


def test_a_weak_word_in_a_circumstance_does_not_file_the_report_elsewhere() -> None:
    """次仁多吉家娃娃没去上学，在家放牦牛: 牛 does not make it the household's farming item."""
    town = "绒曲镇"
    snapshot = LedgerSnapshot((town,), (PlaceRef(town, "觉吾村"),), (HouseholdRef("H1", town, "觉吾村", "次仁多吉"),),
                              (IssueRef("I1", town, "觉吾村", "H1", "产业", "未整改", "牦牛养殖补贴未发放"),))
    got = Parser(snapshot, default_calendar(), reader=None).parse("次仁多吉家娃娃没去上学 在家放牦牛", TODAY)
    assert (got.intent, got.category) == ("new_issue", "教育")


def test_a_record_put_right_is_a_report_not_a_correction_of_the_message(rules: Parser) -> None:
    """孜珠村达瓦户档已更正 in a summary: the file was corrected; the other lines still stand."""
    got = read(rules, "龙滩镇汇报\n红沙村张存旺慢病卡办下来了\n红沙村路灯已更正")
    assert got.household == "张存旺" and got.needs_confirmation and len(got.facts) == 2
    assert read(rules, "更正：是红沙村路灯修好了").intent == "report"


def test_a_longer_head_said_by_sound_after_a_shorter_one_exactly() -> None:
    town = "普玛乡"
    snapshot = LedgerSnapshot((town,), (PlaceRef(town, "觉吾村"), PlaceRef(town, "卡攻村")),
                              (HouseholdRef("H1", town, "觉吾村", "次仁多吉"), HouseholdRef("H2", town, "卡攻村", "次仁")),
                              (IssueRef("I1", town, "觉吾村", "H1", "产业", "未整改", "牦牛补贴未发"),))
    got = Parser(snapshot, default_calendar(), reader=None).parse("次仁朵吉家牦牛补贴到了", TODAY)
    assert (got.household, got.intent) == ("次仁多吉", "report") and got.needs_confirmation


@pytest.mark.parametrize("said, standard", [("介村还有嘛问题", "这村还有什么问题"), ("这个机器人能干嘛", "这个机器人能干什么"),
                                            ("修好了嘛", "修好了嘛"), ("介绍一下", "介绍一下")])
def test_hebei_ma_and_jie_are_read_by_their_neighbours(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard
