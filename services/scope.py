"""Who may read and write what: scope names and the access policy over the ledger.

A user's scope is a list of canonical names: a township ("东光镇"), a village
("东光镇/东台村") or a category ("饮水"). County-wide roles (admin, supervisor, leader)
have an empty scope. This module is the one place that answers "may this user read or
change this issue / see this household", for every front end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import Session

from db.models import Issue, Township, User, Village
from services.errors import InvalidInput
from services.places import places_named
from vocab import CATEGORIES, ROLE_LABELS, Role

COUNTY_WIDE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER})
WRITING_ROLES = frozenset({Role.ADMIN, Role.TOWNSHIP, Role.VILLAGE, Role.DEPARTMENT})
CLOSING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
COUNTY_NAMES = frozenset({"", "县", "全县", "county"})

# A bureau's name stands for its categories (水利局 -> 饮水), so that an admin can write
# `--scope 水利局` and a bureau's group can `/subscribe 水利局`.
BUREAU_CATEGORIES: dict[str, tuple[str, ...]] = {
    "水利局": ("饮水",),
    "水务局": ("饮水",),
    "住建局": ("住房",),
    "卫健局": ("医疗",),
    "医保局": ("医疗",),
    "教育局": ("教育",),
    "农业农村局": ("产业", "集体经济"),
    "人社局": ("就业",),
    "民政局": ("兜底保障",),
    "交通局": ("基础设施",),
}


@dataclass(frozen=True)
class Scope:
    """A parsed scope: what a user (or a digest subscription) covers."""

    county_wide: bool
    townships: frozenset[str] = frozenset()
    villages: frozenset[tuple[str, str]] = frozenset()
    categories: frozenset[str] = frozenset()

    @classmethod
    def county(cls) -> Scope:
        return cls(county_wide=True)

    @classmethod
    def from_names(cls, names: Iterable[str], *, county_wide: bool = False) -> Scope:
        townships, villages, categories = set(), set(), set()
        for name in names:
            if "/" in name:
                township, village = name.split("/", 1)
                villages.add((township, village))
            elif name in CATEGORIES:
                categories.add(name)
            elif name in COUNTY_NAMES:
                county_wide = True
            else:
                townships.add(name)
        return cls(county_wide, frozenset(townships), frozenset(villages), frozenset(categories))

    @classmethod
    def of_user(cls, user: User) -> Scope:
        return cls.from_names(user.scope or (), county_wide=user.role in COUNTY_WIDE_ROLES)

    @property
    def is_empty(self) -> bool:
        return not (self.county_wide or self.townships or self.villages or self.categories)

    def covers_place(self, township: str, village: str) -> bool:
        """True when the place lies in a township or village of the scope (categories do not
        cover places: a bureau sees its categories, not a village's households)."""
        return (
            self.county_wide
            or township in self.townships
            or (township, village) in self.villages
        )

    def covers_issue(self, township: str, village: str, category: str) -> bool:
        return self.covers_place(township, village) or category in self.categories

    def issue_clause(self) -> ColumnElement[bool]:
        """SQL condition on Issue (joined to Village and Township) selecting this scope."""
        if self.county_wide:
            return true()
        parts = self._place_parts()
        if self.categories:
            parts.append(Issue.category.in_(sorted(self.categories)))
        return or_(*parts) if parts else false()

    def place_clause(self) -> ColumnElement[bool]:
        """SQL condition on Village joined to Township (households, villages)."""
        if self.county_wide:
            return true()
        parts = self._place_parts()
        return or_(*parts) if parts else false()

    def _place_parts(self) -> list[ColumnElement[bool]]:
        parts: list[ColumnElement[bool]] = []
        if self.townships:
            parts.append(Township.name.in_(sorted(self.townships)))
        for township, village in sorted(self.villages):
            parts.append(and_(Township.name == township, Village.name == village))
        return parts

    def describe(self) -> str:
        """Short Chinese description for /me and refusals."""
        if self.county_wide:
            return "全县"
        names = sorted(self.townships) + [f"{t}{v}" for t, v in sorted(self.villages)]
        names += [f"{c}（全县）" for c in sorted(self.categories)]
        return "、".join(names) or "无"


def may_write(user: User, township: str, village: str, category: str) -> bool:
    """Status reports and new issues: only writing roles, only inside their scope."""
    if not user.active or user.role not in WRITING_ROLES:
        return False
    return Scope.of_user(user).covers_issue(township, village, category)


def may_close(user: User) -> bool:
    """Only the supervision office (and admins) close out 已销号 or reopen."""
    return user.active and user.role in CLOSING_ROLES


def may_see_household(user: User, township: str, village: str, chat_type: str) -> bool:
    """Household details: private chats only, and only for users whose scope covers it."""
    return chat_type == "private" and user.active and Scope.of_user(user).covers_place(township, village)


def write_refusal(user: User) -> str:
    """One sentence saying why a write was refused."""
    if user.role not in WRITING_ROLES:
        label = ROLE_LABELS.get(user.role, user.role)  # type: ignore[call-overload]
        return f"您的角色（{label}）只能查看，不能修改台账。"
    return f"该问题不在您的负责范围（{Scope.of_user(user).describe()}）内，不能修改。"


def resolve_scope_name(session: Session, name: str) -> str:
    """Turn what a person typed (东光镇, 东台村, 东光镇/东台村, 饮水, 水利局, 全县) into a
    canonical scope name; raise InvalidInput naming the problem when it is unknown or
    ambiguous."""
    raw = name.strip().replace("／", "/")
    if raw in COUNTY_NAMES:
        return ""
    if raw in CATEGORIES:
        return raw
    if raw in BUREAU_CATEGORIES:
        categories = BUREAU_CATEGORIES[raw]
        if len(categories) == 1:
            return categories[0]
        raise InvalidInput(f"“{raw}”对应多个类别（{'、'.join(categories)}），请逐个写明类别。")
    places = places_named(session, raw)
    if "/" in raw and not places:
        township, village = (part.strip() for part in raw.split("/", 1))
        raise InvalidInput(f"台账里没有“{township}{village}”。")
    if len(places) == 1:
        township, village = places[0]
        return f"{township}/{village}" if village else township
    if places:
        options = "、".join(f"{township}/{raw}" for township, _village in places)
        raise InvalidInput(f"“{raw}”在多个乡镇都有，请写成 {options}。")
    raise InvalidInput(f"台账里没有叫“{raw}”的乡镇、村或类别。")


def resolve_scope_names(session: Session, text: str) -> list[str]:
    """Comma-separated names (, ， 、) -> canonical names, in order, without duplicates."""
    names: list[str] = []
    for part in text.replace("，", ",").replace("、", ",").split(","):
        if part.strip():
            canonical = resolve_scope_name(session, part)
            if canonical not in names:
                names.append(canonical)
    return [n for n in names if n]  # county-wide is the empty scope

