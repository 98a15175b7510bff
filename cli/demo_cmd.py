"""``python bot.py demo``: build the demo county, then open the console chat."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.progress import Progress
from services.errors import DomainError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="建立演示数据库并打开终端对话",
        description=(
            "建立演示县（汪清县的 9 个乡镇、村、约 8200 户、约 440 条问题和演示用户），"
            "固定随机种子，重复运行不会重复创建；然后打开终端对话（不需要 Telegram）。"
        ),
        epilog=example_epilog("python bot.py demo", "python bot.py demo --db sqlite:///demo.db"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from services.demo import build_demo  # pypinyin and the import stack: only when used

    settings = settings_from(args)
    database = open_database(settings)
    try:
        with Progress("生成演示数据") as progress:
            summary = build_demo(
                database, dt.datetime.now(settings.county.tz).date(), progress=progress.advance
            )
    except DomainError as exc:
        return fail(str(exc), 1)
    finally:
        database.dispose()
    print("\n".join(summary.lines()))
    try:
        from cli.console_cmd import run_console
    except ImportError:  # the console chat is not part of this build yet
        run_console = None
    if run_console is None or sys.stdin is None or sys.stdin.closed:
        # No console, or no input to chat with (stdin closed): say how to start it later.
        shown = _without_password(settings.database.url)
        print(f"数据库：{shown}")
        print("开始对话：python bot.py console" + (f" --db {shown}" if args.db else ""))
        return 0
    result = run_console(settings, settings.database.url, user_name=None)
    return result if isinstance(result, int) else 0


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
