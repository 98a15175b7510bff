"""Round 14 (from the development sets, h15 梅岽县): Hakka and Gan words read as standard ones
(哩 after a result is 了, 嘅 是的, 系 is 是, 哇 between words is 说, 有冇 asks, 屋里 is 家), the
speaker's plan said with 明日 / 礼拜 is no report, a completion word naming the matter (复学的事)
is no status, and 和 before 村干部 ends no village. Over the demo county's story part."""

from __future__ import annotations

import pytest

from nlp.parser import Parser
from tests.support.story_reading import read


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.parametrize("text, status", [
    ("东台村水管换新哩", "resolved"),               # 哩 after a result: 了
    ("东台村漏水嘅管子弄归一哩", "resolved"),         # 嘅: 的 (the problem names the pipe); 归一: done
    ("东台村水管还冇修好", "open"),
    ("李兆满家危房正在砌墙哩", "in_progress"),        # 哩 after no result stays (呢)
])
def test_southern_words_read_as_standard_ones(rules: Parser, text: str, status: str) -> None:
    got = read(rules, text)
    assert got.intent == "report" and got.status == status


def test_xi_is_the_copula_but_not_in_a_system(rules: Parser) -> None:
    got = read(rules, "东台村水管不系冇修，系修好又坏哩")  # 不是没修，是修好又坏了
    assert got.status == "open" and "double_negation" in got.flags
    assert read(rules, "东台村刘在龙户档系统里的信息更正了").status == "resolved"


def test_wa_between_words_relays(rules: Parser) -> None:
    got = read(rules, "施工队哇东台村水管修好哩")
    assert got.status == "resolved" and got.needs_confirmation and "hearsay" in got.flags


@pytest.mark.parametrize("text", ["东台村有冇问题", "东台村水管换哩冇"])
def test_you_mou_asks(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "query_area"


def test_wuli_names_a_household(rules: Parser) -> None:
    got = read(rules, "李兆满屋里慢病卡办好哩")
    assert got.household == "李兆满" and got.category == "医疗" and got.status == "resolved"


@pytest.mark.parametrize("text", ["明日去东台村看下水管", "礼拜四到东台村开群众会", "等哈去东台村拍几张照片"])
def test_the_speakers_plan_is_no_report(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


@pytest.mark.parametrize("text", ["赵连生家孩子复学的事", "东台村饮水解决这个问题"])
def test_a_completion_word_naming_the_matter_is_no_status(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status != "resolved" or got.needs_confirmation


def test_a_conjunction_before_a_village_word_ends_no_village(rules: Parser) -> None:
    got = read(rules, "赵连生家孩子复学，老师和村干部已经上门做工作了")
    assert not any("台账里没有" in reason for reason in got.reasons)


def test_hired_is_no_order(rules: Parser) -> None:
    assert "order" not in read(rules, "河北村合作社的账请了会计在对").flags


# Round 15 (from h16 辰坪县, 湘语): 哒 is 了, 啷个 is 怎么, 么时候 is 什么时候, a kinship word with 屋里,
# the speaker's plan to go somewhere to check, and 核对无误.

@pytest.mark.parametrize("text, status", [("东台村水管修好哒", "resolved"), ("东台村水管还冇修好哒", "open")])
def test_da_is_le(rules: Parser, text: str, status: str) -> None:
    assert read(rules, text).status == status


@pytest.mark.parametrize("text", ["东台村饮水啷个样哒", "东台村水管么时候修得好"])
def test_xiang_question_words_ask(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "query_area"


def test_a_kinship_word_before_wuli_finds_the_household(rules: Parser) -> None:
    got = read(rules, "东台村刘嫂子屋里黄牛补贴到位哒")
    assert got.household == "刘在龙" and got.needs_confirmation


@pytest.mark.parametrize("text", ["明天上午跟水利站的人一起去东台村", "我准备去东台村核对台账"])
def test_going_somewhere_to_check_is_a_plan(rules: Parser, text: str) -> None:
    assert read(rules, text).intent == "unknown"


def test_checked_without_error_is_done(rules: Parser) -> None:
    assert read(rules, "东台村刘在龙户档核对无误哒").status == "resolved"


# Round 16 (from h17 峁川县, 陕北): 咧 is 了, a problem 没啦 is gone, V着 is going on, hauled
# material is a step, and one unknown character before a village may make another village.

@pytest.mark.parametrize("text, status", [
    ("东台村水管修好咧", "resolved"),
    ("东台村水管冻裂没啦", "resolved"),      # the problem, then 没啦: gone
    ("东台村水管师傅正换着咧", "in_progress"),  # V着: going on
])
def test_north_western_words(rules: Parser, text: str, status: str) -> None:
    assert read(rules, text).status == status


def test_hauled_material_is_a_step(rules: Parser) -> None:
    got = read(rules, "东台村入户的管子拉回来咧")
    assert got.status == "in_progress"


def test_one_unknown_character_before_a_village_is_asked(rules: Parser) -> None:
    got = read(rules, "黑东台村水管冻裂了")
    assert got.needs_confirmation and any("是不是“东台村”" in reason for reason in got.reasons)
    assert not any("是不是" in reason for reason in read(rules, "请东台村尽快解决饮水问题").reasons)


# Round 18 (from h19 雾坪县, 云南): 咯 ends a question in Yunnan and a statement in Hunan, so a
# report resting on it is asked; 又检查了一遍 is no relapse.

def test_a_status_ending_in_lo_is_asked(rules: Parser) -> None:
    got = read(rules, "东台村水管修好了咯")
    assert got.needs_confirmation and any("咯" in reason for reason in got.reasons)


def test_checking_again_is_no_relapse(rules: Parser) -> None:
    assert read(rules, "李兆满家屋顶又检查了一遍，一点不漏").status == "resolved"
