"""``python bot.py digest``: print a scope's digest (what a group would get) and its chart."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from nlp.workdays import calendar_from_settings
from services.chart import render_progress_chart
from services.digest import build_digest, previous_summary, render_digest_text
from services.errors import DomainError
from services.scope import resolve_scope_name


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digest",
        help="打印整改日报（全县或指定范围）并生成进度图",
        description=(
            "打印某个范围的整改日报：昨日变化、未完成、逾期（按责任单位）、即将到期、各乡镇（或各村）进度。\n"
            "范围默认为全县，可写乡镇、村（同名村写成 乡镇/村）、问题类别或部门（如 水利局）。\n"
            "--chart 把进度图写成 PNG 文件。"
        ),
        epilog=example_epilog(
            "python bot.py digest",
            "python bot.py digest --scope 东光镇 --chart 东光镇.png",
            "python bot.py digest --scope 水利局 --today 2026-10-10",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scope", metavar="NAME", default="", help="乡镇、村、问题类别或部门；默认全县")
    parser.add_argument("--today", metavar="YYYY-MM-DD", help="按哪一天生成，默认今天（县时区）")
    parser.add_argument("--chart", metavar="OUT.png", type=Path, help="把进度图写入此 PNG 文件")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(settings.county.tz).date()
    except ValueError:
        return fail(f"日期“{args.today}”无效，请写成 2026-10-10 这样的格式。")
    if args.chart is not None and not args.chart.parent.is_dir():
        return fail(f"{args.chart.parent}: 目录不存在")
    calendar = calendar_from_settings(settings)
    database = open_database(settings)
    try:
        with database.transaction() as session:
            scope_name = resolve_scope_name(session, args.scope)
            previous = previous_summary(session, scope_name, today)
            digest = build_digest(session, scope_name, today, calendar, settings, previous=previous)
    except DomainError as exc:
        return fail(str(exc), 1)
    finally:
        database.dispose()
    if not calendar.is_workday(today):
        print(f"（{today.isoformat()} 不是工作日，群里不会自动推送日报）", file=sys.stderr)
    print(render_digest_text(digest))
    if args.chart is not None:
        try:
            args.chart.write_bytes(render_progress_chart(digest))
        except OSError as exc:
            return fail(f"{args.chart}: 无法写入: {exc.strerror}", 1)
        print(f"进度图已写入 {args.chart}", file=sys.stderr)
    return 0
