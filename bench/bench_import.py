"""Benchmark: import a county-size ledger workbook on SQLite and on PostgreSQL.

A county is 300 villages, 30,000 households and 10,000 issues (``--quick``: a tenth).
The workbook is generated first (not timed); each backend then imports it into a fresh
database twice (the second import changes nothing) in a child process, so that the peak
RSS reported is the import's own. Goal: first import under 20 s on each backend.

Also a 1,000,000-row workbook (a few MB, under the size limits: only the row cap refuses it)
in a dry run, as the testers ran it (it took 170 s and 1.19 GB before the cap): seconds to
the refusal and the child's peak RSS. Goal: a few seconds, under 300 MB.

    python bench/bench_import.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import peak_rss_mb  # noqa: E402

PG_ADMIN_URL = os.environ.get("GONGJIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL_SECONDS = 20
MILLION = 1_000_000
FULL = (300, 30_000, 10_000)  # villages, households, issues
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗金朴崔郑姜韩许"
GIVEN = "国建志明永德文玉秀兰桂凤英华春海军平伟强丽红霞云梅芳淑珍哲浩姬善顺"
STATUSES = ("未整改", "整改中", "已整改", "已销号")
CATEGORIES = ("饮水", "住房", "医疗", "教育", "产业", "就业", "兜底保障", "基础设施", "档案", "集体经济")


def write_county_workbook(path: Path, villages: int, households: int, issues: int) -> None:
    """A plausible ledger of the given size (fixed seed), written in write-only mode."""
    from openpyxl import Workbook

    rng = random.Random(7)
    places = [(f"第{t + 1}镇", f"第{v + 1}村") for t in range(villages // 20 or 1) for v in range(20)][:villages]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("村")
    sheet.append(["乡镇", "村"])
    for place in places:
        sheet.append(list(place))
    sheet = workbook.create_sheet("户")
    sheet.append(["户编号", "乡镇", "村", "户主姓名", "家庭人口", "状态", "致贫原因", "帮扶责任人"])
    heads = []
    for n in range(households):
        place = places[n % len(places)]
        head = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        heads.append((place, head, f"H{n + 1:06d}"))
        sheet.append([f"H{n + 1:06d}", *place, head, rng.randint(1, 6),
                      rng.choice(("未脱贫", "已脱贫", "监测户")), rng.choice(("因病", "因残", "缺劳力")),
                      rng.choice(SURNAMES) + rng.choice(GIVEN)])
    sheet = workbook.create_sheet("问题")
    sheet.append(["编号", "乡镇", "村", "户主姓名", "问题类别", "问题描述", "状态", "整改期限", "责任单位", "户编号"])
    today = dt.date.today()
    for n in range(issues):
        place, head, code = heads[rng.randrange(len(heads))]
        linked = rng.random() < 0.7
        sheet.append([f"ZG-{n + 1:06d}", *place, head if linked else None, rng.choice(CATEGORIES),
                      "问题描述" * rng.randint(1, 5), rng.choice(STATUSES),
                      today + dt.timedelta(days=rng.randint(-30, 60)), "责任单位",
                      code if linked else None])
    workbook.save(path)


def _import_twice(url: str, path: str, results) -> None:
    """Child process: connect (migrations not timed), import, import again, report."""
    from db.session import Database
    from services.ledger_import import import_ledger

    database = Database.connect(url)
    try:
        started = time.perf_counter()
        first = import_ledger(database, Path(path))
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = import_ledger(database, Path(path))
        second_seconds = time.perf_counter() - started
    finally:
        database.dispose()
    assert second.counts["issues"].unchanged == first.counts["issues"].created
    peak_mb = peak_rss_mb()
    results.put((first_seconds, second_seconds, peak_mb))


def _refuse_dry_run(url: str, path: str, results) -> None:
    """Child process: connect (not timed), dry-run the import, which must be refused."""
    from db.session import Database
    from services.ledger_import import LedgerFileError, import_ledger

    database = Database.connect(url)
    try:
        started = time.perf_counter()
        try:
            import_ledger(database, Path(path), dry_run=True)
            raise AssertionError("the 1,000,000-row workbook was not refused")
        except LedgerFileError as refused:
            message = refused.errors[0]
        seconds = time.perf_counter() - started
    finally:
        database.dispose()
    peak_mb = peak_rss_mb()
    results.put((seconds, peak_mb, message))


def _measure(url: str, path: Path, target=None) -> tuple:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=target or _import_twice, args=(url, str(path), results))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"import child exited with {child.exitcode}")
    return results.get(timeout=5)


def _postgres_database() -> tuple[str, callable]:
    """A fresh PostgreSQL database and the function that drops it."""
    from sqlalchemy import create_engine, text

    name = f"gj_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def _rows(backend: str, size: str, measured: tuple[float, float, float]) -> list[tuple[str, str, str]]:
    first, second, peak = measured
    return [
        (f"import {size}, {backend}", f"{first:.1f} s", f"< {GOAL_SECONDS} s"),
        (f"re-import unchanged, {backend}", f"{second:.1f} s", "-"),
        (f"peak RSS of import, {backend}", f"{peak:.0f} MB", "-"),
    ]


def _million_rows_refused(temp: Path) -> list[tuple[str, str, str]]:
    """The 1,000,000-row workbook in a dry run on SQLite (it is refused before the database)."""
    from tests.support.ledger_files import write_long_workbook

    path = write_long_workbook(temp / "million.xlsx", MILLION)
    seconds, peak, message = _measure(f"sqlite:///{temp / 'million.db'}", path, _refuse_dry_run)
    return [
        ("1,000,000-row workbook refused: seconds / peak RSS",
         f"{seconds:.2f} s / {peak:.0f} MB ({path.stat().st_size / 2**20:.1f} MB file)", "< 3 s / < 300 MB"),
        ("1,000,000-row workbook refused: message", message.split("；")[0], "-"),
    ]


def run(quick: bool) -> list[tuple[str, str, str]]:
    """Generate the workbook, import it on SQLite and PostgreSQL; (figure, value, goal) rows."""
    villages, households, issues = (n // 10 for n in FULL) if quick else FULL
    size = f"{villages} villages/{households} households/{issues} issues"
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="gj_bench_import_") as temp:
        rows += _million_rows_refused(Path(temp))
        workbook = Path(temp) / "county.xlsx"
        write_county_workbook(workbook, villages, households, issues)
        rows += _rows("SQLite", size, _measure(f"sqlite:///{Path(temp) / 'bench.db'}", workbook))
        try:
            url, drop = _postgres_database()
        except Exception as exc:  # no server: say so in the table instead of failing the suite
            rows.append((f"import {size}, PostgreSQL", f"not run ({type(exc).__name__})", f"< {GOAL_SECONDS} s"))
            return rows
        try:
            rows += _rows("PostgreSQL", size, _measure(url, workbook))
        finally:
            drop()
    return rows


def _print_table(rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows + [("figure", "value", "goal")]) for i in range(3)]
    for row in [("figure", "value", "goal"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the county size")
    _print_table(run(parser.parse_args().quick))
