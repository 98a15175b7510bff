"""Training the second reader on the labelled corpus is deterministic: the same examples give
the same model file, byte for byte. (What the reader sees: tests/unit/test_nlp_reader.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.lexicon import load_lexicon
from nlp.parser import Parser
from nlp.reader import StatisticalReader, read_model, write_model
from nlp.reader_training import example_of, train
from tests.corpus.evaluate import CORPUS, load_corpus


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


@pytest.mark.slow  # trains the reader twice (about 6 s)
def test_training_twice_gives_the_same_model_file(rules: Parser, tmp_path: Path) -> None:
    items = load_corpus(CORPUS)[::3]  # every intent and status is among them
    examples = [example_of(rules.parse(i.text, i.today, i.scope).reader_text, i.expect["intent"],
                           i.expect.get("status")) for i in items]
    base = StatisticalReader.untrained(load_lexicon())
    first, second = train(examples, base), train(examples, base)
    write_model(first, tmp_path / "a.json.gz")
    write_model(second, tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert read_model(tmp_path / "a.json.gz") == first
