"""The parser against the labelled corpus (tests/corpus/messages.yaml), on the demo county.

Goals (issue 3): every field at least 95 % right, at least 85 % of messages right in every
field, no confident wrong write, at most 10 % unnecessary confirmations.
"""

from __future__ import annotations

import pytest

from nlp.parser import Parser
from tests.corpus.evaluate import (
    CORPUS, FIELDS, GOALS, Report, default_calendar, demo_snapshot, evaluate, load_corpus,
)

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="tests/corpus/messages.yaml not written yet")


@pytest.fixture(scope="module")
def report() -> Report:
    parser = Parser(demo_snapshot(), default_calendar())
    return evaluate(parser, load_corpus())


def test_corpus_is_large_enough(report: Report) -> None:
    assert report.total >= 300


@pytest.mark.parametrize("name", FIELDS)
def test_every_field_is_mostly_right(report: Report, name: str) -> None:
    wrong = [(o.item.text, o.item.expect.get(name), o.got.get(name))
             for o in report.outcomes if name in o.wrong_fields]
    assert report.field_accuracy(name) >= GOALS["field"], wrong[:20]


def test_most_messages_are_right_in_every_field(report: Report) -> None:
    assert report.all_fields >= GOALS["all_fields"]


def test_no_confident_wrong_write(report: Report) -> None:
    assert [(o.item.text, o.got) for o in report.confident_wrong_writes] == []


def test_few_unnecessary_confirmations(report: Report) -> None:
    texts = [o.item.text for o in report.unnecessary_confirmations]
    assert report.unnecessary_share <= GOALS["unnecessary_confirmations"], texts
