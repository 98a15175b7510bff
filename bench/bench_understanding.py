"""Understanding: development and held-out scores side by side, with the gap.

    python bench/bench_understanding.py

The same figures as ``python -m tests.corpus.evaluate`` (rules, statistical reader and the
pair on every development and held-out set), as rows of the bench table. Held-out sets are
checked against their SHA256SUMS first.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run(quick: bool) -> list[tuple[str, str, str]]:
    """Rows (figure, value, goal) for bench/run.py."""
    from tests.corpus import evaluate as corpus

    calendar = corpus.default_calendar()
    rows: list[tuple[str, str, str]] = []
    totals = {}
    for kind, sets in (("开发", corpus.dev_sets()), ("留出", corpus.heldout_sets())):
        by_reading: dict[str, list] = {r: [] for r in corpus.READINGS}
        for corpus_set in sets:
            for reading, report in corpus.score_set(corpus_set, calendar).items():
                by_reading[reading].append(report)
        totals[kind] = {r: corpus.combined(reports) for r, reports in by_reading.items()}
    for reading in corpus.READINGS:
        for kind in ("开发", "留出"):
            report = totals[kind][reading]
            if not report.total:
                continue
            worst = min(report.field_accuracy(name) for name in corpus.FIELDS)
            rows.append((f"{kind}集 {report.total} 条 · {reading} · 最低字段 / 全对",
                         f"{worst:.1%} / {report.all_fields:.1%}", "≥ 95% / ≥ 85%"))
            rows.append((f"{kind}集 · {reading} · 有把握的错误写入 / 不必要的确认",
                         f"{len(report.confident_wrong_writes)} / {report.unnecessary_share:.1%}", "0 / ≤ 10%"))
        if totals["留出"][reading].total:
            gap = totals["开发"][reading].all_fields - totals["留出"][reading].all_fields
            rows.append((f"差距（开发 − 留出）· {reading} · 全对", f"{gap:+.1%}", ""))
    return rows


if __name__ == "__main__":
    for figure, value, goal in run(quick=False):
        print(f"{figure}\t{value}\t{goal}")
