"""``python bot.py import PATH``: load an .xlsx ledger or a folder of CSV files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.new_sqlite_file import NewSqliteFile
from cli.progress import Progress
from services.errors import DomainError
from settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="导入台账（.xlsx 或 CSV 文件夹）",
        description=(
            "导入台账：.xlsx 工作簿（工作表 村/户/问题，或 villages/households/issues），"
            "或含 villages.csv、households.csv、issues.csv 的文件夹（UTF-8 或 GBK）。\n"
            "按 户编号 和 编号 新增或更新，不删除台账里已有的行；重复导入同一文件不会改变任何数据。\n"
            "只要有一行出错就什么也不写入，并列出前 50 个有问题的行（工作表:行: 原因）及其余的个数。\n"
            "文件大小、解压后大小和行数有上限（config.yaml 中的 import.max_file_mb、"
            "import.max_unpacked_mb、import.max_rows），超过则不导入。"
        ),
        epilog=example_epilog(
            "python bot.py import 台账.xlsx",
            "python bot.py import 台账csv/ --dry-run",
            "python bot.py import 台账.xlsx --db postgresql://postgres@127.0.0.1/gongjian",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", type=Path, help=".xlsx 文件或 CSV 文件夹")
    parser.add_argument("--dry-run", action="store_true", help="只检查并报告将要做的改动，不写入")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    created = NewSqliteFile(settings.database.url)
    try:
        code = import_into(settings, args.path, dry_run=args.dry_run, created=created)
    finally:
        created.discard()  # a refused file or a trial leaves no new, empty database behind
    return code


def import_into(
    settings: Settings, path: Path, *, dry_run: bool = False, created: NewSqliteFile | None = None
) -> int:
    """Import ``path`` into the configured database; print the counts or every error.

    ``created`` (the database file this command made) is kept once the import is committed.
    """
    # openpyxl: only when used
    from services.ledger_import import ImportLimits, LedgerFileError, import_ledger

    limits = ImportLimits(**settings.import_.model_dump())
    database = open_database(settings)
    try:
        with Progress("读取台账") as progress:
            result = import_ledger(database, path, dry_run=dry_run, progress=progress, limits=limits)
    except LedgerFileError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        if exc.unlisted:
            print(f"……另有 {exc.unlisted} 处问题未列出", file=sys.stderr)
        return fail(f"共 {exc.total} 处问题，未导入任何数据。", 1)
    except DomainError as exc:
        return fail(str(exc), 1)
    finally:
        database.dispose()
    if created is not None and not dry_run:
        created.keep()
    print("\n".join(result.lines()))
    return 0
