"""``python bot.py run``: the Telegram bot (long polling, or a webhook when configured)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.log_safety import NOISY_LOGGERS, TokenRedactor
from cli.telegram_access import token_problem, unreachable_notice, what_to_check

NO_TOKEN = (
    "未设置 Telegram 机器人令牌：请设置环境变量 TELEGRAM_BOT_TOKEN（或 config.yaml 的 telegram.token）。\n"
    "不连 Telegram 也可以先在终端里试用：python bot.py console"
)
BAD_TOKEN = "Telegram 拒绝了这个机器人令牌，请核对 TELEGRAM_BOT_TOKEN（向 @BotFather 查询）。"
# Loggers that would print request URLs, which contain the token.
# Libraries whose routine INFO lines (schema checks at every start) are not the bot's news.
QUIET_LOGGERS = ("alembic",)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="运行 Telegram 机器人",
        description="运行 Telegram 机器人：默认长轮询，配置了 telegram.webhook.url 时用 webhook。"
        "令牌取自环境变量 TELEGRAM_BOT_TOKEN 或 config.yaml。",
        epilog=example_epilog(
            "TELEGRAM_BOT_TOKEN=123456:ABC... python bot.py run",
            "python bot.py run --db postgresql://postgres@127.0.0.1/gongjian",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_options(parser)
    parser.set_defaults(func=run)


def configure_logging(token: str, verbose: bool) -> None:
    """INFO for the bot's one-line-per-update log; never the token, never request URLs."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in root.handlers:
        handler.addFilter(TokenRedactor(token))
    for name in NOISY_LOGGERS + QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    token = settings.telegram.token
    if not token:
        return fail(NO_TOKEN)
    problem = token_problem(token)
    if problem:
        return fail(problem)
    configure_logging(token, getattr(args, "verbose", False))

    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    from bot import build_application
    from services.conversation.engine import ConversationEngine

    database = open_database(settings)
    try:
        engine = ConversationEngine(database, settings)
        app = build_application(settings, database, engine)
        try:
            asyncio.run(_run_until_signal(app, lambda error: _say(unreachable_notice(settings.telegram, error))))
        except InvalidToken:
            return fail(BAD_TOKEN)
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                return fail(f"Telegram 拒绝了启动请求：{exc}。请检查 config.yaml 的 telegram 设置。", 1)
            return fail(
                f"连不上 Telegram（已重试 {settings.telegram.startup_retries} 次，{type(exc).__name__}），"
                f"机器人退出。{what_to_check(settings.telegram)}。",
                1,
            )
        except TelegramError as exc:
            return fail(f"Telegram 拒绝了启动请求：{type(exc).__name__}: {exc}", 1)
    finally:
        database.dispose()
    return 0


async def _run_until_signal(app, on_unreachable) -> None:
    """Run the bot until SIGINT or SIGTERM (both finish the work in hand, then stop)."""
    from bot import run_application

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_application(app, stop=stop, on_unreachable=on_unreachable)


def _say(line: str) -> None:
    """A line for the person at the terminal (or the service's journal), not a log record."""
    print(line, file=sys.stderr, flush=True)
