"""``python bot.py parse``: show what the parser understands, one JSON object per message."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cli.common import add_db_options, database_reason, example_epilog, fail, open_database, settings_from


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="解析消息，输出机器人理解的结果（JSON）",
        description=(
            "按台账解析消息，每条消息输出一行 JSON（意图、乡镇、村、户、类别、状态、期限、"
            "是否需要确认、候选、置信度）。不给消息时逐行读取标准输入。"
        ),
        epilog=example_epilog(
            "python bot.py parse 东台村饮水问题已解决",
            "python bot.py parse --today 2026-12-01 --scope 东光镇/东台村 水管修好了",
            "python bot.py parse --db sqlite:///demo.db < 消息.txt",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="要解析的消息；不给时读标准输入，每行一条")
    parser.add_argument("--today", type=_date, metavar="YYYY-MM-DD", help="当作今天的日期，默认为县里的今天")
    parser.add_argument(
        "--scope", action="append", default=[], metavar="NAME",
        help="发送人的范围（可多次给）：乡镇 东光镇、村 东光镇/东台村、类别 饮水；默认全县",
    )
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nlp.parser import Parser  # slow import (tokenizer, pinyin): only for this command
    from nlp.workdays import calendar_from_settings
    from services.snapshot import load_snapshot

    settings = settings_from(args)
    url = settings.database.url
    missing = _missing_sqlite_file(url)
    if missing:
        return fail(f"数据库文件 {missing} 不存在。先运行 python bot.py demo 建立演示台账，或用 --db 指定台账数据库。")
    try:
        database = open_database(settings)
        try:
            with database.transaction() as session:
                snapshot = load_snapshot(session)
        finally:
            database.dispose()
    except SQLAlchemyError as exc:
        return fail(f"无法读取数据库 {make_url(url).render_as_string(hide_password=True)}：{database_reason(exc)}")
    if not snapshot.townships:
        return fail("这个数据库里还没有台账（没有乡镇和村）。先运行 python bot.py demo 建立演示台账，"
                    "或用 python bot.py import 导入台账。")
    parser = Parser(snapshot, calendar_from_settings(settings))
    today = args.today or dt.datetime.now(settings.county.tz).date()
    scope = tuple(args.scope)
    for text in _messages(args.texts):
        parse = parser.parse(text, today, scope)
        print(json.dumps(parse.to_contract(), ensure_ascii=False), flush=True)
    return 0


def _messages(texts: list[str]) -> Iterable[str]:
    if texts:
        yield from texts
        return
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD，例如 2026-12-01，而不是“{value}”") from None


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (parse never creates one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else str(path)
