"""Score the parser on the development and held-out corpora, side by side.

    python -m tests.corpus.evaluate [--errors] [--heldout-errors]
    python -m tests.corpus.evaluate --corpus FILE [--ledger LEDGER | --db URL] [--errors]

Development: tests/corpus/messages.yaml (demo county) and tests/corpus/dev/*/ (each set over its
own ledger.yaml). Held-out: tests/corpus/heldout/*/, refused unless its files match its
SHA256SUMS (frozen before it was first scored), and printed as figures only unless
``--heldout-errors``. Each set is read by the rules alone, the statistical reader alone and the
pair (what the bot does); the gap is development minus held-out.

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

import hashlib  # noqa: E402

from nlp.snapshot import LedgerSnapshot, snapshot_from_ledger_file  # noqa: E402

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
    """The story part of the demo county (or any ledger file) as a snapshot."""
    return snapshot_from_ledger_file(path)


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


READINGS = ("rules", "reader", "pair")
DEV_DIR = Path(__file__).resolve().parent / "dev"
HELDOUT_DIR = Path(__file__).resolve().parent / "heldout"
CONFIDENT = 0.8  # the statistical reader alone writes without asking at this probability


def evaluate(parser, items: Sequence[Item], reading: str = "pair") -> Report:
    """Parse every item with its today and scope and score it. ``reading``: "pair" (what the
    bot does), "rules" (``parser`` built without a second reader) or "reader" (the
    statistical reader's intent, status and certainty, with the rules' places)."""
    report = Report()
    for item in items:
        parse = parser.parse(item.text, item.today, item.scope)
        got = reader_alone(parse) if reading == "reader" else parse.to_contract()
        report.outcomes.append(score(item, got))
    return report


def reader_alone(parse) -> dict:
    """The contract the statistical reader alone would give: its intent and status, the rules'
    places and category, asking when a place is doubtful or it is less than sure."""
    got = parse.to_contract()
    guess = parse.guess
    if guess is None:
        return got
    if guess.writes:
        got["intent"] = parse.intent if parse.intent in WRITES else "report"
        got["status"] = guess.status
        unsure = guess.intent_p < CONFIDENT or guess.status_p < CONFIDENT
    else:
        got["intent"], got["status"], got["deadline"] = guess.intent, None, None
        unsure = guess.intent_p < CONFIDENT
    got["needs_confirmation"] = unsure or bool(parse.flags & {"place", "several"})
    return got


@dataclass(frozen=True)
class CorpusSet:
    """A labelled set and the ledger it was written against."""

    name: str
    kind: str  # dev | heldout
    messages: Path
    ledger: Path | None  # None: the full demo county

    def snapshot(self) -> LedgerSnapshot:
        return demo_snapshot() if self.ledger is None else snapshot_from_ledger_file(self.ledger)


class NotFrozen(Exception):
    """A held-out set whose files do not match its SHA256SUMS."""


def dev_sets() -> list[CorpusSet]:
    """The development sets: the demo county's corpus and tests/corpus/dev/*/."""
    sets = [CorpusSet("演示县", "dev", CORPUS, None)]
    for folder in sorted(DEV_DIR.glob("*/")) if DEV_DIR.exists() else ():
        if (folder / "messages.yaml").exists() and (folder / "ledger.yaml").exists():
            sets.append(CorpusSet(folder.name, "dev", folder / "messages.yaml", folder / "ledger.yaml"))
    return sets


def heldout_sets() -> list[CorpusSet]:
    """The held-out sets under tests/corpus/heldout/*/ (each checked against its SHA256SUMS)."""
    sets = []
    for folder in sorted(HELDOUT_DIR.glob("*/")) if HELDOUT_DIR.exists() else ():
        if (folder / "messages.yaml").exists():
            verify_frozen(folder)
            sets.append(CorpusSet(folder.name, "heldout", folder / "messages.yaml", folder / "ledger.yaml"))
    return sets


def _inside_heldout(path: Path) -> bool:
    """True when ``path`` lies under tests/corpus/heldout/, said directly or through a symlink."""
    folders = {HELDOUT_DIR.absolute(), HELDOUT_DIR.resolve()}
    return bool(folders & ({*path.absolute().parents} | {*path.resolve().parents}))


