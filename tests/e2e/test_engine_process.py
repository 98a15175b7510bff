"""The engine in a process of its own (``telegram.engine_process``, on by default for
``bot.py run``): reports go through it like through the in-process engine, a killed engine
process is replaced without losing or doubling a report, and it ends with the bot."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import func, select

from db.models import IssueEvent
from tests.support.fake_bot_api import FakeUser, bot_settings, child_pids, process_alive, running_bot
from tests.support.proof_support import county_today, prepare_reporting_county, report_text

WAIT = 120.0  # upper bound for "eventually"; never a timing assertion


def engine_processes() -> list[int]:
    """This process's live engine children (``python -c ... child_main``, delivery/pump.py)."""
    found = []
    for pid in child_pids(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"from delivery.pump import child_main" in cmdline and process_alive(pid):
            found.append(pid)
    return found


def changes_from_telegram(database) -> int:
    with database.transaction() as session:
        return session.scalar(
            select(func.count(func.distinct(IssueEvent.change_id))).where(IssueEvent.source == "telegram")
        )


async def report(fake, reporter, k: int, today) -> str:
    """``reporter`` sends their k-th report; return the bot's answer."""
    user = FakeUser(reporter.telegram_id, reporter.name)
    before = len(fake.messages_to(user.id))
    fake.send_text(user, report_text(reporter, k, today))
    return (await fake.wait_for_messages(user.id, before + 1, WAIT))[before].text


async def test_reports_are_parsed_and_applied_in_the_engine_process(fake_bot_api, db_url, database, tmp_path):
    today = county_today()
    reporters = await asyncio.to_thread(prepare_reporting_county, database, users=2, reports_each=2, today=today)
    settings = bot_settings(fake_bot_api, db_url, tmp_path, engine_process=True)
    before = set(engine_processes())
    async with running_bot(settings, database):
        workers = set(engine_processes()) - before
        assert len(workers) == 1  # started (and warmed up) before the bot began polling
        answers = await asyncio.gather(*(report(fake_bot_api, r, k, today) for r in reporters for k in (0,)))
        answers += await asyncio.gather(*(report(fake_bot_api, r, 1, today) for r in reporters))
    assert all(answer.startswith("✅") for answer in answers), answers
    assert changes_from_telegram(database) == 4
    assert not any(map(process_alive, workers))  # stopped with the bot


async def test_a_killed_engine_process_is_replaced_and_no_report_is_lost_or_doubled(
    fake_bot_api, db_url, database, tmp_path
):
    today = county_today()
    [reporter] = await asyncio.to_thread(prepare_reporting_county, database, users=1, reports_each=3, today=today)
    settings = bot_settings(fake_bot_api, db_url, tmp_path, engine_process=True, startup_backoff_seconds=0.05)
    before = set(engine_processes())
    async with running_bot(settings, database):
        first = await report(fake_bot_api, reporter, 0, today)
        [worker] = set(engine_processes()) - before
        os.kill(worker, signal.SIGKILL)
        await fake_bot_api.wait_until(lambda: not process_alive(worker), WAIT)
        second = await report(fake_bot_api, reporter, 1, today)
        third = await report(fake_bot_api, reporter, 2, today)
        replacement = set(engine_processes()) - before
    assert first.startswith("✅") and second.startswith("✅") and third.startswith("✅"), (first, second, third)
    assert replacement and worker not in replacement
    assert changes_from_telegram(database) == 3
