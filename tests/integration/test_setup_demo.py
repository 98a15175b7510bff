"""The demo lives in its own database (demo.db beside the configuration file) and never
touches the county's ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import bot

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_builds_demo_db_beside_the_config_and_leaves_the_county_database_alone(tmp_path, monkeypatch, capsys):
    config = tmp_path / "county" / "config.yaml"
    config.parent.mkdir()
    config.write_text((REPO_ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "stdin", None)  # no chat: the demo says how to start one
    assert bot.main(["init", "--config", str(config)]) == 0
    county_db = config.parent / "gongjian.db"
    before = county_db.read_bytes()
    capsys.readouterr()

    assert bot.main(["demo", "--config", str(config)]) == 0

    out = capsys.readouterr().out
    assert (config.parent / "demo.db").is_file()
    assert str(config.parent / "demo.db") in out and "python bot.py demo" in out
    assert county_db.read_bytes() == before
    assert not list(elsewhere.iterdir())
