"""Benchmark: the whole bot against python-telegram-bot's plain echo bot, side by side,
and the bot's memory at idle.

Both bots run as child processes (so RSS and CPU are theirs; the bot's include its
engine process, summed) against the fake Bot API server (tests/support/fake_bot_api.py) on
loopback, in this process. N updates (2,000; --quick: 1,000) from 50 registered village
cadres are fed; throughput is counted from the first getUpdates that returns updates to
the last answer sent.

- echo bot: bench/echo_bot.py, PTB's defaults, text in -> the same text out.
- the bot: ``python bot.py run``'s wiring (durable inbox, group commit, the engine in a
  process of its own as config.yaml sets it) with Telegram's 30 messages/s limit lifted
  (AIORateLimiter(overall_max_rate=0)), as the echo bot has none; every update is a real status report the engine parses,
  applies to the ledger as one change and answers (tests/support/proof_support.py). The applied
  changes are counted afterwards.

The machine's speed drifts, so every bot run is paired with an echo run just before it,
ROUNDS times, and the median ratio is printed with its range.

RSS at idle: the bot on the demo county (plus the 50 cadres), and on a county-size
ledger (300 villages, 30,000 households, 10,000 issues: bench/bench_import.py's
generator). Goal: ratio bot/echo >= 0.5 on SQLite and PostgreSQL, RSS <= 250 MB.

    python bench/bench_throughput.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS = 50
FULL_UPDATES, QUICK_UPDATES = 2000, 1000  # a burst of 500 lasts under two seconds: more start than pace
ROUNDS = 3  # echo/bot pairs per backend; the median ratio is reported
COUNTY = (300, 30_000, 10_000)  # villages, households, issues
RATIO_GOAL = 0.5
RSS_GOAL_MB = 250
WAIT_SECONDS = 600.0
SERVE_BOT = "--serve-bot"  # this script, run as the bot child process


# -- the fake server, with the two instants that matter -------------------------------------


def timed_fake_api():
    """A FakeBotApi that notes when updates were first handed out and when each answer left."""
    from tests.support.fake_bot_api import FakeBotApi

    class TimedFakeBotApi(FakeBotApi):
        def __init__(self) -> None:
            super().__init__()
            self.first_batch_at: float | None = None
            self.polls = 0
            self.answers: list[float] = []  # when each answer (not a reminder) was sent
            self.answer_prefix: str | None = None

        async def _m_getUpdates(self, params, files):
            self.polls += 1
            batch = await super()._m_getUpdates(params, files)
            if batch and self.first_batch_at is None:
                self.first_batch_at = time.perf_counter()
            return batch

        async def _m_sendMessage(self, params, files):
            result = await super()._m_sendMessage(params, files)
            if self.answer_prefix is None or str(params.get("text", "")).startswith(self.answer_prefix):
                self.answers.append(time.perf_counter())
            return result

    return TimedFakeBotApi()


# -- child processes ---------------------------------------------------------------------------


@dataclass
class Child:
    process: subprocess.Popen
    log_path: Path

    def pids(self) -> list[int]:
        """The child and its own children (the bot's engine process), recursively."""
        from tests.support.fake_bot_api import child_pids

        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += child_pids(pid)
        return found

    def rss_mb(self) -> float:
        """Resident set size now (VmRSS), in MB: the child's and its children's, summed."""
        return sum(_rss_kb(pid) for pid in self.pids()) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the child and its children."""
        return sum(_cpu_ticks(pid) for pid in self.pids()) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):  # gone meanwhile
        return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def start_child(args: list[str], fake, log_path: Path) -> Child:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "GONGJIAN_EVIDENCE_DIR": str(log_path.parent / "evidence"),
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Child(process, log_path)


async def wait_for(fake, predicate, child: Child, what: str) -> None:
    """Until ``predicate()``; fail with the child's log if it dies or time runs out."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        if child.process.poll() is not None:
            raise RuntimeError(f"{what}: child exited {child.process.returncode}\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: timed out\n{child.log_tail()}")
        await asyncio.sleep(0.02)


async def ready(fake, child: Child) -> float:
    """Wait until the child polls; return the seconds it took."""
    started = time.perf_counter()
    await wait_for(fake, lambda: fake.polls > 0, child, "start-up")
    await asyncio.sleep(1.0)  # let start-up work (jobs, first long poll) settle
    return time.perf_counter() - started


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Burst:
    updates: int
    seconds: float
    cpu_seconds: float
    rss_idle_mb: float
    rss_after_mb: float
    startup_seconds: float
    applied: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def feed_and_time(fake, child: Child, messages: list[tuple[int, str]]) -> tuple[float, float]:
    """Queue every message at once; (seconds from the first batch to the last answer, CPU)."""
    from tests.support.fake_bot_api import FakeUser

    cpu_before = child.cpu_seconds()
    for user_id, text in messages:
        fake.send_text(FakeUser(user_id), text)
    await wait_for(fake, lambda: len(fake.answers) >= len(messages), child, "answers")
    seconds = fake.answers[len(messages) - 1] - fake.first_batch_at
    return seconds, child.cpu_seconds() - cpu_before


async def measure_echo(updates: int, folder: Path) -> Burst:
    fake = timed_fake_api()
    await fake.start()
    child = start_child([str(ROOT / "bench" / "echo_bot.py")], fake, folder / "echo.log")
    try:
        startup = await ready(fake, child)
        idle = child.rss_mb()
        messages = [(880_001 + n % USERS, f"第{n}条消息，原样返回") for n in range(updates)]
        seconds, cpu = await feed_and_time(fake, child, messages)
        return Burst(updates, seconds, cpu, idle, child.rss_mb(), startup)
    finally:
        child.stop()
        await fake.stop()


async def measure_bot(url: str, updates: int, folder: Path) -> Burst:
    from sqlalchemy import func, select

    from db.models import IssueEvent
    from db.session import Database
    from tests.support.proof_support import county_today, prepare_reporting_county, report_text

    database = Database.connect(url)
    today = county_today()
    reporters = prepare_reporting_county(database, users=USERS, reports_each=updates // USERS, today=today)
    fake = timed_fake_api()
    fake.answer_prefix = "✅"  # the bot's own reminders are not answers
    await fake.start()
    child = start_child([str(Path(__file__).resolve()), SERVE_BOT, url], fake, folder / "bot.log")
    try:
        startup = await ready(fake, child)
        idle = child.rss_mb()
        messages = [(r.telegram_id, report_text(r, k, today)) for k in range(updates // USERS) for r in reporters]
        seconds, cpu = await feed_and_time(fake, child, messages)
        burst = Burst(len(messages), seconds, cpu, idle, child.rss_mb(), startup)
    finally:
        child.stop()
        await fake.stop()
    with database.transaction() as session:
        burst.applied = session.scalar(
            select(func.count(func.distinct(IssueEvent.change_id))).where(IssueEvent.source == "telegram")
        )
    database.dispose()
    return burst


async def measure_idle(url: str, folder: Path, name: str) -> tuple[float, float]:
    """(RSS at idle in MB, seconds from start to polling) of the bot on the ledger at ``url``."""
    fake = timed_fake_api()
    await fake.start()
    child = start_child([str(Path(__file__).resolve()), SERVE_BOT, url], fake, folder / f"{name}.log")
    try:
        startup = await ready(fake, child)
        return child.rss_mb(), startup
    finally:
        child.stop()
        await fake.stop()


def build_county_ledger(url: str, folder: Path) -> None:
    """A county-size ledger (bench_import's generator) imported into ``url``."""
    from bench.bench_import import write_county_workbook
    from db.session import Database
    from services.ledger_import import import_ledger

    path = folder / "county.xlsx"
    if not path.exists():
        write_county_workbook(path, *COUNTY)
    database = Database.connect(url)
    try:
        import_ledger(database, path)
    finally:
        database.dispose()


@contextmanager
def database_url(backend: str, folder: Path, name: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    from bench.common import fresh_postgres_database

    with fresh_postgres_database() as url:
        yield url


# -- the table ---------------------------------------------------------------------------------


def run(quick: bool) -> list[tuple[str, str, str]]:
    """Echo bot, the bot on SQLite and PostgreSQL, idle RSS; (figure, value, goal) rows.

    This machine's speed drifts by a factor of two within minutes, so each bot run is
    paired with an echo run just before it, the pairs are repeated (ROUNDS), and the
    median ratio is reported with its range."""
    updates = QUICK_UPDATES if quick else FULL_UPDATES
    rows: list[tuple[str, str, str]] = []
    pairs: dict[str, list[tuple[Burst, Burst]]] = {"sqlite": [], "postgresql": []}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gj_bench_throughput_") as temp:
        folder = Path(temp)
        for round_number in range(ROUNDS):
            for backend in pairs:
                if backend in failures:
                    continue
                try:
                    echo = asyncio.run(measure_echo(updates, folder))
                    with database_url(backend, folder, f"demo{round_number}") as url:
                        bot = asyncio.run(measure_bot(url, updates, folder))
                except Exception as exc:  # e.g. no PostgreSQL server: say so, keep the other rows
                    failures[backend] = f"not measured: {type(exc).__name__}: {exc}"[:120]
                    continue
                pairs[backend].append((echo, bot))
                progress(f"round {round_number + 1}/{ROUNDS} {backend}: ratio {bot.rate / echo.rate:.2f}")
        echoes = [echo for runs in pairs.values() for echo, _ in runs]
        if echoes:
            rows += [
                (f"echo bot (PTB defaults), {updates} updates, median of {len(echoes)}",
                 f"{median(e.rate for e in echoes):.0f} updates/s", "ceiling"),
                ("echo bot: CPU per update", f"{median(e.cpu_seconds / e.updates for e in echoes) * 1000:.1f} ms", "-"),
                ("echo bot RSS at idle", f"{median(e.rss_idle_mb for e in echoes):.0f} MB", "-"),
            ]
        for backend, runs in pairs.items():
            if backend in failures and not runs:
                rows.append((f"bot, {backend}", failures[backend], "-"))
                continue
            rows += bot_rows(backend, runs)
        county = f"{COUNTY[0]} villages/{COUNTY[1]:,} households/{COUNTY[2]:,} issues"
        for backend in ("sqlite",) if quick else ("sqlite", "postgresql"):
            try:
                with database_url(backend, folder, "county") as url:
                    build_county_ledger(url, folder)
                    rss, startup = asyncio.run(measure_idle(url, folder, f"county-{backend}"))
            except Exception as exc:
                rows.append((f"bot, {backend}: county-size ledger", f"not measured: {type(exc).__name__}"[:120], "-"))
                continue
            rows += [
                (f"bot, {backend}: RSS at idle, {county}", f"{rss:.0f} MB", f"<= {RSS_GOAL_MB} MB"),
                (f"bot, {backend}: start-up to polling, county-size ledger", f"{startup:.1f} s", "-"),
            ]
    return rows


def bot_rows(backend: str, runs: list[tuple[Burst, Burst]]) -> list[tuple[str, str, str]]:
    """The table rows of one backend: medians over the rounds, the ratio with its range."""
    bots = [bot for _, bot in runs]
    ratios = sorted(bot.rate / echo.rate for echo, bot in runs)
    spread = f" (range {ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
    worst = max(bots, key=lambda b: abs(b.applied - b.updates))  # any lost or doubled report shows
    return [
        (f"bot, {backend}: reports parsed, applied and answered", f"{median(b.rate for b in bots):.0f} updates/s", "-"),
        (f"bot, {backend}: throughput against the echo bot, median of {len(runs)}",
         f"ratio bot/echo = {median(ratios):.2f}{spread}", f">= {RATIO_GOAL:.2f}"),
        (f"bot, {backend}: reports applied exactly once (worst round)", f"{worst.applied}/{worst.updates}",
         f"{worst.updates}/{worst.updates}"),
        (f"bot, {backend}: CPU per update", f"{median(b.cpu_seconds / b.updates for b in bots) * 1000:.1f} ms", "-"),
        (f"bot, {backend}: RSS at idle, demo county", f"{max(b.rss_idle_mb for b in bots):.0f} MB", f"<= {RSS_GOAL_MB} MB"),
        (f"bot, {backend}: RSS after {bots[0].updates} reports", f"{max(b.rss_after_mb for b in bots):.0f} MB",
         f"<= {RSS_GOAL_MB} MB"),
        (f"bot, {backend}: start-up to polling, demo county", f"{median(b.startup_seconds for b in bots):.1f} s", "-"),
    ]


def progress(line: str) -> None:
    """A progress line on a terminal; nothing when stderr is piped."""
    if sys.stderr.isatty():
        print(f"  {line}", file=sys.stderr, flush=True)


# -- the bot child process ---------------------------------------------------------------------


def serve_bot(url: str) -> int:
    """``python bot.py run``'s wiring on ``url``, with Telegram's 30/s send limit lifted
    (the echo bot has no limiter either); until SIGTERM."""
    from telegram.ext import AIORateLimiter

    from bot import build_application, run_application
    from cli.run_cmd import configure_logging
    from db.session import Database
    from services.conversation.engine import ConversationEngine
    from settings import load_settings

    settings = load_settings(database_url=url)
    configure_logging(settings.telegram.token, False)
    database = Database.connect(settings.database.url)
    engine = ConversationEngine(database, settings)
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0,
                             max_retries=settings.telegram.rate_limit_max_retries)
    app = build_application(settings, database, engine, rate_limiter=limiter)

    async def until_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_application(app, stop=stop)

    try:
        asyncio.run(until_signal())
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == SERVE_BOT:
        sys.exit(serve_bot(sys.argv[2]))
    from bench.common import main_for

    sys.exit(main_for(run))
