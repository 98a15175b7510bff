"""Digest subscriptions of group chats: who may subscribe which scope, when, how often.

Subscriptions live in the database (PTB's JobQueue cannot persist jobs); the minute job
in handlers/digest_jobs.py reads them every minute, so a change takes effect without a
restart. Every change is written to the AuditLog.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import AuditLog, DigestDelivery, Subscription, User
from nlp.workdays import WorkCalendar
from services.errors import Forbidden, InvalidInput, NotFound
from services.scope import COUNTY_WIDE_ROLES, Scope, resolve_scope_name
from settings import Settings
from vocab import ROLE_LABELS, Role

SUBSCRIBING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.TOWNSHIP})
TITLE_LENGTH = 128  # Telegram group titles are at most 128 characters
WEEKLY_WORDS = frozenset({"每周", "周报", "每星期", "weekly"})
DAILY_WORDS = frozenset({"每天", "每日", "日报", "工作日", "daily"})
_TIME = re.compile(r"^(\d{1,2})(?:[:：](\d{2})|点(半|\d{1,2}分?)?)$")


@dataclass(frozen=True)
class SubscribeArgs:
    """What follows /subscribe: a scope, a time and a frequency, each optional."""

    scope_text: str | None = None
    send_time: str | None = None
    weekly: bool | None = None


def parse_send_time(text: str) -> str | None:
    """'8:30', '08：30', '8点', '8点半' -> '08:30'; None when the text is not a time."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour = int(match.group(1))
    if match.group(2) is not None:
        minute = int(match.group(2))
    elif match.group(3) == "半":
        minute = 30
    elif match.group(3):
        minute = int(match.group(3).rstrip("分"))
    else:
        minute = 0
    if hour > 23 or minute > 59:
        raise InvalidInput(f"“{text}”不是有效的时间，请写成 08:30 这样的 24 小时制。")
    return f"{hour:02d}:{minute:02d}"


def parse_subscribe_args(args: str) -> SubscribeArgs:
    """Split '/subscribe 东光镇 08:30 每周' into scope, time and frequency (any order)."""
    scope_parts: list[str] = []
    send_time = weekly = None
    for token in args.split():
        if token in WEEKLY_WORDS:
            weekly = True
        elif token in DAILY_WORDS:
            weekly = False
        elif (parsed := parse_send_time(token)) is not None:
            send_time = parsed
        else:
            scope_parts.append(token)
    return SubscribeArgs(" ".join(scope_parts) or None, send_time, weekly)


def default_scope_name(user: User) -> str:
    """A user's own scope: the first canonical name, or the county for county-wide roles."""
    if user.role in COUNTY_WIDE_ROLES or not user.scope:
        return ""
    return user.scope[0]


def may_view_scope(user: User, scope_name: str) -> bool:
    """True when the digest of ``scope_name`` lies inside the user's own scope."""
    mine = Scope.of_user(user)
    if mine.county_wide:
        return True
    wanted = Scope.from_names([scope_name])
    if wanted.county_wide:
        return False
    if wanted.townships:
        return wanted.townships <= mine.townships
    if wanted.villages:
        return all(mine.covers_place(t, v) for t, v in wanted.villages)
    return wanted.categories <= mine.categories


def resolve_requested_scope(session: Session, user: User, scope_text: str | None) -> str:
    """The canonical scope a command asks for (the user's own by default), checked
    against the user's scope; raises a DomainError with the reason otherwise."""
    scope_name = default_scope_name(user) if scope_text is None else resolve_scope_name(session, scope_text)
    if not may_view_scope(user, scope_name):
        raise Forbidden(
            f"“{describe_scope(scope_name)}”不在您的负责范围（{Scope.of_user(user).describe()}）内。"
        )
    return scope_name


def describe_scope(scope_name: str) -> str:
    if not scope_name:
        return "全县"
    return scope_name.replace("/", "")


def describe_schedule(subscription: Subscription) -> str:
    how_often = "每周第一个工作日" if subscription.weekly else "每个工作日"
    return f"{how_often} {subscription.send_time}"


def check_may_subscribe(user: User, chat_type: str) -> None:
    """Subscriptions are made in a group, by admins, supervisors, leaders and townships."""
    if chat_type == "private":
        raise InvalidInput("请在要接收日报的工作群里发送这条命令。")
    if user.role not in SUBSCRIBING_ROLES:
        allowed = "、".join(ROLE_LABELS[role] for role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.TOWNSHIP))
        raise Forbidden(f"只有{allowed}可以为工作群订阅或退订日报。")


def subscribe(
    session: Session,
    user: User,
    chat_id: int,
    chat_type: str,
    args: str,
    settings: Settings,
    calendar: WorkCalendar,
    now: dt.datetime,
    *,
    chat_title: str | None = None,
) -> str:
    """/subscribe [范围] [HH:MM] [每周]: create or change this group's subscription (and
    note the group's name as it is now, for /subscriptions in private)."""
    check_may_subscribe(user, chat_type)
    wanted = parse_subscribe_args(args)
    scope_name = resolve_requested_scope(session, user, wanted.scope_text)
    subscription = session.scalar(
        select(Subscription).where(Subscription.chat_id == chat_id, Subscription.scope == scope_name)
    )
    if subscription is None:
        subscription = Subscription(
            chat_id=chat_id, scope=scope_name, created_by=user.id,
            send_time=wanted.send_time or settings.digest.default_time, weekly=bool(wanted.weekly),
            active=True, created_at=now,
        )
        session.add(subscription)
    else:
        if not subscription.active:
            subscription.created_at = now  # re-subscribing starts afresh
        subscription.active = True
        subscription.send_time = wanted.send_time or subscription.send_time
        if wanted.weekly is not None:
            subscription.weekly = wanted.weekly
    if chat_title:  # the group's name as it is now, on all its subscriptions
        for row in {subscription, *chat_subscriptions(session, chat_id)}:
            row.chat_title = chat_title[:TITLE_LENGTH]
    session.flush()
    _audit(session, user.name, "subscribe", subscription)
    first = first_delivery_day(subscription, calendar, now.astimezone(settings.county.tz))
    return (
        f"已订阅：本群将在{describe_schedule(subscription)} 收到{describe_scope(scope_name)}的整改"
        f"{'周报' if subscription.weekly else '日报'}，首次为 {first.month}月{first.day}日。"
        f"发送 /digest {describe_scope(scope_name)} 可立即查看。"
    )


