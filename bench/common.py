"""Helpers shared by the benchmark scripts: table printing, RSS, throwaway databases."""

from __future__ import annotations

import os
import resource
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN_URL = os.environ.get("GONGJIAN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its URL."""
    from sqlalchemy import create_engine, text

    name = f"gj_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def print_table(rows: list[tuple[str, str, str]]) -> None:
    header = ("figure", "value", "goal")
    widths = [max(display_width(r[i]) for r in rows + [header]) for i in range(3)]
    print("  ".join(pad(h, w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(pad(c, w) for c, w in zip(row, widths)))


def main_for(run, argv: list[str] | None = None) -> int:
    """``if __name__ == "__main__": sys.exit(main_for(run))`` for a bench script."""
    import argparse

    parser = argparse.ArgumentParser(description="基准测试：只打印数字，不做断言。")
    parser.add_argument("--quick", action="store_true", help="小规模快速运行")
    args = parser.parse_args(argv)
    print_table(run(args.quick))
    return 0


def display_width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))
