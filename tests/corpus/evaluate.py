"""Score the parser on the labelled corpus (tests/corpus/messages.yaml).

    python -m tests.corpus.evaluate [--corpus FILE] [--db URL] [--errors]

Builds the demo county into a temporary SQLite database (services.demo.build_demo) and
reads the parser's snapshot from it, or reads the ledger of ``--db``; falls back to the
story part of services/demo_county.yaml when the demo builder is not available. Prints
accuracy per field, the share of messages right in every field, the confident wrong
writes and the unnecessary confirmations, scored as docs/parser-contract.md says.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nlp.snapshot import HouseholdRef, IssueRef, LedgerSnapshot, PlaceRef  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "messages.yaml"
DEMO_COUNTY = ROOT / "services" / "demo_county.yaml"
DEFAULT_TODAY = dt.date(2026, 12, 1)
FIELDS = ("intent", "township", "village", "household", "category", "status", "deadline")
WRITES = ("report", "new_issue")
GOALS = {"field": 0.95, "all_fields": 0.85, "unnecessary_confirmations": 0.10}


@dataclass
class Item:
    text: str
    expect: dict
    today: dt.date = DEFAULT_TODAY
    scope: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Outcome:
    item: Item
    got: dict
    wrong_fields: list[str]
    confident_wrong_write: bool
    unnecessary_confirmation: bool
    missed_confirmation: bool


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def field_accuracy(self, name: str) -> float:
        """Share of messages whose ``name`` is right."""
        right = sum(name not in o.wrong_fields for o in self.outcomes)
        return right / self.total if self.total else 0.0

    @property
    def all_fields(self) -> float:
        return sum(not o.wrong_fields for o in self.outcomes) / self.total if self.total else 0.0

    @property
    def confident_wrong_writes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.confident_wrong_write]

    @property
    def unnecessary_confirmations(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unnecessary_confirmation]

    @property
    def unnecessary_share(self) -> float:
        return len(self.unnecessary_confirmations) / self.total if self.total else 0.0

    def meets_goals(self) -> bool:
        """True when every goal of the issue is met."""
        return (
            all(self.field_accuracy(name) >= GOALS["field"] for name in FIELDS)
            and self.all_fields >= GOALS["all_fields"]
            and not self.confident_wrong_writes
            and self.unnecessary_share <= GOALS["unnecessary_confirmations"]
        )


# --- the ledger the corpus is labelled against ----------------------------------------------

def snapshot_from_county_yaml(path: Path = DEMO_COUNTY) -> LedgerSnapshot:
    """The story part of the demo county as a snapshot (no database, no generated rows)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    villages = tuple(PlaceRef(t, v) for t, names in data["townships"].items() for v in names)
    households = tuple(
        HouseholdRef(str(h["code"]), h["township"], h["village"], h["head"]) for h in data["households"]
    )
    by_head = {(h.township, h.village, h.head): h.code for h in households}
    codes = {h.code for h in households}
    issues = []
    for row in data["issues"]:
        if row["status"] == "已销号":
            continue
        said = row.get("household")
        code = None
        if said:
            code = str(said) if str(said) in codes else by_head.get((row["township"], row["village"], said))
        issues.append(IssueRef(row["code"], row["township"], row["village"], code, row["category"],
                               row["status"], row.get("description", "")))
    return LedgerSnapshot(tuple(data["townships"]), villages, households, tuple(issues))


def demo_snapshot(today: dt.date = DEFAULT_TODAY) -> LedgerSnapshot:
    """The full demo county (story + generated rows) built into a temporary SQLite file."""
    try:
        from services.demo import build_demo
    except ImportError:
        return snapshot_from_county_yaml()
    from db.session import Database
    from services.snapshot import load_snapshot

    with tempfile.TemporaryDirectory() as folder:
        database = Database.connect(f"sqlite:///{Path(folder) / 'demo.db'}")
        try:
            build_demo(database, today)
            with database.transaction() as session:
                return load_snapshot(session)
        finally:
            database.dispose()


def database_snapshot(url: str) -> LedgerSnapshot:
    """The ledger of an existing database."""
    from db.session import Database
    from services.snapshot import load_snapshot

    database = Database.connect(url)
    try:
        with database.transaction() as session:
            return load_snapshot(session)
    finally:
        database.dispose()


def default_calendar():
    """The working calendar of config.yaml (2027 holidays from its fallback list)."""
    from nlp.workdays import calendar_from_settings
    from settings import load_settings

    return calendar_from_settings(load_settings(ROOT / "config.yaml", environ={}))


# --- scoring ----------------------------------------------------------------------------------

