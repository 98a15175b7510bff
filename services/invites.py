"""One-time invite codes: created by an admin, redeemed once by ``/start <code>``.

Only the SHA-256 of a code is stored. Codes expire after ``policy.invite_valid_days``;
failed attempts are counted per Telegram user to stop guessing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import AuditLog, Invite, InviteAttempt, User
from services.errors import DomainError, InvalidInput
from services.scope import Scope, resolve_scope_names
from services.users import check_scope_fits_role, parse_role, role_label

CODE_BYTES = 12  # 16 url-safe characters: fits Telegram's 64-character start parameter
MAX_NAME_LENGTH = 64  # Invite.name and User.name are String(64)


class InviteRefused(DomainError):
    """/start with a code that does not register the sender; ``counts`` when it is an attempt
    that goes towards the hourly limit."""

    def __init__(self, message: str, *, counts: bool = True) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class NewInvite:
    code: str
    role: str
    scope: list[str]
    name: str | None
    expires_at: dt.datetime


def hash_code(code: str) -> str:
    """The stored form of a code (SHA-256 hex)."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def invite_link(bot_username: str | None, code: str) -> str | None:
    """The deep link that opens the bot with ``/start <code>``; None without a bot name."""
    if not bot_username:
        return None
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def create_invite(
    session: Session,
    *,
    role_text: str,
    scope_text: str,
    name: str | None,
    created_by: User | None,
    now: dt.datetime,
    valid_days: int,
) -> NewInvite:
    """Make a one-time code for a role and scope (names as typed, comma separated)."""
    role = parse_role(role_text)
    if name and len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidInput(f"姓名太长（最多 {MAX_NAME_LENGTH} 个字）。")
    names = resolve_scope_names(session, scope_text or "")
    check_scope_fits_role(role, names)
    code = secrets.token_urlsafe(CODE_BYTES)
    expires_at = now + dt.timedelta(days=valid_days)
    invite = Invite(
        code_hash=hash_code(code),
        role=role.value,
        scope=names,
        name=(name or "").strip() or None,
        created_by=created_by.id if created_by else None,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(invite)
    session.flush()
    session.add(AuditLog(
        actor=created_by.name if created_by else "cli", action="invite_created", at=now,
        detail={"invite_id": invite.id, "role": role.value, "scope": names, "name": invite.name},
    ))
    return NewInvite(code, role.value, names, invite.name, expires_at)


def recent_failures(session: Session, telegram_id: int, now: dt.datetime) -> int:
    """Failed /start attempts of this Telegram user in the last hour."""
    since = now - dt.timedelta(hours=1)
    return session.scalar(
        select(func.count(InviteAttempt.id)).where(
            InviteAttempt.telegram_id == telegram_id, InviteAttempt.at >= since
        )
    ) or 0


def record_failed_attempt(session: Session, telegram_id: int, now: dt.datetime) -> None:
    """Count a failed /start attempt towards the hourly limit."""
    session.add(InviteAttempt(telegram_id=telegram_id, at=now))
    session.flush()


def redeem_invite(
    session: Session,
    *,
    telegram_id: int,
    code: str,
    sender_name: str | None,
    now: dt.datetime,
    attempts_per_hour: int,
) -> User:
    """Register ``telegram_id`` with the invite's role and scope; InviteRefused otherwise."""
    if recent_failures(session, telegram_id, now) >= attempts_per_hour:
        raise InviteRefused("尝试次数过多，请一小时后再试。", counts=False)
    invite = session.scalar(select(Invite).where(Invite.code_hash == hash_code(code)))
    if invite is None:
        raise InviteRefused("邀请码无效，请核对或向管理员重新索取。")
    if invite.used_at is not None:
        raise InviteRefused("该邀请码已被使用过，请向管理员重新索取。")
    if invite.expires_at <= now:
        raise InviteRefused("该邀请码已过期，请向管理员重新索取。")
    # Claim the code atomically, so two people racing with one code cannot both register.
    claimed = session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InviteRefused("该邀请码已被使用过，请向管理员重新索取。")
    user = User(
        telegram_id=telegram_id,
        name=invite.name or (sender_name or "").strip()[:64] or f"用户{telegram_id}",
        role=invite.role,
        scope=list(invite.scope or []),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    session.execute(
        update(Invite).where(Invite.id == invite.id).values(used_by=user.id)
        .execution_options(synchronize_session=False)
    )
    session.add(AuditLog(
        actor=user.name, action="user_registered", at=now,
        detail={"user_id": user.id, "invite_id": invite.id, "role": user.role},
    ))
    return user


def describe_invite(invite: NewInvite, link: str | None, today_label: str) -> str:
    """What an admin sees after creating an invite."""
    who = f"（给 {invite.name}）" if invite.name else ""
    lines = [
        f"邀请码{who}：{invite.code}",
        f"角色：{role_label(invite.role)} · 范围：{Scope.from_names(invite.scope).describe() if invite.scope else '全县'}",
        f"有效期至 {today_label}，只能使用一次。",
    ]
    lines.append(f"链接：{link}" if link else f"请对方私聊机器人发送：/start {invite.code}")
    return "\n".join(lines)
