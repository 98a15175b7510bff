"""The ledger as plain values: what the parser needs to know about places, people and issues.

Built by services/snapshot.py from the database (or by tests from a YAML file); the parser
never opens a database session.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlaceRef:
    township: str
    village: str


@dataclass(frozen=True)
class HouseholdRef:
    code: str
    township: str
    village: str
    head: str


@dataclass(frozen=True)
class IssueRef:
    code: str
    township: str
    village: str
    household_code: str | None
    category: str
    status: str
    description: str = ""


@dataclass(frozen=True)
class LedgerSnapshot:
    townships: tuple[str, ...]
    villages: tuple[PlaceRef, ...]
    households: tuple[HouseholdRef, ...]
    issues: tuple[IssueRef, ...]  # every issue that is not 已销号


def snapshot_from_ledger_file(path) -> LedgerSnapshot:
    """A ledger YAML file (services/demo_county.yaml's story part, or a corpus's ledger.yaml) as
    a snapshot: townships and villages, households, and the issues that are not 已销号."""
    from pathlib import Path

    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    villages = tuple(PlaceRef(t, v) for t, names in data["townships"].items() for v in names)
    households = tuple(
        HouseholdRef(str(h["code"]), h["township"], h["village"], h["head"]) for h in data.get("households") or ()
    )
    by_head = {(h.township, h.village, h.head): h.code for h in households}
    codes = {h.code for h in households}
    issues = []
    for row in data.get("issues") or ():
        if row["status"] == "已销号":
            continue
        said = row.get("household")
        code = None
        if said:
            code = str(said) if str(said) in codes else by_head.get((row["township"], row["village"], said))
        issues.append(IssueRef(str(row["code"]), row["township"], row["village"], code, row["category"],
                               row["status"], row.get("description", "")))
    return LedgerSnapshot(tuple(data["townships"]), villages, households, tuple(issues))