def load_corpus(path: Path = CORPUS) -> list[Item]:
    """The labelled messages."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    items = []
    for row in rows:
        today = row.get("today") or DEFAULT_TODAY
        if isinstance(today, str):
            today = dt.date.fromisoformat(today)
        items.append(Item(str(row["text"]), dict(row["expect"]), today, tuple(row.get("scope") or ()),
                          row.get("note") or ""))
    return items


def score(item: Item, got: dict) -> Outcome:
    """Compare one parse with its label, by the contract's scoring rules."""
    expect = item.expect
    wrong = []
    for name in FIELDS:
        want = expect.get(name)
        if name == "deadline" and want is not None:
            want = str(want)
        if got.get(name) != want:
            wrong.append(name)
    confident_write = got["intent"] in WRITES and not got["needs_confirmation"]
    wrong_write = (
        expect["intent"] not in WRITES
        or any(name in wrong for name in ("village", "household", "category"))
        or (got.get("status") == "resolved") != (expect.get("status") == "resolved")
    )
    return Outcome(
        item=item,
        got=got,
        wrong_fields=wrong,
        confident_wrong_write=confident_write and wrong_write,
        unnecessary_confirmation=bool(got["needs_confirmation"]) and not expect.get("confirm"),
        missed_confirmation=not got["needs_confirmation"] and bool(expect.get("confirm")),
    )


def evaluate(parser, items: Sequence[Item]) -> Report:
    """Parse every item with its today and scope and score it."""
    report = Report()
    for item in items:
        got = parser.parse(item.text, item.today, item.scope).to_contract()
        report.outcomes.append(score(item, got))
    return report


def _brief(values: dict) -> str:
    keys = ("intent", "township", "village", "household", "category", "status", "deadline")
    parts = [str(values.get(k)) for k in keys]
    confirm = values.get("confirm", values.get("needs_confirmation"))
    return " / ".join(parts) + (" / 确认" if confirm else "")


def print_report(report: Report, show_errors: bool = False, out=sys.stdout) -> None:
    """The figures, then the confident wrong writes and unnecessary confirmations."""
    print(f"语料 {report.total} 条", file=out)
    for name in FIELDS:
        mark = "✓" if report.field_accuracy(name) >= GOALS["field"] else "✗"
        print(f"  {name:10s} {report.field_accuracy(name):6.1%} {mark}", file=out)
    print(f"  全部字段正确 {report.all_fields:6.1%} (目标 ≥ {GOALS['all_fields']:.0%})", file=out)
    wrong = report.confident_wrong_writes
    print(f"  有把握的错误写入 {len(wrong)} 条 (目标 0)", file=out)
    print(f"  不必要的确认 {len(report.unnecessary_confirmations)} 条 = {report.unnecessary_share:.1%}"
          f" (目标 ≤ {GOALS['unnecessary_confirmations']:.0%})", file=out)
    missed = [o for o in report.outcomes if o.missed_confirmation]
    print(f"  该确认而没确认 {len(missed)} 条", file=out)
    if wrong:
        print("\n有把握的错误写入:", file=out)
        for outcome in wrong:
            print(f"  {outcome.item.text}\n    应为 {_brief(outcome.item.expect)}\n"
                  f"    得到 {_brief(outcome.got)}", file=out)
    if report.unnecessary_confirmations:
        print("\n不必要的确认:", file=out)
        for outcome in report.unnecessary_confirmations:
            print(f"  {outcome.item.text}  ->  {_brief(outcome.got)}", file=out)
    if show_errors:
        print("\n字段错误:", file=out)
        for outcome in report.outcomes:
            if outcome.wrong_fields:
                print(f"  [{','.join(outcome.wrong_fields)}] {outcome.item.text}"
                      f"\n    应为 {_brief(outcome.item.expect)}\n    得到 {_brief(outcome.got)}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.evaluate",
        description="用标注语料评估解析器：各字段准确率、有把握的错误写入、不必要的确认。",
        epilog="例如:\n  python -m tests.corpus.evaluate\n  python -m tests.corpus.evaluate --errors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="语料文件，默认 tests/corpus/messages.yaml")
    parser.add_argument("--db", metavar="URL", help="用这个数据库里的台账，而不是新建演示县")
    parser.add_argument("--story-only", action="store_true", help="只用 demo_county.yaml 的故事部分（不建库）")
    parser.add_argument("--errors", action="store_true", help="列出每条字段错误")
    args = parser.parse_args(argv)

    from nlp.parser import Parser

    if args.db:
        snapshot = database_snapshot(args.db)
    elif args.story_only:
        snapshot = snapshot_from_county_yaml()
    else:
        snapshot = demo_snapshot()
    items = load_corpus(args.corpus)
    report = evaluate(Parser(snapshot, default_calendar()), items)
    print_report(report, show_errors=args.errors)
    return 0 if report.meets_goals() else 1


if __name__ == "__main__":
    sys.exit(main())
