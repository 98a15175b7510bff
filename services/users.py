"""The bot's users: look-up, listing, role and scope changes, disabling.

Every change is written to the AuditLog in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache

from sqlalchemy import Select, bindparam, func, inspect, select
from sqlalchemy.orm import Session

from db.models import AuditLog, User
from services.errors import Conflict, InvalidInput, NotFound
from services.scope import COUNTY_WIDE_ROLES, Scope, resolve_scope_names
from vocab import ROLE_LABELS, Role

# What people type for a role: English names and the Chinese labels.
ROLE_WORDS: dict[str, Role] = {role.value: role for role in Role} | {
    label: role for role, label in ROLE_LABELS.items()
} | {"扶贫办": Role.ADMIN, "管理员": Role.ADMIN, "督巡办": Role.SUPERVISOR, "领导": Role.LEADER,
     "乡镇": Role.TOWNSHIP, "村": Role.VILLAGE, "村干部": Role.VILLAGE, "工作队": Role.VILLAGE,
     "部门": Role.DEPARTMENT}


def parse_role(text: str) -> Role:
    """admin / supervisor / leader / township / village / department (or the Chinese label)."""
    role = ROLE_WORDS.get(text.strip().lower()) or ROLE_WORDS.get(text.strip())
    if role is None:
        names = ", ".join(role.value for role in Role)
        raise InvalidInput(f"没有“{text}”这个角色，可用：{names}。")
    return role


def role_label(role: str) -> str:
    """The Chinese label of a role name."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def check_scope_fits_role(role: Role, names: list[str]) -> None:
    """County-wide roles take no scope; the others need names of the right kind."""
    scope = Scope.from_names(names)
    if role in COUNTY_WIDE_ROLES:
        if names:
            raise InvalidInput(f"{role_label(role)}的范围是全县，不需要写范围。")
        return
    if not names:
        raise InvalidInput(f"{role_label(role)}需要写明范围（乡镇、村或类别）。")
    if role == Role.DEPARTMENT and (scope.townships or scope.villages):
        raise InvalidInput("行业部门的范围是问题类别（如 饮水，或 水利局）。")
    if role == Role.VILLAGE and (scope.townships or scope.categories):
        raise InvalidInput("驻村工作队的范围是村（如 东光镇/东台村）。")
    if role == Role.TOWNSHIP and scope.categories:
        raise InvalidInput("乡镇干部的范围是乡镇或村。")


def describe_user(user: User) -> str:
    """One line: 姓名 · 角色 · 范围."""
    state = "" if user.active else "（已停用）"
    return f"{user.name} · {role_label(user.role)} · 范围：{Scope.of_user(user).describe()}{state}"


_PRELOADED = "users_by_telegram_id"  # session.info key: users preload_senders read


def preload_senders(session: Session, telegram_ids: Iterable[int]) -> None:
    """Read the users of many Telegram ids with one SELECT (the senders of a batch of
    turns), so that :func:`find_by_telegram_id` finds them in this session without one
    SELECT each."""
    preloaded = session.info.setdefault(_PRELOADED, {})
    wanted = set(telegram_ids) - preloaded.keys()
    if wanted:
        for user in session.scalars(select(User).where(User.telegram_id.in_(wanted))):
            preloaded[user.telegram_id] = user


def find_by_telegram_id(session: Session, telegram_id: int) -> User | None:
    """The user registered with this Telegram id, if any."""
    user = session.info.get(_PRELOADED, {}).get(telegram_id)
    if user is not None and _still_theirs(session, user, telegram_id):
        return user
    return session.scalar(_by_telegram_id(), {"telegram_id": telegram_id})


def _still_theirs(session: Session, user: User, telegram_id: int) -> bool:
    """A preloaded user still in the session, not deleted, with that id (an earlier turn
    of the batch may have changed it; reading an attribute reloads it if it was undone)."""
    state = inspect(user)
    return user in session and not (state.deleted or state.was_deleted) and user.telegram_id == telegram_id


@cache
def _by_telegram_id() -> Select:
    """Built once: every message from Telegram starts here."""
    return select(User).where(User.telegram_id == bindparam("telegram_id"))


def find_by_name(session: Session, name: str) -> User:
    """The one user called ``name`` (or with that id, written #12); NotFound or InvalidInput."""
    name = name.strip()
    if name.startswith("#") and name[1:].isdigit():
        user = session.get(User, int(name[1:]))
        if user is None:
            raise NotFound(f"没有编号为 {name} 的用户。")
        return user
    users = session.scalars(select(User).where(User.name == name).order_by(User.id)).all()
    if not users:
        raise NotFound(f"没有名为“{name}”的用户。")
    if len(users) > 1:
        ids = "、".join(f"#{u.id}" for u in users)
        raise InvalidInput(f"有 {len(users)} 个用户叫“{name}”，请用编号：{ids}。")
    return users[0]


def list_users(session: Session) -> list[User]:
    """Every user, active first."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.id)).all())


def _audit(session: Session, actor: str, action: str, now: dt.datetime, **detail) -> None:
    session.add(AuditLog(actor=actor, action=action, at=now, detail=detail))


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN.value, User.active.is_(True))
    ) or 0


def set_role_and_scope(
    session: Session, name: str, role_text: str, scope_text: str, *, actor: str, now: dt.datetime
) -> User:
    """Change a user's role and scope (scope names as typed, comma separated)."""
    user = find_by_name(session, name)
    role = parse_role(role_text)
    names = resolve_scope_names(session, scope_text)
    check_scope_fits_role(role, names)
    if user.role == Role.ADMIN and role != Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict("这是最后一个管理员，不能改为其他角色。")
    old = {"role": user.role, "scope": list(user.scope or [])}
    user.role = role.value
    user.scope = names
    _audit(session, actor, "user_changed", now, user_id=user.id, old=old,
           new={"role": role.value, "scope": names})
    session.flush()
    return user


def set_active(session: Session, name: str, active: bool, *, actor: str, now: dt.datetime) -> User:
    """Disable (or re-enable) a user; the last active admin cannot be disabled."""
    user = find_by_name(session, name)
    if not active and user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict("这是最后一个管理员，不能停用。")
    user.active = active
    _audit(session, actor, "user_enabled" if active else "user_disabled", now, user_id=user.id)
    session.flush()
    return user
