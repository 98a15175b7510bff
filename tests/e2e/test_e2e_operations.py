"""Operating the bot: ``python bot.py run`` as a real process (start-up, logs, SIGTERM,
kill -9 mid-stream), webhook mode, ``check`` and ``backup``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import sqlite3
import sys
import threading
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from db.models import AuditLog, InboxUpdate, Issue, IssueEvent, User
from services import inbox
from services.demo import build_demo
from tests.support.fake_bot_api import (
    REPO_ROOT,
    BotProcess,
    FakeBotApi,
    FakeUser,
    StandInEngine,
    bot_settings,
    running_bot,
)

ADMIN = FakeUser(7001, "管理员")
VILLAGE = FakeUser(7003, "工作队")
ACCOUNTS = {"演示管理员": ADMIN, "东台村工作队": VILLAGE}


async def bot_command(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``python bot.py ARGS`` without blocking the event loop (the fake server lives there)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO_ROOT / "bot.py"), *args,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode("utf-8", errors="replace")


def fake_env(fake: FakeBotApi, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": token or fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "GONGJIAN_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }


@pytest.fixture
def demo(database) -> None:
    build_demo(database, dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date())
    with database.transaction() as session:
        for user in session.scalars(select(User)):
            if user.name in ACCOUNTS:
                user.telegram_id = ACCOUNTS[user.name].id


# -- python bot.py run -----------------------------------------------------------------------


async def test_run_without_a_token_points_to_the_console(tmp_path):
    env = {"TELEGRAM_BOT_TOKEN": "", "GONGJIAN_CONFIG": str(REPO_ROOT / "config.yaml")}
    code, output = await bot_command("run", "--db", f"sqlite:///{tmp_path / 'x.db'}", env=env)
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in output and "python bot.py console" in output


async def test_run_with_a_rejected_token_says_so_without_printing_it(fake_bot_api, db_url, tmp_path):
    wrong = "111111:wrong-token-never-shown-by-the-bot"  # well-formed: Telegram itself rejects it
    code, output = await bot_command("run", "--db", db_url, env=fake_env(fake_bot_api, tmp_path, wrong))
    assert code == 2
    assert "令牌" in output and wrong not in output and "wrong-token" not in output


async def test_the_bot_process_answers_logs_one_line_per_update_and_stops_on_sigterm(
    fake_bot_api, db_url, database, demo, tmp_path
):
    bot = BotProcess(fake_bot_api, db_url, tmp_path)
    bot.start()
    try:
        await bot.wait_polling()
        update_id = fake_bot_api.send_text(VILLAGE, "东台村饮水问题已解决")
        [reply] = await fake_bot_api.wait_for_replies(VILLAGE.id, 1, timeout=120)
    finally:
        code = await bot.terminate()
    assert code == 0
    assert reply.text.startswith("✅")
    log = bot.log
    assert fake_bot_api.token not in log and "东台村" not in log and "工作队" not in log
    assert len([line for line in log.splitlines() if f"update={update_id} " in line and "outcome=" in line]) == 1


@pytest.mark.slow
async def test_kill_9_mid_stream_loses_nothing_and_applies_nothing_twice(fake_bot_api, db_url, database, demo, tmp_path):
    """Reports from two cadres; the process is killed with SIGKILL twice while working."""
    with database.transaction() as session:
        open_issues = session.scalars(
            select(Issue).where(Issue.status == "未整改", Issue.household_id.is_(None)).order_by(Issue.code)
        ).all()
        seen, texts = set(), []
        for item in open_issues:
            key = (item.village_id, item.category)
            if key not in seen:
                seen.add(key)
                texts.append(f"{item.village.township.name}{item.village.name}{item.category}问题整改中")
    texts = texts[:40]
    sent = [fake_bot_api.send_text(ADMIN, text) for text in texts]
    sent += [fake_bot_api.send_text(VILLAGE, text) for text in ("东台村情况", "/me", "本周到期的有哪些")]

    bot = BotProcess(fake_bot_api, db_url, tmp_path)
    for kill_after in (len(texts) // 4, len(texts) // 2):
        bot.start()
        await bot.wait_polling()
        await fake_bot_api.wait_until(lambda: len(fake_bot_api.messages_to(ADMIN.id)) >= kill_after, 180)
        bot.kill()
    bot.start()
    await bot.wait_polling()

    def all_finished() -> bool:
        return all((entry := inbox.load(database, u)) is not None and entry.done and entry.replied for u in sent)

    await fake_bot_api.wait_until(lambda: all_finished(), 300)
    assert await bot.terminate() == 0

    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboxUpdate)) == len(sent)
        changes_per_message = session.execute(
            select(IssueEvent.message_id, func.count(func.distinct(IssueEvent.change_id)))
            .where(IssueEvent.source == "telegram")
            .group_by(IssueEvent.message_id)
        ).all()
        applied = session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.outcome == "applied"))
    assert all(count == 1 for _, count in changes_per_message)  # nothing applied twice
    assert len(changes_per_message) == applied and applied > 0
    assert len(fake_bot_api.messages_to(ADMIN.id)) >= len(texts)  # every report answered
    assert len(fake_bot_api.messages_to(VILLAGE.id)) >= 3


# -- webhook -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_answers_200_only_for_journaled_updates(fake_bot_api, db_url, database, tmp_path):
    port = free_port()
    settings = bot_settings(fake_bot_api, db_url, tmp_path)
    webhook = settings.telegram.webhook.model_copy(
        update={"url": "https://bot.example.org/tg/hook", "listen": "127.0.0.1", "port": port, "secret_token": "s3cret"}
    )
    settings = settings.model_copy(update={"telegram": settings.telegram.model_copy(update={"webhook": webhook})})
    engine = StandInEngine(database)
    update = {
        "update_id": 555,
        "message": {"message_id": 1, "date": 0, "chat": {"id": ADMIN.id, "type": "private"},
                    "from": ADMIN.to_api(), "text": "你好"},
    }
    async with running_bot(settings, database, engine):
        async with aiohttp.ClientSession() as client:
            url = f"http://127.0.0.1:{port}/tg/hook"
            async with client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as bad:
                assert bad.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            async with client.post(url, json=update, headers=headers) as good:
                assert good.status == 200
                assert inbox.load(database, 555) is not None  # journaled before the 200
            async with client.post(url, json=update, headers=headers) as again:  # Telegram retries
                assert again.status == 200
        [reply] = await fake_bot_api.wait_for_replies(ADMIN.id, 1)
    assert reply.text == "收到：你好"
    assert [c.params["url"] for c in fake_bot_api.calls_of("setWebhook")] == ["https://bot.example.org/tg/hook"]
    assert fake_bot_api.calls_of("setWebhook")[0].params["secret_token"] == "s3cret"
    assert fake_bot_api.calls_of("getUpdates") == []
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1  # handled once


# -- python bot.py check / backup --------------------------------------------------------------


async def test_check_passes_on_a_ready_installation(fake_bot_api, db_url, tmp_path):
    code, output = await bot_command("check", "--db", db_url, env=fake_env(fake_bot_api, tmp_path))
    assert code == 0, output
    assert "❌" not in output
    assert "令牌有效：@gongjian_test_bot" in output
    this_year = dt.date.today().year
    assert f"{this_year} 年节假日数据" in output and f"{this_year + 1} 年节假日数据" in output


async def test_check_fails_on_a_rejected_token_and_a_missing_database(fake_bot_api, tmp_path):
    wrong = "111111:AAE-rejected-token-of-the-right-form"  # well-formed, unknown to Telegram
    code, output = await bot_command(
        "check", "--db", f"sqlite:///{tmp_path / 'missing.db'}", env=fake_env(fake_bot_api, tmp_path, wrong)
    )
    assert code == 1
    assert "❌ 数据库文件不存在" in output and "❌ Telegram 拒绝了这个令牌" in output
    assert wrong not in output
    assert not (tmp_path / "missing.db").exists()  # check creates nothing


async def test_backup_copies_a_sqlite_ledger_while_it_is_written(db_url, database, tmp_path):
    if make_url(db_url).get_backend_name() != "sqlite":
        code, output = await bot_command("backup", str(tmp_path / "out.db"), "--db", db_url)
        assert code != 0 and "pg_dump" in output
        return
    stop = threading.Event()

    def keep_writing() -> None:  # the running bot, as far as the database can tell
        while not stop.is_set():
            with database.transaction() as session:
                session.add(AuditLog(actor="bot", action="tick", detail={}))

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        out = tmp_path / "backup.db"
        code, output = await bot_command("backup", str(out), "--db", db_url)
    finally:
        stop.set()
        writer.join()
    assert code == 0, output
    copy = sqlite3.connect(out)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copied = copy.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        copy.close()
    assert copied > 0
    assert not Path(f"{out}-wal").exists()  # a single, standalone file
    code, output = await bot_command("backup", str(out), "--db", db_url)
    assert code != 0 and "--force" in output  # an existing backup is not overwritten silently


async def test_json_lines_of_inbox_payloads_round_trip(fake_bot_api, db_url, database, tmp_path):
    """What the poller journals (Update.to_dict) is what the pump rebuilds (Update.de_json)."""
    engine = StandInEngine(database)
    async with running_bot(bot_settings(fake_bot_api, db_url, tmp_path), database, engine):
        update_id = fake_bot_api.send_text(ADMIN, "/status@gongjian_test_bot 东台村")
        await fake_bot_api.wait_for_replies(ADMIN.id, 1)
    stored = inbox.load(database, update_id).payload
    assert json.loads(json.dumps(stored)) == stored
    assert stored["message"]["text"] == "/status@gongjian_test_bot 东台村"
    assert engine.seen[0].text == "/status 东台村"
