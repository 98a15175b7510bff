"""``python bot.py migrate``: bring the database schema up to date."""

from __future__ import annotations

import argparse

from cli.common import add_db_options, example_epilog, open_database, settings_from
from db.migrate import current_revision


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="升级数据库结构到最新版本",
        description="升级数据库结构到最新版本（其他命令也会自动升级新数据库）。",
        epilog=example_epilog("python bot.py migrate --db sqlite:///gongjian.db"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    database = open_database(settings_from(args))
    try:
        print(f"数据库已是最新版本: {current_revision(database.engine)}")
    finally:
        database.dispose()
    return 0
