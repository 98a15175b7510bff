"""Round 20 (from h21 濂江县, Cantonese, now a development set): regional words are data
(nlp/lexicon/regional.yaml, which a county extends like the other lexicon files) read as the
standard ones before parsing; a fact that says done and then only that a problem stands is asked;
村 before 村医 after a negator ends no village; a county or a township with a category and
nothing else asks for the list. Over the demo county's story part, read by the rules alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.lexicon import LexiconError, load_lexicon, read_regional
from nlp.normalise import Normaliser
from nlp.parser import Parser
from tests.support.story_reading import read


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.parametrize("said, standard", [
    ("东台村水管修好咗", "东台村水管修好了"),
    ("李兆满屋企危房仲未搞掂", "李兆满家危房还没搞定"),
    ("东台村嗰段水管执好喇", "东台村那段水管修好了"),        # 嗰 after OpenCC's step too
    ("東台村嗰段水管執好喇", "东台村那段水管修好了"),
    ("塘尾村水管整紧", "塘尾村水管整着"),                     # 紧 after a verb: going on
    ("村道嘅坑全部填平晒", "村道的坑全部填平了"),
    ("低保批咗落嚟喇", "低保批了下来了"),
    ("村道塌方嗰段通返车喇", "村道塌方那段通回车了"),
    ("点样查到期嘅问题", "怎么查到期的问题"),
])
def test_cantonese_is_read_as_standard_words(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


@pytest.mark.parametrize("kept", ["抓紧时间", "喇永福的补贴到账了", "孩子返校了", "老师正在劝返", "村里返贫户",
                                  "教学点老师到岗了", "一点都不漏", "东台村水通了的话告诉我"])
def test_standard_words_that_look_cantonese_stay(kept: str) -> None:
    assert Normaliser().clean(kept) == kept


def test_a_county_adds_its_own_regional_words(tmp_path: Path) -> None:
    (tmp_path / "regional.yaml").write_text("搞妥帖: 搞定\n", encoding="utf-8")
    lexicon = load_lexicon(tmp_path)
    assert lexicon.regional["搞妥帖"] == "搞定" and lexicon.regional["咗"] == "了"
    assert Normaliser(lexicon.regional).clean("水管搞妥帖了") == "水管搞定了"


def test_a_bad_regional_entry_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "regional.yaml"
    path.write_text("咗: 了\n冇: [没, 无]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"regional.yaml:2"):
        read_regional(path)


def test_cantonese_reports_are_read(rules: Parser) -> None:
    assert read(rules, "李兆满屋企危房改造搞掂咗").status == "resolved"
    assert read(rules, "李兆满屋企危房改造就嚟搞掂").status == "in_progress"  # 就嚟: about to
    got = read(rules, "东台村水管仲未驳通")
    assert got.status == "open" and got.village == "东台村"


def test_done_then_a_problem_that_stands_is_asked(rules: Parser) -> None:
    got = read(rules, "李兆满危房改造补贴批了，未发到他手")
    assert got.needs_confirmation and "ends_on_problem" in got.flags
    assert not read(rules, "东台村水管修好了，不再冻了").needs_confirmation  # a problem said gone


def test_village_doctor_after_a_negator_is_no_village(rules: Parser) -> None:
    got = read(rules, "新村村到现在都没村医")  # (a new item: the village's 医疗 item is its medicines)
    assert got.intent == "new_issue" and got.village == "新村村" and got.status == "open"


@pytest.mark.parametrize("text, category", [("全县档案问题", "档案"), ("东光镇医疗的问题", "医疗"),
                                            ("东光镇各村问题清单", None)])
def test_a_county_or_township_with_a_category_asks_for_the_list(rules: Parser, text: str, category) -> None:
    got = read(rules, text)
    assert got.intent == "query_area" and got.category == category


def test_a_notice_to_every_village_is_no_query(rules: Parser) -> None:
    assert read(rules, "各村明天把饮水排查表报上来").intent == "unknown"
    assert read(rules, "县里下周来检查，大家把问题清单再过一遍").intent == "unknown"


def test_a_burst_pipe_is_a_problem(rules: Parser) -> None:
    got = read(rules, "东台村自来水管爆了")
    assert got.intent == "report" and got.status == "open"


@pytest.mark.parametrize("said, standard", [
    ("明天克东台村看下水管", "明天去东台村看下水管"),   # 克 before a place: 去 (north-west)
    ("东光镇阿达还有问题", "东光镇哪里还有问题"),
    ("五千克化肥发了", "五千克化肥发了"),               # 千克 stays
])
def test_north_western_words_are_read_as_standard_words(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


def test_muddy_water_is_a_problem(rules: Parser) -> None:
    got = read(rules, "东台村自来水还是浑的")
    assert got.intent == "report" and got.status == "open"


def test_a_person_word_says_who_not_which_item(rules: Parser) -> None:
    # 孙桂芝's one item is 特困供养金未发放 (兜底保障); 特困户 says who she is, 房顶漏雨 is the problem
    got = read(rules, "孙桂芝这个特困户的房顶漏雨")
    assert got.category == "住房" and got.intent == "new_issue" and got.needs_confirmation


@pytest.mark.parametrize("said, standard", [("叶春洋家厝顶漏了", "叶春洋家屋顶漏了"),  # 闽: 厝顶 is 屋顶
                                            ("刚才那条无算", "刚才那条不算"), ("后厝村水通了", "后厝村水通了")])
def test_min_words_are_read_as_standard_words(said: str, standard: str) -> None:
    assert Normaliser().clean(said) == standard


def test_wu_words(rules: Parser) -> None:
    assert Normaliser().clean("东台村水管修好爻") == "东台村水管修好了"  # 瓯语: 爻 is 了
    assert read(rules, "东台村水管还漏伐").intent == "query_area"      # 伐 after any word asks


def test_never_having_the_problem_is_no_problem(rules: Parser) -> None:
    got = read(rules, "东台村自来水这一个月一回都没停过")
    assert got.intent == "report" and got.status == "resolved"


def test_money_moved_to_the_township_is_a_step(rules: Parser) -> None:
    got = read(rules, "李兆满危房改造补贴资金拨到乡财政了")
    assert got.status == "in_progress" and got.needs_confirmation
