"""Run every benchmark of the project and print one table of figures.

    python bench/run.py            # full sizes (several minutes)
    python bench/run.py --quick    # small sizes, within 5 minutes on a 2-core machine
    python bench/run.py --only import,parse

Each bench/bench_<topic>.py exposes ``run(quick: bool) -> list[(figure, value, goal)]``.
Figures are printed, never asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_ORDER = ("understanding", "import", "parse", "digest", "throughput")


def discover() -> list[str]:
    found = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    return [t for t in BENCH_ORDER if t in found] + [t for t in found if t not in BENCH_ORDER]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="运行全部基准测试并打印一张结果表（只打印，不做断言）。",
        epilog="例如:\n  python bench/run.py --quick\n  python bench/run.py --only parse",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="小规模快速运行（5 分钟以内）")
    parser.add_argument("--only", help="只运行这些主题，逗号分隔: " + ",".join(discover()))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.common import display_width, pad

    topics = discover()
    if args.only:
        wanted = [t.strip() for t in args.only.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in topics]
        if unknown:
            print(f"没有这些基准: {', '.join(unknown)}", file=sys.stderr)
            return 2
        topics = wanted

    rows: list[tuple[str, str, str, str]] = []
    failed = False
    for topic in topics:
        started = time.monotonic()
        print(f"[{topic}] ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.bench_{topic}")
            for name, value, goal in module.run(args.quick):
                rows.append((topic, name, value, goal))
        except Exception:  # a broken benchmark is reported, the others still run
            failed = True
            traceback.print_exc()
            rows.append((topic, "ERROR", "see traceback above", ""))
        print(f"[{topic}] {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)

    widths = [max(display_width(r[i]) for r in rows + [("topic", "figure", "value", "goal")]) for i in range(4)]
    header = ("topic", "figure", "value", "goal")
    print("  ".join(pad(h, w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(pad(c, w) for c, w in zip(row, widths)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
