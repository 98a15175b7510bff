"""Round 19: words of closed classes are known whole, whatever the region, and a particle the
rules have not met after "done" is asked. Negators (唔, 伓, 莫 …), question endings (修好未, 修好伐,
通了咩), hedges (怕是, 估摸, 恐怕 …) and ways of relaying (村长话…, …村长说的) are short lists a
region adds to seldom; an unknown particle right after a completion (修好咗, 修好了噻) may ask as
well as tell. Over the demo county's story part, read by the rules alone."""

from __future__ import annotations

import pytest

from nlp.parser import Parser
from tests.support.story_reading import read


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.parametrize("negator", list("唔伓呣毋袂莫覅弗"))
def test_every_regions_not_before_a_completion_is_no_completion(rules: Parser, negator: str) -> None:
    got = read(rules, f"东台村饮水问题{negator}解决")
    assert got.intent == "report" and got.status == "open"


def test_a_surname_that_is_also_a_negator_stays_a_name(rules: Parser) -> None:
    got = read(rules, "东台村水管修好了，莫书记去看过了")
    assert got.status == "resolved"


@pytest.mark.parametrize("text", [
    "东台村水管修好未",       # 粤 / 闽 / 客: fixed yet?
    "东台村水管修好了无",     # 闽
    "东台村水管修好了伐",     # 吴
    "东台村水管修好伐",
    "东台村水通了咩",         # 粤
])
def test_other_regions_question_endings_ask(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.intent == "query_area" and got.village == "东台村"


def test_a_cut_tree_is_no_question(rules: Parser) -> None:
    assert read(rules, "东台村的树被砍伐").intent == "unknown"


@pytest.mark.parametrize("text, particle", [
    ("东台村水管修好了啵", "啵"),
    ("东台村水管修好了噻", "噻"),
    ("东台村水管修好啰", "啰"),
    ("李兆满家危房改造完工了嘎", "嘎"),
])
def test_an_unknown_particle_after_done_is_asked(rules: Parser, text: str, particle: str) -> None:
    got = read(rules, text)
    assert got.intent == "report" and got.status == "resolved"
    assert got.needs_confirmation and "particle" in got.flags
    assert any(particle in reason for reason in got.reasons)


@pytest.mark.parametrize("text", ["东台村水管修好了啦", "东台村水管修好了哈", "东台村水管修好了呀"])
def test_the_particles_every_region_shares_tell(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "resolved" and not got.needs_confirmation


def test_a_word_after_a_problem_is_no_particle(rules: Parser) -> None:
    got = read(rules, "东台村三天没水吃了")  # 吃 is written with 口 but follows a problem
    assert "particle" not in got.flags


@pytest.mark.parametrize("hedge", ["好似", "怕是", "估摸", "约莫", "想必", "大约", "恐怕", "说不定"])
def test_every_regions_probably_is_a_hedge(rules: Parser, hedge: str) -> None:
    got = read(rules, f"东台村水管{hedge}修好了")
    assert got.status == "resolved" and got.needs_confirmation and "hedge" in got.flags


@pytest.mark.parametrize("text", ["村长话东台村水通了", "听闻东台村水管修好了", "东台村水通了，村长说的"])
def test_relayed_reports_are_asked(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "resolved" and got.needs_confirmation and "hearsay" in got.flags


@pytest.mark.parametrize("text", ["东台村水通了，我说的", "东台村水通了 打电话问过了"])
def test_the_speakers_own_word_is_no_hearsay(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "resolved" and not got.needs_confirmation


def test_if_is_no_relaying(rules: Parser) -> None:
    assert read(rules, "赵德胜家房子完工的话记得拍照留存").intent == "unknown"  # 的话: if, not 说



def test_v_le_not_v_asks(rules: Parser) -> None:
    assert read(rules, "东台村水管通了没通").intent == "query_area"


@pytest.mark.parametrize("text", ["李兆满家房子可修好了", "东台村路灯可都亮了"])
def test_k_before_the_verb_may_ask(rules: Parser, text: str) -> None:
    got = read(rules, text)  # 江淮 / 中原: 可修好了 = 修好了吗; elsewhere "at last"
    assert got.needs_confirmation and "ask_or_tell" in got.flags


def test_can_is_no_question(rules: Parser) -> None:
    assert "ask_or_tell" not in read(rules, "东台村水管下周就可修好").flags


def test_a_given_name_right_after_the_village_finds_the_household(rules: Parser) -> None:
    got = read(rules, "天平村兆满危房改造完工了")  # 李兆满's given name
    assert got.household == "李兆满" and got.needs_confirmation
