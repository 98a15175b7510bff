"""攻坚通 (gongjian): the one entry point.

``python bot.py <command>``: run (Telegram), console, demo, import, export, parse, digest,
invite, users, check, backup, migrate. See ``python bot.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from cli import COMMAND_MODULES
from cli.common import database_reason
from cli.zh_argparse import VERBOSE, ZhArgumentParser, add_verbose_everywhere
from settings import ConfigError, Settings

if TYPE_CHECKING:  # the Telegram stack is imported only by the commands that run the bot
    from telegram.ext import Application, BaseRateLimiter

    from db.session import Database
    from services.conversation.messages import Engine

log = logging.getLogger("gongjian.bot")


def build_parser() -> argparse.ArgumentParser:
    """The command line, in Chinese; -v works before or after the subcommand."""
    parser = ZhArgumentParser(
        prog="python bot.py",
        description="攻坚通：脱贫攻坚问题台账助手（Telegram 机器人、终端对话与命令行工具）",
        epilog="例如:\n  python bot.py demo\n  python bot.py import 台账.xlsx\n  python bot.py <命令> --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE)
    subparsers = parser.add_subparsers(dest="command", metavar="<命令>", title="命令")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    add_verbose_everywhere(parser)
    return parser


def build_application(
    settings: Settings,
    database: Database,
    engine: Engine,
    *,
    rate_limiter: BaseRateLimiter | None = None,
) -> Application:
    """The PTB Application around ``engine``: Bot API URLs, proxy, county time zone, rate limiter,
    the shared Runtime in bot_data, and every handler (handlers.register).

    There is no Updater: updates come from the durable inbox (:func:`run_application`).
    ``rate_limiter`` replaces the default AIORateLimiter (benchmarks lift Telegram's 30/s).
    """
    from telegram.ext import AIORateLimiter, ApplicationBuilder, Defaults

    import handlers
    from delivery import pruning
    from delivery.pump import turn_runner
    from handlers.runtime import RUNTIME_KEY, Runtime
    from nlp.workdays import calendar_from_settings

    telegram = settings.telegram
    builder = (
        ApplicationBuilder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .defaults(Defaults(tzinfo=settings.county.tz))
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=telegram.rate_limit_max_retries))
        .updater(None)
        .post_init(_post_init)
    )
    if telegram.proxy:  # both of the bot's HTTP clients: the API calls and getUpdates
        builder = builder.proxy(telegram.proxy).get_updates_proxy(telegram.proxy)
    app = builder.build()
    app.bot_data[RUNTIME_KEY] = Runtime(
        settings=settings,
        database=database,
        calendar=calendar_from_settings(settings),
        instance_id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        turns=turn_runner(settings, database, engine),
    )
    handlers.register(app)  # jobs and their error handler; updates go through delivery/intake.py
    pruning.register(app, database)
    return app


async def _post_init(app: Application) -> None:
    """After getMe: tell the engine its username, build the parser, set the command menu."""
    from telegram import BotCommand

    from delivery.faults import with_backoff
    from handlers.runtime import RUNTIME_KEY
    from services.conversation.commands import BOT_COMMANDS

    runtime = app.bot_data[RUNTIME_KEY]
    await runtime.turns.start(app.bot.username)  # the engine that takes the turns (maybe in its process)
    commands = [BotCommand(name, description) for name, description in BOT_COMMANDS]
    telegram = runtime.settings.telegram
    await with_backoff(
        "setMyCommands",
        functools.partial(app.bot.set_my_commands, commands),
        retries=telegram.startup_retries,
        backoff_seconds=telegram.startup_backoff_seconds,
    )


async def run_application(
    app: Application,
    *,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    retry_seconds: float = 0.5,
    on_unreachable: Callable[[Exception], None] | None = None,
) -> None:
    """Run ``app`` until ``stop`` is set: start-up with retries, drain the inbox, then long
    polling (or the webhook when configured), each update journaled before it is confirmed.

    ``retry_seconds`` is the first wait after a passing fault (doubling up to a cap).
    Setting ``stop`` during start-up (a server still waiting for its network) ends it too.
    ``on_unreachable(error)`` is told once when the first getMe cannot reach Telegram; the
    retries after it are then logged at DEBUG only.
    """
    from delivery.faults import with_backoff
    from delivery.intake import ALLOWED_UPDATES, Intake, poll_updates, start_webhook_server, stop_webhook_server
    from handlers.runtime import RUNTIME_KEY

    runtime = app.bot_data[RUNTIME_KEY]
    telegram = runtime.settings.telegram
    webhook = telegram.webhook
    retrying = {"retries": telegram.startup_retries, "backoff_seconds": telegram.startup_backoff_seconds}
    intake = runtime.intake = Intake(app.bot, runtime.database, runtime.turns, retry_base_seconds=retry_seconds)
    poller: asyncio.Task | None = None
    server = None
    try:
        reach = with_backoff("getMe", app.initialize, **retrying, on_retry=_quiet_retries(on_unreachable))
        if not await _unless_stopped(reach, stop):
            return
        if not await _unless_stopped(app.post_init(app), stop):
            return
        await app.start()  # the JobQueue (digests, reminders, pruning); updates do not come through it
        await intake.drain()  # what a crash left behind goes first, in order per chat
        if webhook.url:
            server = start_webhook_server(webhook, runtime.database, intake)
            register = functools.partial(
                app.bot.set_webhook, webhook.url, allowed_updates=ALLOWED_UPDATES, secret_token=webhook.secret_token
            )
            if not await _unless_stopped(with_backoff("setWebhook", register, **retrying), stop):
                return
        else:
            unregister = functools.partial(app.bot.delete_webhook, drop_pending_updates=False)
            if not await _unless_stopped(with_backoff("deleteWebhook", unregister, **retrying), stop):
                return
            poller = asyncio.create_task(
                poll_updates(app.bot, runtime.database, intake, backoff_seconds=retry_seconds), name="getUpdates"
            )
        log.info("bot @%s running (%s)", app.bot.username, "webhook" if webhook.url else "long polling")
        if ready is not None:
            ready.set()
        # Polling ends by itself only on a rejected token: then its error is raised here.
        await _unless_stopped(poller if poller is not None else stop.wait(), stop)
    finally:
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
        if server is not None:
            await stop_webhook_server(server)
        await intake.stop()
        await runtime.turns.close()
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.bot.shutdown()  # also when initialize() failed half-way


def _quiet_retries(on_unreachable: Callable[[Exception], None] | None) -> Callable[..., None] | None:
    """The getMe retry reporter: ``on_unreachable`` once for a network failure, DEBUG lines after."""
    if on_unreachable is None:
        return None
    from telegram.error import BadRequest, NetworkError

    told = False

    def report(attempt: int, error: Exception, delay: float) -> None:
        nonlocal told
        unreachable = isinstance(error, NetworkError) and not isinstance(error, BadRequest)
        level = logging.DEBUG if unreachable else logging.WARNING
        log.log(level, "getMe failed (%s: %s), retry %d in %.1f s", type(error).__name__, error, attempt, delay)
        if unreachable and not told:
            told = True
            on_unreachable(error)

    return report


async def _unless_stopped(awaitable, stop: asyncio.Event) -> bool:
    """Await ``awaitable`` unless ``stop`` is set first (then cancel it); True if it finished."""
    task = asyncio.ensure_future(awaitable)
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task in done:
        task.result()
        return True
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; a closed pipe (``| head``) ends it quietly."""
    try:
        return _run_command(argv)
    except BrokenPipeError:
        _discard_stdout()
        return 128 + signal.SIGPIPE  # what a shell reports for a process a closed pipe ended


def _run_command(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    from services.disclosure import install_log_redaction

    install_log_redaction()  # no ID, phone or bank card number in any log line
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # the database is down or refuses: its reason, no traceback
        print(f"数据库出错：{database_reason(exc)}。可用 python bot.py check 逐项检查。", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush does not fail once more."""
    with contextlib.suppress(OSError, ValueError):  # stdout is not a file descriptor (tests capture it)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
