"""Reaching Telegram: the proxy carries every request, an unreachable Telegram is said in
Chinese within seconds while start-up keeps retrying, a malformed token is refused at once."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot import main
from cli.check_cmd import check_token
from settings import load_settings
from tests.support.fake_bot_api import TOKEN, FakeUser, StandInEngine, bot_settings, running_bot

REPO_ROOT = Path(__file__).resolve().parents[2]
ALICE = FakeUser(1001, "艾丽")
NOTICE_SECONDS = 10  # the promise: the Chinese line within 10 s of starting
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def via_proxy(settings, fake):
    """``settings`` whose Bot API address goes nowhere, with ``fake`` as the proxy to it."""
    nowhere = f"http://127.0.0.1:{closed_port()}"
    telegram = settings.telegram.model_copy(update={
        "base_url": f"{nowhere}/bot", "base_file_url": f"{nowhere}/file/bot",
        "proxy": f"http://127.0.0.1:{fake.port}",
    })
    return settings.model_copy(update={"telegram": telegram})


async def test_the_proxy_carries_the_api_calls_and_get_updates(fake_bot_api, db_url, tmp_path, database):
    """Telegram's address is unreachable here except through the proxy (the fake server
    answers absolute-form proxy requests): a reply arriving proves both clients use it."""
    settings = via_proxy(bot_settings(fake_bot_api, db_url, tmp_path), fake_bot_api)
    async with running_bot(settings, database, StandInEngine(database)):
        fake_bot_api.send_text(ALICE, "你好")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
    assert reply.text == "收到：你好"
    assert fake_bot_api.calls_of("getUpdates") and fake_bot_api.calls_of("sendMessage")


async def test_check_asks_get_me_through_the_proxy(fake_bot_api, db_url, tmp_path, capsys):
    import asyncio

    settings = via_proxy(bot_settings(fake_bot_api, db_url, tmp_path), fake_bot_api)
    assert await asyncio.to_thread(check_token, settings)
    assert "✅ 令牌有效：@gongjian_test_bot，经代理 http://127.0.0.1:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"HTTPS_PROXY": "http://127.0.0.1:7890"}, "http://127.0.0.1:7890"),
        ({"https_proxy": "socks5://127.0.0.1:1080"}, "socks5://127.0.0.1:1080"),
        ({"HTTPS_PROXY": "http://127.0.0.1:7890", "NO_PROXY": "api.telegram.org"}, None),
        ({"HTTPS_PROXY": "http://127.0.0.1:7890", "TELEGRAM_BASE_URL": "http://10.0.0.5:8081/bot"}, None),
        ({}, None),
    ],
)
def test_https_proxy_from_the_environment_when_the_file_has_none(environ, expected):
    assert load_settings(environ=environ).telegram.proxy == expected


def test_the_files_proxy_wins_over_the_environment(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("telegram:\n  proxy: http://10.1.1.1:3128\n", encoding="utf-8")
    settings = load_settings(config, environ={"HTTPS_PROXY": "http://127.0.0.1:7890"})
    assert settings.telegram.proxy == "http://10.1.1.1:3128"


def test_a_proxy_that_is_no_url_is_a_chinese_configuration_error(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("telegram:\n  proxy: 127.0.0.1:7890\n", encoding="utf-8")
    assert main(["migrate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "telegram.proxy" in err and str(config) in err and "http://127.0.0.1:7890" in err


def test_a_malformed_token_is_refused_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "abc")
    database = tmp_path / "ledger.db"
    assert main(["run", "--db", f"sqlite:///{database}"]) == 2
    err = capsys.readouterr().err
    assert "令牌格式不对" in err and "@BotFather" in err
    assert not database.exists()  # refused before anything was opened


def bot_process(tmp_path: Path, *extra: str) -> subprocess.Popen:
    """``python bot.py run`` whose Bot API address is a closed port, output on one pipe."""
    nowhere = f"http://127.0.0.1:{closed_port()}"
    env = {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": f"{nowhere}/bot",
        "TELEGRAM_BASE_FILE_URL": f"{nowhere}/file/bot",
        "GONGJIAN_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "PYTHONUNBUFFERED": "1",
    })
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "bot.py"), "run", "--db", f"sqlite:///{tmp_path / 'ledger.db'}", *extra],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
    )


def read_lines(process: subprocess.Popen) -> queue.Queue:
    """Every output line of ``process`` on a queue (None at the end), read by a thread."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_notice(lines: queue.Queue, seen: list[str]) -> str:
    """The first line saying Telegram cannot be reached, read within NOTICE_SECONDS."""
    while True:
        try:
            line = lines.get(timeout=NOTICE_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no notice within {NOTICE_SECONDS} s; output so far:\n{''.join(seen)}") from None
        if line is None:
            raise AssertionError(f"bot.py run ended without the notice:\n{''.join(seen)}")
        seen.append(line)
        if "连不上 Telegram" in line:
            return line


def rest_after_sigterm(process: subprocess.Popen, lines: queue.Queue, seen: list[str]) -> int:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    return code


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_run_says_in_chinese_that_telegram_cannot_be_reached_and_keeps_trying(tmp_path, verbose):
    process = bot_process(tmp_path, *(["-v"] if verbose else []))
    seen: list[str] = []
    try:
        lines = read_lines(process)
        notice = wait_for_notice(lines, seen)
        assert "telegram.proxy" in notice and "HTTPS_PROXY" in notice and "未设代理" in notice
        assert "重试" in notice
        assert process.poll() is None  # still trying, as a service should
        code = rest_after_sigterm(process, lines, seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(seen)
    assert code == 0, output  # SIGTERM during the retries is a clean stop
    assert "Traceback" not in output
    assert TOKEN.partition(":")[2] not in output  # the token's secret half, not even at DEBUG
    if not verbose:
        assert "retry" not in output and "INFO alembic" not in output  # no English noise on the terminal


async def test_check_with_v_never_prints_the_token(fake_bot_api, tmp_path):
    import asyncio

    config = tmp_path / "config.yaml"
    config.write_text(f"storage:\n  evidence_dir: {tmp_path / 'evidence'}\n", encoding="utf-8")
    environ = {**os.environ, "TELEGRAM_BOT_TOKEN": fake_bot_api.token, "TELEGRAM_BASE_URL": fake_bot_api.base_url,
               "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    environ.pop("HTTPS_PROXY", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO_ROOT / "bot.py"), "check", "-v", "--config", str(config),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environ, cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert "令牌有效" in text  # it did ask Telegram (the fake) with the token
    secret = fake_bot_api.token.partition(":")[2]
    assert secret not in text and fake_bot_api.token not in text
