"""``python bot.py backup OUT``: a consistent copy of the SQLite ledger, safe while the bot runs,
and of the evidence folder beside it (OUT without its suffix, plus ``-evidence``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from cli.common import add_db_options, example_epilog, fail, settings_from

PG_DUMP_HOWTO = (
    "PostgreSQL 数据库请用 pg_dump 备份（机器人运行时也可以）：\n"
    "  pg_dump --format=custom --file=gongjian.dump '{url}'\n"
    "恢复到一个空数据库：\n"
    "  pg_restore --no-owner --dbname='<新数据库地址>' gongjian.dump\n"
    "佐证材料在 {evidence}，请一并复制：\n"
    "  cp -a '{evidence}' gongjian-evidence"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="备份 SQLite 数据库（机器人运行时也可以）",
        description="把 SQLite 台账数据库一致地复制到 OUT（用 SQLite 在线备份接口，机器人运行时也安全），"
        "佐证材料目录复制到 OUT 旁的 <OUT 去掉扩展名>-evidence/。"
        "PostgreSQL 数据库会提示用 pg_dump。",
        epilog=example_epilog(
            "python bot.py backup backups/gongjian-2025-06-01.db",
            "python bot.py backup 备份.db --db sqlite:///gongjian.db",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", metavar="OUT", help="备份文件路径（不能已存在，除非加 --force）")
    parser.add_argument("--force", action="store_true", help="覆盖已存在的 OUT")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    url = make_url(settings.database.url)
    evidence = Path(settings.storage.evidence_dir)
    if url.get_backend_name() != "sqlite":
        shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
        return fail(PG_DUMP_HOWTO.format(url=shown, evidence=evidence))
    if not url.database or url.database == ":memory:":
        return fail("内存数据库无法备份：请用 --db 指定 SQLite 文件")
    source = Path(url.database)
    if not source.is_file():
        return fail(f"数据库文件不存在：{source}")
    out = Path(args.out)
    evidence_out = evidence_copy_of(out)
    if out.exists() and not args.force:
        return fail(f"文件已存在：{out}（加 --force 覆盖）")
    if evidence_out.exists() and not args.force:
        return fail(f"目录已存在：{evidence_out}（加 --force 覆盖）")
    if not out.parent.is_dir():
        return fail(f"目录不存在：{out.parent}")
    try:
        copy_sqlite(source, out)
        # After the database: every file a row of the copy points to was written before it.
        files = copy_evidence(evidence, evidence_out)
    except sqlite3.Error as exc:
        return fail(f"备份失败：{exc}", 1)
    except OSError as exc:
        return fail(f"佐证材料备份失败：{exc.strerror}（{exc.filename}）", 1)
    size_mb = out.stat().st_size / 1024 / 1024
    print(f"✅ 已备份到 {out}（{size_mb:.1f} MB）")
    print(f"✅ 佐证材料 {files} 个文件备份到 {evidence_out}")
    return 0


def evidence_copy_of(out: Path) -> Path:
    """Where the evidence folder goes beside the database copy ``out``."""
    return out.with_name(f"{out.stem}-evidence")


def copy_evidence(evidence: Path, target: Path) -> int:
    """Copy the evidence folder to ``target`` (through a temporary folder, so ``target`` is
    never half-written); return the number of files."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        if evidence.is_dir():
            shutil.copytree(evidence, partial)
        else:
            partial.mkdir()
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return sum(1 for path in target.rglob("*") if path.is_file())


def copy_sqlite(source: Path, out: Path) -> None:
    """Copy ``source`` to ``out`` with the online backup API: one consistent snapshot.

    One step (pages=-1) reads the whole database inside one read transaction: under WAL the
    bot keeps writing meanwhile, and the copy is the state at the start of the step. The
    copy goes to a temporary file first, so ``out`` is never half-written.
    """
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _backup(source, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)


def _backup(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            # A standalone file: no -wal beside it is needed to read the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
        finally:
            dst.close()
    finally:
        src.close()
