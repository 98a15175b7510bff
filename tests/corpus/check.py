"""Check a labelled corpus file against its ledger: keys, values and names (no parsing).

    python -m tests.corpus.check tests/corpus/dev/NAME/messages.yaml --ledger tests/corpus/dev/NAME/ledger.yaml

Reports every problem as ``item N: reason`` and exits 1 when there is one. It never runs the
parser, so a labeller can use it without seeing how messages are read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

INTENTS = ("report", "new_issue", "query_household", "query_area", "query_due", "query_overdue",
           "undo", "help", "unknown")
STATUSES = ("resolved", "in_progress", "open", None)
CATEGORIES = ("饮水", "住房", "医疗", "教育", "产业", "就业", "兜底保障", "基础设施", "档案", "集体经济")
KEYS = ("intent", "township", "village", "household", "category", "status", "deadline", "confirm")
FACT_KEYS = KEYS[:-1]
LEDGER_STATUSES = ("未整改", "整改中", "已整改", "已销号")


def ledger_problems(ledger: dict) -> list[str]:
    """What is wrong with a ledger file."""
    problems = []
    townships = ledger.get("townships") or {}
    villages = {(t, v) for t, names in townships.items() for v in names}
    heads = {(h["township"], h["village"], h["head"]) for h in ledger.get("households") or []}
    for row in ledger.get("households") or []:
        if (row["township"], row["village"]) not in villages:
            problems.append(f"household {row.get('code')}: {row['township']}/{row['village']} is no ledger village")
    for row in ledger.get("issues") or []:
        if (row["township"], row["village"]) not in villages:
            problems.append(f"issue {row.get('code')}: {row['township']}/{row['village']} is no ledger village")
        if row.get("category") not in CATEGORIES:
            problems.append(f"issue {row.get('code')}: category {row.get('category')!r}")
        if row.get("status") not in LEDGER_STATUSES:
            problems.append(f"issue {row.get('code')}: status {row.get('status')!r}")
        said = row.get("household")
        codes = {h["code"] for h in ledger.get("households") or []}
        if said and str(said) not in codes and (row["township"], row["village"], said) not in heads:
            problems.append(f"issue {row.get('code')}: household {said!r} not in {row['village']}")
    return problems


def _fact_problems(where: str, fact: dict, ledger: dict) -> list[str]:
    problems = []
    townships = ledger.get("townships") or {}
    villages = {v for names in townships.values() for v in names}
    heads = {h["head"] for h in ledger.get("households") or []}
    if fact.get("intent") not in INTENTS:
        problems.append(f"{where}: intent {fact.get('intent')!r}")
    if fact.get("status") not in STATUSES:
        problems.append(f"{where}: status {fact.get('status')!r}")
    if fact.get("category") not in (*CATEGORIES, None):
        problems.append(f"{where}: category {fact.get('category')!r}")
    if fact.get("township") not in (*townships, None):
        problems.append(f"{where}: township {fact.get('township')!r} is not in the ledger")
    if fact.get("village") not in (*villages, None):
        problems.append(f"{where}: village {fact.get('village')!r} is not in the ledger")
    if fact.get("township") and fact.get("village") and fact["village"] not in townships.get(fact["township"], ()):
        problems.append(f"{where}: {fact['village']} is not in {fact['township']}")
    if fact.get("household") not in (*heads, None):
        problems.append(f"{where}: household {fact.get('household')!r} is not in the ledger")
    deadline = fact.get("deadline")
    if deadline is not None:
        try:
            dt.date.fromisoformat(str(deadline))
        except ValueError:
            problems.append(f"{where}: deadline {deadline!r} is not YYYY-MM-DD")
    if fact.get("intent") in ("unknown", "undo", "help"):
        filled = [k for k in FACT_KEYS[1:] if fact.get(k) is not None]
        if filled:
            problems.append(f"{where}: {fact['intent']} carries no slots, but {', '.join(filled)} set")
    return problems


def corpus_problems(items: list, ledger: dict) -> list[str]:
    """What is wrong with a corpus file, given its ledger."""
    problems = []
    for number, item in enumerate(items, 1):
        where = f"item {number}"
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            problems.append(f"{where}: no text")
            continue
        expect = item.get("expect") or {}
        missing = [k for k in KEYS if k not in expect]
        if missing:
            problems.append(f"{where}: expect lacks {', '.join(missing)}")
            continue
        if not isinstance(expect["confirm"], bool):
            problems.append(f"{where}: confirm must be true or false")
        problems += _fact_problems(where, expect, ledger)
        for index, fact in enumerate(item.get("also") or [], 2):
            missing = [k for k in FACT_KEYS if k not in fact]
            if missing:
                problems.append(f"{where} fact {index}: lacks {', '.join(missing)}")
            else:
                problems += _fact_problems(f"{where} fact {index}", fact, ledger)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.check",
        description="检查标注语料的格式和名称（不运行解析器）。",
        epilog="例如:\n  python -m tests.corpus.check tests/corpus/dev/安河县/messages.yaml "
               "--ledger tests/corpus/dev/安河县/ledger.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--ledger", type=Path, required=True)
    args = parser.parse_args(argv)
    ledger = yaml.safe_load(args.ledger.read_text(encoding="utf-8")) or {}
    items = yaml.safe_load(args.corpus.read_text(encoding="utf-8")) or []
    problems = ledger_problems(ledger) + corpus_problems(items, ledger)
    for problem in problems:
        print(problem)
    intents: dict[str, int] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("expect"), dict):
            intents[item["expect"].get("intent")] = intents.get(item["expect"].get("intent"), 0) + 1
    print(f"{len(items)} items, {len(problems)} problems; by intent: {intents}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
