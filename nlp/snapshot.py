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
