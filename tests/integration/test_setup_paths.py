"""Paths resolve against the configuration file, never the current folder: a bot started
from anywhere (a systemd unit without WorkingDirectory, a cron job) finds its ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ledger_files import sample_sheets, write_xlsx
from settings import load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _county(tmp_path: Path, config_text: str | None = None) -> Path:
    """A county folder holding a copy of the shipped config.yaml (or ``config_text``)."""
    folder = tmp_path / "county"
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(config_text or (REPO_ROOT / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return config


def test_database_and_storage_paths_in_the_file_are_beside_the_file(tmp_path, monkeypatch):
    config = _county(tmp_path)
    monkeypatch.chdir(tmp_path)

    settings = load_settings(config, environ={})

    folder = config.parent
    assert settings.database.url == f"sqlite:///{folder / 'gongjian.db'}"
    assert settings.storage.evidence_dir == str(folder / "evidence")
    assert settings.storage.reader_model == str(folder / "reader_model.json.gz")
    assert settings.config_path == str(config)


def test_defaults_missing_from_the_file_are_beside_the_file_too(tmp_path, monkeypatch):
    config = _county(tmp_path, "county:\n  name: 安河县\n")
    monkeypatch.chdir(tmp_path)

    settings = load_settings(config, environ={})

    assert settings.database.url == f"sqlite:///{config.parent / 'gongjian.db'}"
    assert Path(settings.storage.evidence_dir) == config.parent / "evidence"


def test_a_relative_config_path_gives_the_same_absolute_paths(tmp_path, monkeypatch):
    config = _county(tmp_path)
    monkeypatch.chdir(config.parent)

    settings = load_settings("config.yaml", environ={})

    assert settings.database.url == f"sqlite:///{config.parent / 'gongjian.db'}"
    assert settings.path_of("backups") == config.parent / "backups"


def test_paths_typed_on_the_command_line_or_in_the_environment_are_from_the_current_folder(tmp_path, monkeypatch):
    config = _county(tmp_path)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)

    settings = load_settings(
        config, database_url="sqlite:///mine.db", environ={"GONGJIAN_EVIDENCE_DIR": "photos"}
    )
    from_env = load_settings(config, environ={"DATABASE_URL": "sqlite:///env.db"})

    assert settings.database.url == f"sqlite:///{here / 'mine.db'}"
    assert settings.storage.evidence_dir == str(here / "photos")
    assert from_env.database.url == f"sqlite:///{here / 'env.db'}"


@pytest.mark.parametrize("url", [
    "postgresql://gongjian:secret@127.0.0.1:5432/gongjian",
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:////srv/gongjian/gongjian.db",
])
def test_other_urls_are_left_as_they_are(tmp_path, url):
    assert load_settings(_county(tmp_path), database_url=url, environ={}).database.url == url


def _bot(*args: str, cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """``python bot.py ARGS`` from ``cwd``, configured as a service would be (GONGJIAN_CONFIG)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GONGJIAN_EVIDENCE_DIR")}
    env.update(GONGJIAN_CONFIG=str(config), TELEGRAM_BOT_TOKEN="")
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "bot.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_bot_run_from_another_folder_finds_the_configured_ledger(tmp_path):
    config = _county(tmp_path)
    ledger = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    imported = _bot("import", str(ledger), cwd=config.parent, config=config)
    again = _bot("import", str(ledger), cwd=elsewhere, config=config)
    parsed = _bot("parse", "--today", "2026-12-01", "东台村饮水问题已解决", cwd=elsewhere, config=config)

    assert imported.returncode == 0, imported.stderr
    assert (config.parent / "gongjian.db").is_file()
    assert again.returncode == 0, again.stderr
    assert "问题：新增 0，更新 0，不变 5" in again.stdout
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout.splitlines()[0])["village"] == "东台村"
    assert not list(elsewhere.iterdir())  # no stray empty gongjian.db where the command ran