def _frozen_digest(path: Path) -> bool:
    """True when the file is, byte for byte, one a held-out set froze (a copy kept elsewhere)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return False
    sums = HELDOUT_DIR.glob("*/SHA256SUMS") if HELDOUT_DIR.exists() else ()
    return any(line.split(maxsplit=1)[0] == digest
               for file in sums for line in file.read_text(encoding="utf-8").splitlines() if line.strip())


def verify_frozen(folder: Path) -> None:
    """Raise NotFrozen unless every file named in the folder's SHA256SUMS has that digest."""
    sums = folder / "SHA256SUMS"
    if not sums.exists():
        raise NotFrozen(f"{folder}: 没有 SHA256SUMS，留出集必须先冻结再评分")
    named = set()
    for line in sums.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        name = name.lstrip("*")
        named.add(name)
        actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if actual != digest:
            raise NotFrozen(f"{folder / name}: sha256 与 SHA256SUMS 不符，留出集被改过")
    if not {"messages.yaml", "ledger.yaml"} <= named:
        raise NotFrozen(f"{folder}: SHA256SUMS 必须包含 messages.yaml 和 ledger.yaml")


def score_set(corpus: CorpusSet, calendar, readings: Sequence[str] = READINGS) -> dict[str, Report]:
    """The set read each way in ``readings``."""
    from nlp.parser import Parser

    snapshot = corpus.snapshot()
    items = load_corpus(corpus.messages)
    paired = Parser(snapshot, calendar)
    reports = {}
    for reading in readings:
        parser = Parser(snapshot, calendar, reader=None) if reading == "rules" else paired
        reports[reading] = evaluate(parser, items, reading)
    return reports


def combined(reports: Sequence[Report]) -> Report:
    """Several sets' outcomes as one report."""
    total = Report()
    for report in reports:
        total.outcomes.extend(report.outcomes)
    return total


def summary_line(label: str, report: Report) -> str:
    """One row of the side-by-side table."""
    worst = min(report.field_accuracy(name) for name in FIELDS) if report.total else 0.0
    fields = " ".join(f"{report.field_accuracy(name):5.1%}" for name in FIELDS)
    return (f"{label:22s} {report.total:4d}  {fields}  {worst:5.1%}  {report.all_fields:5.1%}"
            f"  {len(report.confident_wrong_writes):3d}  {report.unnecessary_share:5.1%}")


HEADER = (f"{'集合 · 读法':20s} {'条数':>4s}  " + " ".join(f"{n[:5]:>5s}" for n in FIELDS)
          + f"  {'最低':>5s}  {'全对':>5s}  {'错写':>3s}  {'多问':>5s}")


def print_side_by_side(dev: dict[str, list[Report]], held: dict[str, list[Report]],
                       names: dict[str, list[str]], out=sys.stdout) -> None:
    """Every set and reading, then development vs held-out totals and the gap."""
    print(HEADER, file=out)
    for kind, by_reading in (("dev", dev), ("heldout", held)):
        for reading, reports in by_reading.items():
            for name, report in zip(names[kind], reports):
                print(summary_line(f"{name} · {reading}", report), file=out)
    print("", file=out)
    for reading in READINGS:
        if reading not in dev:
            continue
        dev_total = combined(dev[reading])
        print(summary_line(f"开发集合计 · {reading}", dev_total), file=out)
        if held.get(reading):
            held_total = combined(held[reading])
            print(summary_line(f"留出集合计 · {reading}", held_total), file=out)
            gap = dev_total.all_fields - held_total.all_fields
            print(f"{'':22s} 差距（开发 − 留出）：全对 {gap:+.1%}，错写 "
                  f"{len(dev_total.confident_wrong_writes)} vs {len(held_total.confident_wrong_writes)}，"
                  f"多问 {dev_total.unnecessary_share:.1%} vs {held_total.unnecessary_share:.1%}", file=out)


