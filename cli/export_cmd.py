"""``python bot.py export OUT.xlsx``: write the ledger as a workbook an office hands in."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.progress import Progress
from services.errors import DomainError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="导出台账为 Excel 工作簿",
        description=(
            "导出台账：工作表 问题整改台账、贫困户、村、汇总（各乡镇各状态的数量）。\n"
            "表头与导入格式相同，导出的文件可以原样再导入；逾期未整改的行标为浅红色。\n"
            "以 = + - @ 开头的文字前加一个单引号 '，防止被当作公式执行（导入时会去掉）。\n"
            "--scope 只导出一个乡镇、一个村（同名村写成 乡镇/村）或一个问题类别。"
        ),
        epilog=example_epilog(
            "python bot.py export 台账.xlsx",
            "python bot.py export 东光镇.xlsx --scope 东光镇",
            "python bot.py export 饮水.xlsx --scope 饮水",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", metavar="OUT.xlsx", type=Path, help="要写入的 .xlsx 文件")
    parser.add_argument("--scope", metavar="NAME", help="乡镇、村（或 乡镇/村）、问题类别")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from services.ledger_export import export_ledger  # openpyxl: only when used

    settings = settings_from(args)
    database = open_database(settings)
    tz = settings.county.tz
    try:
        with Progress("导出") as progress:
            result = export_ledger(
                database, args.out, today=dt.datetime.now(tz).date(), tz=tz,
                scope_name=args.scope, progress=progress.advance,
            )
    except DomainError as exc:
        return fail(str(exc), 1)
    finally:
        database.dispose()
    print("\n".join(result.lines()))
    return 0