def unsubscribe(session: Session, user: User, chat_id: int, chat_type: str, args: str) -> str:
    """/unsubscribe [范围]: stop this group's digest (the only one, or the named scope)."""
    check_may_subscribe(user, chat_type)
    active = chat_subscriptions(session, chat_id)
    if args.strip():
        scope_name = resolve_requested_scope(session, user, args.strip())
        chosen = [s for s in active if s.scope == scope_name]
        if not chosen:
            raise NotFound(f"本群没有订阅{describe_scope(scope_name)}的日报。")
    elif not active:
        raise NotFound("本群没有订阅日报。")
    elif len(active) > 1:
        names = "、".join(describe_scope(s.scope) for s in active)
        raise InvalidInput(f"本群订阅了多个范围（{names}），请写明要退订哪个，例如 /unsubscribe {describe_scope(active[1].scope)}。")
    else:
        chosen = active
        if not may_view_scope(user, chosen[0].scope):
            raise Forbidden(f"“{describe_scope(chosen[0].scope)}”不在您的负责范围内，不能退订。")
    subscription = chosen[0]
    subscription.active = False
    _audit(session, user.name, "unsubscribe", subscription)
    return f"已退订：本群不再收到{describe_scope(subscription.scope)}的整改日报。"


def chat_subscriptions(session: Session, chat_id: int) -> list[Subscription]:
    """Active subscriptions of one chat, county first."""
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
            .order_by(Subscription.scope)
        )
    )


def group_name(subscription: Subscription) -> str:
    """「东光镇工作群」, or the chat id when the bot never learned the group's name."""
    if subscription.chat_title:
        return f"「{subscription.chat_title}」"
    return f"群 {subscription.chat_id}"


def list_subscriptions_text(session: Session, user: User, chat_id: int, chat_type: str) -> str:
    """/subscriptions: this group's subscriptions; in private, all of them for county roles."""
    if chat_type == "private":
        if user.role not in COUNTY_WIDE_ROLES:
            return "请在工作群里发送 /subscriptions 查看本群的订阅。"
        rows = session.scalars(
            select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.chat_id, Subscription.scope)
        ).all()
        if not rows:
            return "目前没有群订阅日报。"
        lines = [f"共 {len(rows)} 个群订阅："]
        lines += [f"· {group_name(s)}：{describe_scope(s.scope)}，{describe_schedule(s)}" for s in rows]
        return "\n".join(lines)
    rows = chat_subscriptions(session, chat_id)
    if not rows:
        return "本群没有订阅日报。发送 /subscribe 订阅本人负责范围的日报。"
    lines = ["本群订阅的日报："]
    lines += [f"· {describe_scope(s.scope)}：{describe_schedule(s)}" for s in rows]
    return "\n".join(lines)


def unsubscribe_chat(session: Session, chat_id: int, reason: str) -> int:
    """The bot was removed from a group: end its subscriptions, with an AuditLog event."""
    rows = chat_subscriptions(session, chat_id)
    for subscription in rows:
        subscription.active = False
        _audit(session, "telegram", "bot_removed", subscription, reason=reason)
    return len(rows)


def migrate_chat(session: Session, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup (new chat id): its subscriptions follow it."""
    moved = 0
    for subscription in chat_subscriptions(session, old_chat_id):
        taken = session.scalar(
            select(Subscription).where(Subscription.chat_id == new_chat_id, Subscription.scope == subscription.scope)
        )
        if taken is not None:  # the new chat already has this scope: keep one
            taken.active = True
            subscription.active = False
        else:
            subscription.chat_id = new_chat_id
        _audit(session, "telegram", "chat_migrated", subscription, new_chat_id=new_chat_id, old_chat_id=old_chat_id)
        moved += 1
    session.execute(
        update(DigestDelivery).where(DigestDelivery.chat_id == old_chat_id).values(chat_id=new_chat_id)
    )
    return moved


def first_delivery_day(subscription: Subscription, calendar: WorkCalendar, now: dt.datetime) -> dt.date:
    """The first day this subscription's digest goes out, counting from ``now`` (local)."""
    day = now.date()
    if now.strftime("%H:%M") >= subscription.send_time:
        day += dt.timedelta(days=1)
    while not is_delivery_day(subscription.weekly, day, calendar):
        day += dt.timedelta(days=1)
    return day


def is_delivery_day(weekly: bool, day: dt.date, calendar: WorkCalendar) -> bool:
    """Working days; for a weekly digest, only the week's first working day."""
    if not calendar.is_workday(day):
        return False
    if not weekly:
        return True
    monday = day - dt.timedelta(days=day.weekday())
    earlier = (monday + dt.timedelta(days=i) for i in range(day.weekday()))
    return not any(calendar.is_workday(d) for d in earlier)


def _audit(session: Session, actor: str, action: str, subscription: Subscription, **extra) -> None:
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            detail={
                "subscription_id": subscription.id,
                "chat_id": subscription.chat_id,
                "scope": subscription.scope,
                "send_time": subscription.send_time,
                "weekly": subscription.weekly,
                **extra,
            },
        )
    )