def _brief(values: dict) -> str:
    keys = ("intent", "township", "village", "household", "category", "status", "deadline")
    parts = [str(values.get(k)) for k in keys]
    confirm = values.get("confirm", values.get("needs_confirmation"))
    return " / ".join(parts) + (" / 确认" if confirm else "")


def print_report(report: Report, show_errors: bool = False, out=None, show_items: bool = True) -> None:
    """The figures, then (with ``show_items``) the confident wrong writes and unnecessary
    confirmations."""
    out = out or sys.stdout
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
    if not show_items:
        return
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
        description="用开发集和留出集评估解析器（规则、统计、两者合用），并排打印差距。",
        epilog="例如:\n  python -m tests.corpus.evaluate\n  python -m tests.corpus.evaluate --errors\n"
               "  python -m tests.corpus.evaluate --corpus tests/corpus/dev/anhe/messages.yaml "
               "--ledger tests/corpus/dev/anhe/ledger.yaml --errors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", type=Path, help="只评估这一个语料文件（默认：全部开发集和留出集）")
    parser.add_argument("--ledger", type=Path, help="--corpus 对应的台账 ledger.yaml（默认演示县）")
    parser.add_argument("--db", metavar="URL", help="--corpus 用这个数据库里的台账")
    parser.add_argument("--story-only", action="store_true", help="--corpus 只用 demo_county.yaml 的故事部分（不建库）")
    parser.add_argument("--errors", action="store_true", help="列出开发集的每条字段错误")
    parser.add_argument("--heldout-errors", action="store_true",
                        help="也列出留出集的错误（只在一轮修改结束后报告时用，不要据此调规则）")
    parser.add_argument("--no-heldout", action="store_true", help="只评估开发集")
    args = parser.parse_args(argv)

    from nlp.parser import Parser

    calendar = default_calendar()
    if args.corpus:
        if args.db:
            snapshot = database_snapshot(args.db)
        elif args.ledger:
            snapshot = snapshot_from_ledger_file(args.ledger)
        elif args.story_only:
            snapshot = snapshot_from_county_yaml()
        else:
            snapshot = demo_snapshot()
        # A held-out file scored alone shows its figures only, like the full run: its texts and
        # errors are shown only when asked with --heldout-errors, and only once it is frozen.
        inside = _inside_heldout(args.corpus)
        held_out = inside or _frozen_digest(args.corpus)
        if inside:
            try:
                verify_frozen(args.corpus.absolute().parent)
            except NotFrozen as refusal:
                print(f"拒绝评分：{refusal}", file=sys.stderr)
                return 2
        show = args.heldout_errors or not held_out
        report = evaluate(Parser(snapshot, calendar), load_corpus(args.corpus))
        print_report(report, show_errors=args.errors and show, show_items=show)
        return 0 if report.meets_goals() else 1

    try:
        held_sets = [] if args.no_heldout else heldout_sets()
    except NotFrozen as refusal:
        print(f"拒绝评分：{refusal}", file=sys.stderr)
        return 2
    dev_sets_ = dev_sets()
    dev: dict[str, list[Report]] = {r: [] for r in READINGS}
    held: dict[str, list[Report]] = {r: [] for r in READINGS}
    for corpus in dev_sets_:
        for reading, report in score_set(corpus, calendar).items():
            dev[reading].append(report)
    for corpus in held_sets:
        for reading, report in score_set(corpus, calendar).items():
            held[reading].append(report)
    names = {"dev": [c.name for c in dev_sets_], "heldout": [c.name for c in held_sets]}
    print_side_by_side(dev, held, names)
    for corpus, report in zip(dev_sets_, dev["pair"]):
        if args.errors or report.confident_wrong_writes:
            print(f"\n== 开发集 {corpus.name}（两者合用）==")
            print_report(report, show_errors=args.errors)
    if args.heldout_errors:
        for corpus, report in zip(held_sets, held["pair"]):
            print(f"\n== 留出集 {corpus.name}（两者合用）==")
            print_report(report, show_errors=True)
    held_ok = all(report.meets_goals() for report in held["pair"])
    return 0 if held_ok and all(r.meets_goals() for r in dev["pair"][:1]) else 1


if __name__ == "__main__":
    sys.exit(main())
