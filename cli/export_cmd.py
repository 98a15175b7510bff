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
            "--scope 只导出一个乡镇、一个村（同名村写成 乡镇/村）或一个问题类别。\n"
            "--evidence DIR 同时把佐证材料复制到 DIR，文件名为 编号_日期_序号.扩展名（供检查）。\n"
            "OUT.xlsx 已存在（或 DIR 不是空目录）时不覆盖，除非加 --force。"
        ),
        epilog=example_epilog(
            "python bot.py export 台账.xlsx",
            "python bot.py export 东光镇.xlsx --scope 东光镇",
            "python bot.py export 饮水.xlsx --scope 饮水",
            "python bot.py export 台账.xlsx --evidence 佐证材料/",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", metavar="OUT.xlsx", type=Path, help="要写入的 .xlsx 文件")
    parser.add_argument("--scope", metavar="NAME", help="乡镇、村（或 乡镇/村）、问题类别")
    parser.add_argument("--evidence", metavar="DIR", type=Path, help="把佐证材料复制到这个目录")
    parser.add_argument("--force", action="store_true", help="覆盖已存在的 OUT.xlsx 和 DIR 中的文件")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from services.ledger_export import export_evidence, export_ledger  # openpyxl: only when used

    refusal = _refuse_overwrite(args)
    if refusal:
        return fail(refusal)
    settings = settings_from(args)
    database = open_database(settings)
    tz = settings.county.tz
    try:
        with Progress("导出") as progress:
            result = export_ledger(
                database, args.out, today=dt.datetime.now(tz).date(), tz=tz,
                scope_name=args.scope, progress=progress,
            )
        lines = result.lines()
        if args.evidence is not None:
            copied = export_evidence(database, args.evidence, settings.storage.evidence_dir, tz=tz,
                                     scope_name=args.scope)
            lines += copied.lines()
    except DomainError as exc:
        return fail(str(exc), 1)
    except OSError as exc:
        return fail(f"写入失败：{exc.strerror}（{exc.filename}）", 1)
    finally:
        database.dispose()
    print("\n".join(lines))
    return 0


def _refuse_overwrite(args: argparse.Namespace) -> str | None:
    """Why nothing is written (an existing file or folder without --force), else None."""
    if args.force:
        return None
    if args.out.exists():
        return f"文件已存在：{args.out}（加 --force 覆盖）"
    folder = args.evidence
    if folder is not None and folder.exists():
        if not folder.is_dir():
            return f"不是目录：{folder}"
        if any(folder.iterdir()):
            return f"目录不是空的：{folder}（换一个新目录，或加 --force 覆盖同名文件）"
    return None
