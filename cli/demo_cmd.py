"""``python bot.py demo``: build the demo county in its own database, then open the console.

The demo never touches the county's ledger: it lives in ``demo.db`` beside the
configuration file unless ``--db`` names another database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.progress import Progress
from services.errors import DomainError
from settings import Settings

DEMO_EVIDENCE = "demo-evidence"
DEMO_DB = "demo.db"  # beside the configuration file, like the county's own gongjian.db


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="建立演示数据库并打开终端对话",
        description=(
            "建立演示县（汪清县的 9 个乡镇、村、约 8200 户、约 440 条问题和演示用户），"
            "固定随机种子，重复运行不会重复创建；然后打开终端对话（不需要 Telegram）。\n"
            f"演示数据放在配置文件旁边的 {DEMO_DB}，不会碰县里的正式数据库。"
        ),
        epilog=example_epilog(
            "python bot.py demo",
            "python bot.py demo --as 东台村工作队",
            "python bot.py demo --db sqlite:///另一个演示.db",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--as", dest="user_name", metavar="NAME", help="以哪个演示用户的身份对话（默认演示管理员）")
    add_db_options(parser)
    parser.set_defaults(func=run)


def demo_settings(settings: Settings, db: str | None) -> Settings:
    """``settings`` pointed at the demo database (``--db`` if given, else demo.db beside the
    config) and at its own evidence folder: the county's evidence is never the demo's."""
    url = settings.database.url if db else f"sqlite:///{settings.path_of(DEMO_DB)}"
    storage = settings.storage.model_copy(update={"evidence_dir": str(settings.path_of(DEMO_EVIDENCE))})
    return settings.model_copy(update={
        "database": settings.database.model_copy(update={"url": url}), "storage": storage,
    })


def run(args: argparse.Namespace) -> int:
    from services.demo import build_demo  # pypinyin and the import stack: only when used

    settings = demo_settings(settings_from(args), args.db)
    database = open_database(settings)
    try:
        with Progress("生成演示数据") as progress:
            summary = build_demo(
                database, dt.datetime.now(settings.county.tz).date(), progress=progress
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
        print(f"演示数据库：{shown}")
        print(f"开始对话：python bot.py demo，或 python bot.py console --db {shown}")
        return 0
    result = run_console(settings, settings.database.url, user_name=args.user_name)
    return result if isinstance(result, int) else 0


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
