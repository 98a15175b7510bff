"""A held-out set scored alone shows figures only, and only once it is frozen (tests/corpus/evaluate.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.corpus import evaluate

LEDGER = """county: 试验县
townships:
  青山镇: [石门村, 河口村]
households:
  - {code: 510001-0001, township: 青山镇, village: 石门村, head: 罗德明}
issues:
  - {code: T-1, township: 青山镇, village: 石门村, category: 饮水, description: 水管冻裂, status: 未整改}
"""
MESSAGES = """- text: 石门村水管修好了
  expect: {intent: report, township: 青山镇, village: 石门村, household: null, category: 饮水, status: resolved, deadline: null, confirm: false}
- text: 河口村饮水问题解决了吗
  expect: {intent: unknown, township: null, village: null, household: null, category: null, status: null, deadline: null, confirm: false}
"""


@pytest.fixture
def held_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "heldout"
    folder = root / "h99_shimen"
    folder.mkdir(parents=True)
    (folder / "ledger.yaml").write_text(LEDGER, encoding="utf-8")
    (folder / "messages.yaml").write_text(MESSAGES, encoding="utf-8")
    monkeypatch.setattr(evaluate, "HELDOUT_DIR", root)
    return folder


def freeze(folder: Path) -> None:
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}" for n in ("ledger.yaml", "messages.yaml")]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def score(folder: Path, *extra: str) -> list[str]:
    return ["--corpus", str(folder / "messages.yaml"), "--ledger", str(folder / "ledger.yaml"), *extra]


def test_an_unfrozen_held_out_set_is_refused(held_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(score(held_out)) == 2
    assert "SHA256SUMS" in capsys.readouterr().err


def test_a_frozen_held_out_set_shows_figures_but_no_text(held_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    freeze(held_out)
    evaluate.main(score(held_out, "--errors"))
    out = capsys.readouterr().out
    assert "语料 2 条" in out and "全部字段正确" in out
    assert "河口村" not in out and "石门村" not in out  # the mislabelled item's text is not shown
    evaluate.main(score(held_out, "--heldout-errors", "--errors"))
    assert "河口村饮水问题解决了吗" in capsys.readouterr().out  # asked for: shown


def test_a_held_out_set_reached_through_a_link_or_copied_elsewhere_shows_no_text(
        held_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    freeze(held_out)
    link = tmp_path / "elsewhere"
    link.symlink_to(held_out)
    copy = tmp_path / "copy.yaml"
    copy.write_bytes((held_out / "messages.yaml").read_bytes())
    for corpus in (link / "messages.yaml", copy):
        evaluate.main(["--corpus", str(corpus), "--ledger", str(held_out / "ledger.yaml"), "--errors"])
        out = capsys.readouterr().out
        assert "语料 2 条" in out and "河口村" not in out
