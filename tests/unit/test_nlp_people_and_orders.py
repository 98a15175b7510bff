"""Round 12 (from the development sets): someone the ledger does not have is not the village's
item (东台村刘老三家), a surname with a word of kinship (韦大姐家), 讲 and 据…反映 relay, an
order whatever its verb, 哪里修好了 denies, a matter the rules cannot read after a fact is not
dropped, and a fix carries no deadline. Messages written for these tests over the demo
county's story part; today is Tuesday 2026-12-01."""

from __future__ import annotations

import pytest

from nlp.parser import Parser
from tests.corpus.evaluate import snapshot_from_county_yaml
from tests.support.story_reading import read


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.parametrize("text", ["东台村刘老三家黄牛补贴到位了", "东台村的刘老四家黄牛补贴到位了"])
def test_a_household_the_ledger_does_not_have_is_asked(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.village == "东台村" and got.household is None and got.needs_confirmation
    assert any("台账里没有“刘老" in reason for reason in got.reasons)


@pytest.mark.parametrize("text", ["东台村饮水问题解决了", "东台村村民家饮水问题解决了"])
def test_no_one_in_particular_is_no_stranger(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert not any("这一户" in reason for reason in got.reasons)


@pytest.mark.parametrize("text", ["东台村刘大哥家黄牛补贴到位了", "东台村刘婶家黄牛补贴到位了"])
def test_a_surname_with_a_word_of_kinship_finds_the_household_and_asks(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.household == "刘在龙" and got.needs_confirmation
    assert any("按姓氏" in reason for reason in got.reasons)


@pytest.mark.parametrize("text", [
    "施工队讲东台村水管修好了", "据村干部反映东台村水管修好了", "他打电话来说东台村水管修好了",
])
def test_a_relayed_fix_is_asked(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.status == "resolved" and got.needs_confirmation and "hearsay" in got.flags


def test_speech_is_not_relayed(rules: Parser) -> None:
    got = read(rules, "东台村水管修好了，乡里在宣讲政策")
    assert "hearsay" not in got.flags


@pytest.mark.parametrize("text", ["请东台村尽快把冻裂的管子挖出来", "要求东台村马上把水管子换掉"])
def test_an_order_is_an_order_whatever_its_verb(rules: Parser, text: str) -> None:
    got = read(rules, text)
    assert got.intent == "report" and got.status == "open" and got.needs_confirmation and "order" in got.flags


def test_where_is_it_fixed_denies_the_fix(rules: Parser) -> None:
    got = read(rules, "哪里修好了，东台村水管还是冻着的")
    assert got.intent == "report" and got.status == "open" and got.needs_confirmation


def test_a_tag_question_alone_stays_a_question(rules: Parser) -> None:
    assert read(rules, "李兆满家的房子不是危房了吗").intent not in ("report", "new_issue")


def test_a_later_matter_the_rules_cannot_read_is_not_dropped(rules: Parser) -> None:
    got = read(rules, "汇报本周：东台村饮水问题已解决；李兆满家慢病卡的材料已送县卫健局，预计下周出结果")
    assert got.village == "东台村" and got.status == "resolved"
    assert got.needs_confirmation and "unread" in got.flags


def test_a_fix_carries_no_deadline(rules: Parser) -> None:
    got = read(rules, "李兆满家慢病卡这个月办好了")
    assert got.status == "resolved" and got.deadline is None


def test_another_programme_of_the_category_is_asked_as_a_new_item(rules: Parser) -> None:
    """兜底保障's programmes are different things: 临时救助 is not the item 低保未纳入."""
    snapshot = snapshot_from_county_yaml()
    item = next(i for i in snapshot.issues if i.category == "兜底保障" and "低保" in i.description
                and i.status != "已销号" and i.household_code)
    head = next(h.head for h in snapshot.households if h.code == item.household_code)
    got = read(rules, f"{item.village}{head}家临时救助没领到")
    assert got.intent == "new_issue" and got.needs_confirmation


def test_a_households_own_matter_after_the_villages_is_another_fact(rules: Parser) -> None:
    """Round 17 (h18 郓阳县): 卫生室药配齐了；王翠芝报销还木结 had closed the household's item too."""
    got = read(rules, "新村村卫生室药配齐了；赵连生孩子辍学的事还木有解决")
    assert got.needs_confirmation and "several" in got.flags
    assert [(f.household, f.status) for f in got.facts] == [(None, "resolved"), ("赵连生", "open")]
