"""``python bot.py check``: each failure with its reason, provisional holidays, webhook
settings, and an empty ledger or user table, as a county IT officer reads them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot import main
from cli.check_cmd import check_holidays, check_webhook
from settings import load_settings
from tests.support.backends import BACKENDS, PG_ADMIN_URL

ENVIRONMENT = (
    "DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "TELEGRAM_BASE_FILE_URL", "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET", "GONGJIAN_TIMEZONE", "GONGJIAN_EVIDENCE_DIR", "GONGJIAN_CONFIG", "HTTPS_PROXY",
    "https_proxy",
)


@pytest.fixture(autouse=True)
def no_outside_settings(monkeypatch):
    """Only what a test writes in its config file counts."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"storage:\n  evidence_dir: {tmp_path / 'evidence'}\n{text}", encoding="utf-8")
    return path


def check(capsys, tmp_path: Path, url: str, text: str = "") -> tuple[int, list[str]]:
    code = main(["check", "--config", str(config(tmp_path, text)), "--db", url])
    return code, capsys.readouterr().out.splitlines()


def line_with(lines: list[str], words: str) -> str:
    found = [line for line in lines if words in line]
    assert found, "\n".join(lines)
    return found[0]


def test_postgresql_that_is_not_running_is_named_with_its_own_reason(tmp_path, capsys):
    code, lines = check(capsys, tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/gongjian")
    assert code == 1
    line = line_with(lines, "数据库连不上")
    assert line.startswith("❌") and "Connection refused" in line and "PostgreSQL 没有运行" in line
    assert "OperationalError" not in line


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs the PostgreSQL server")
def test_a_postgresql_database_that_does_not_exist_says_how_to_create_it(tmp_path, capsys):
    name = f"gj_missing_{uuid.uuid4().hex[:8]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    code, lines = check(capsys, tmp_path, url)
    assert code == 1
    line = line_with(lines, "数据库连不上")
    assert f'database "{name}" does not exist' in line and f"createdb -U postgres {name}" in line


def test_an_unknown_database_url_is_a_reason_not_a_traceback(tmp_path, capsys):
    code, lines = check(capsys, tmp_path, "mysqlx://root@localhost/gongjian")
    assert code == 1
    assert line_with(lines, "数据库地址无法识别").startswith("❌")


def test_an_empty_ledger_and_no_users_are_warned_with_what_to_do(db_url, tmp_path, capsys):
    _code, lines = check(capsys, tmp_path, db_url)
    assert line_with(lines, "台账是空的").startswith("⚠️")
    assert "python bot.py import" in line_with(lines, "台账是空的")
    users = line_with(lines, "还没有用户")
    assert users.startswith("⚠️") and "python bot.py init" in users and "invite --role admin" in users


def test_a_ledger_with_users_is_counted(demo_database, db_url, tmp_path, capsys):
    _code, lines = check(capsys, tmp_path, db_url)
    assert line_with(lines, "台账：").startswith("✅")
    assert line_with(lines, "用户：").startswith("✅")
    assert not any("台账是空的" in line or "还没有用户" in line for line in lines)


def test_holidays_known_only_from_config_yaml_are_flagged_provisional(tmp_path, capsys):
    settings = load_settings(config(tmp_path, "calendar:\n  holidays: [2031-01-01]\n  workdays: []\n"), environ={})
    assert not check_holidays(settings, this_year=2030)  # 2030: nothing at all
    lines = capsys.readouterr().out.splitlines()
    assert line_with(lines, "2030 年节假日数据").startswith("❌")
    provisional = line_with(lines, "2031 年节假日数据")
    assert provisional.startswith("⚠️") and "预排" in provisional and "国务院" in provisional


def test_the_shipped_config_flags_its_next_year_as_provisional(capsys):
    """config.yaml carries 2027 ahead of the State Council: check must not call it settled."""
    settings = load_settings(environ={})
    assert check_holidays(settings, this_year=2026)
    assert line_with(capsys.readouterr().out.splitlines(), "2027 年节假日数据").startswith("⚠️")


@pytest.mark.parametrize(
    ("webhook", "complaint"),
    [
        ("url: http://bot.example.cn/hook\n    secret_token: abc123", "必须是 https://"),
        ("url: https://bot.example.cn:9000/hook\n    secret_token: abc123", "443、80、88 或 8443"),
        ("url: https://bot.example.cn/hook", "未设 telegram.webhook.secret_token"),
        ("url: https://bot.example.cn/hook\n    secret_token: 'has space!'", "只能由字母、数字、_ 和 - 组成"),
    ],
)
def test_webhook_problems_are_named(tmp_path, capsys, webhook, complaint):
    settings = load_settings(config(tmp_path, f"telegram:\n  webhook:\n    {webhook}\n"), environ={})
    assert not check_webhook(settings)
    assert line_with(capsys.readouterr().out.splitlines(), complaint).startswith("❌")


def test_a_sound_webhook_passes_and_long_polling_is_noted(tmp_path, capsys):
    good = "telegram:\n  webhook:\n    url: https://bot.example.cn/hook\n    port: 8443\n    secret_token: s3cret-Token_1\n"
    assert check_webhook(load_settings(config(tmp_path, good), environ={}))
    assert line_with(capsys.readouterr().out.splitlines(), "webhook：https://bot.example.cn/hook").startswith("✅")
    assert check_webhook(load_settings(config(tmp_path), environ={}))
    assert line_with(capsys.readouterr().out.splitlines(), "长轮询").startswith("ℹ️")


def test_a_malformed_token_fails_without_asking_telegram(db_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "abc")
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:1/bot")  # would fail differently if asked
    code, lines = check(capsys, tmp_path, db_url)
    assert code == 1
    assert line_with(lines, "令牌格式不对").startswith("❌")


def test_any_command_on_a_database_that_is_down_gives_the_reason(tmp_path, capsys):
    code = main(["users", "--config", str(config(tmp_path)), "--db", "postgresql+psycopg://postgres@127.0.0.1:1/gongjian"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("数据库出错：") and "Connection refused" in err and "python bot.py check" in err
