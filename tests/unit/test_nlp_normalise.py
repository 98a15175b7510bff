"""Normalisation: one script, one width, no decoration; numerals rewritten outside names only."""

from __future__ import annotations

import pytest

from nlp.normalise import Normaliser
from nlp.numerals import parse_number


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    return Normaliser()


@pytest.mark.parametrize(("raw", "clean"), [
    ("東台村飲水問題已解決", "东台村饮水问题已解决"),
    ("李兆滿家房子住進去了", "李兆满家房子住进去了"),
    ("ＺＧ－０００３已整改", "zg-0003已整改"),
    ("１２月１５日前", "12月15日前"),
    ("东抬村水的问题搞定了👍", "东抬村水的问题搞定了"),
    ("东台村饮水✅", "东台村饮水已完成"),
    ("【东台村】饮水问题已解决！！！", "东台村,饮水问题已解决!"),
    ("东台 水管已换新 全村通水", "东台,水管已换新,全村通水"),
    ("东台村饮水问题解决了吗？？", "东台村饮水问题解决了吗?"),
    ("12.20前", "12.20前"),
    ("[强][强]修好了", "修好了"),
    ("  \u3000  ", ""),
])
def test_clean(normaliser: Normaliser, raw: str, clean: str) -> None:
    assert normaliser.clean(raw) == clean


def test_numerals_are_rewritten_only_outside_protected_names(normaliser: Normaliser) -> None:
    text = "三合村还有两户没通，十二月十五日前完成，王二小家三道村五七村"
    protected = [(text.index(name), text.index(name) + len(name)) for name in ("三合村", "王二小", "三道村", "五七村")]
    converted, moved = normaliser.numerals(text, protected)
    assert converted == "三合村还有2户没通，12月15日前完成，王二小家三道村五七村"
    assert [converted[s:e] for s, e in moved] == ["三合村", "王二小", "三道村", "五七村"]


def test_uncounted_numerals_stay(normaliser: Normaliser) -> None:
    converted, _ = normaliser.numerals("一直没修好，一是水，二是路", [])
    assert converted == "一直没修好，一是水，二是路"


@pytest.mark.parametrize(("text", "value"), [
    ("三", 3), ("十", 10), ("十二", 12), ("二十五", 25), ("两", 2), ("一百零五", 105),
    ("二〇二六", 2026), ("12", 12), ("１２", 12), ("一千二百", 1200), ("两三", None), ("三五十", None),
    ("村", None), ("", None),
])
def test_parse_number(text: str, value: int | None) -> None:
    assert parse_number(text) == value
