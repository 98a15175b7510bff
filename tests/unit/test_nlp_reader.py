"""The second reader: what it sees, and that held-out sets are scored only as they were frozen.
(That training is deterministic: tests/integration/test_nlp_reader_training.py, it trains on the corpus.)"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from nlp.lexicon import load_lexicon
from nlp.parser import Parser
from nlp.reader import SHIPPED_MODEL, StatisticalReader, read_model
from tests.corpus.evaluate import NotFrozen, verify_frozen

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def rules(story_rules: Parser) -> Parser:
    return story_rules


def test_the_reader_sees_names_by_kind_and_no_digits(rules: Parser) -> None:
    text = rules.parse("东台村刘在龙家黄牛补贴12月3日到位了", TODAY).reader_text
    assert text == "ⓋⒽ家黄牛补贴00月0日到位了"


def test_the_shipped_model_reads_a_plain_report_as_a_resolved_write(rules: Parser) -> None:
    reader = StatisticalReader.load(load_lexicon(), SHIPPED_MODEL)
    guess = reader.read(rules.parse("东台村饮水问题已解决", TODAY).reader_text)
    assert (guess.intent, guess.status) == ("write", "resolved")
    assert reader.read(rules.parse("本周到期的有哪些", TODAY).reader_text).intent == "query_due"


def test_a_file_that_is_no_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="不是攻坚通的统计模型文件"):
        read_model(path)


def _frozen_set(folder: Path) -> None:
    folder.mkdir()
    (folder / "ledger.yaml").write_text("townships: {甲镇: [乙村]}\n", encoding="utf-8")
    (folder / "messages.yaml").write_text("[]\n", encoding="utf-8")
    sums = "".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
                   for n in ("ledger.yaml", "messages.yaml"))
    (folder / "SHA256SUMS").write_text(sums, encoding="utf-8")


def test_a_held_out_set_is_scored_only_as_frozen(tmp_path: Path) -> None:
    folder = tmp_path / "h"
    _frozen_set(folder)
    verify_frozen(folder)  # as frozen: accepted
    with (folder / "messages.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# tuned\n")
    with pytest.raises(NotFrozen, match="被改过"):
        verify_frozen(folder)
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(NotFrozen, match="先冻结"):
        verify_frozen(folder)
