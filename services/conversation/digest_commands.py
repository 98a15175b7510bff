"""The digest commands the engine dispatches: /subscribe, /unsubscribe, /digest, /subscriptions.

Each is ``(ctx, args) -> list[Reply]`` and runs inside the engine's one transaction for
the message. Refusals come back as one Chinese sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from services.chart import render_progress_chart
from services.conversation.context import CommandContext
from services.conversation.messages import OutgoingFile, Reply
from services.digest import build_digest, month_day, previous_summary, render_digest_text
from services.errors import DomainError
from services.subscriptions import (
    chat_subscriptions,
    list_subscriptions_text,
    resolve_requested_scope,
    subscribe,
    unsubscribe,
)


def subscribe_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/subscribe [范围] [HH:MM] [每周]: this group gets the scope's digest on working days."""
    return _answer(lambda: subscribe(
        ctx.session, ctx.user, ctx.incoming.chat_id, ctx.incoming.chat_type, args,
        ctx.settings, ctx.calendar, ctx.now, chat_title=ctx.incoming.chat_title,
    ))


def unsubscribe_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/unsubscribe [范围]: this group stops getting a digest."""
    return _answer(lambda: unsubscribe(ctx.session, ctx.user, ctx.incoming.chat_id, ctx.incoming.chat_type, args))


def subscriptions_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/subscriptions: what this group is subscribed to."""
    return _answer(lambda: list_subscriptions_text(ctx.session, ctx.user, ctx.incoming.chat_id, ctx.incoming.chat_type))


def digest_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/digest [范围]: the digest now, text then chart (the user's own scope by default)."""
    try:
        scope_name = resolve_requested_scope(ctx.session, ctx.user, args.strip() or None)
    except DomainError as exc:
        return [Reply(str(exc))]
    today = ctx.today
    subscribed = [s for s in chat_subscriptions(ctx.session, ctx.incoming.chat_id) if s.scope == scope_name]
    previous = previous_summary(
        ctx.session, scope_name, today, subscription_id=subscribed[0].id if subscribed else None
    )
    digest = build_digest(ctx.session, scope_name, today, ctx.calendar, ctx.settings, previous=previous)
    replies = [Reply(render_digest_text(digest))]
    if digest.progress:
        caption = f"{digest.label}各{digest.progress_level}整改进度（{month_day(today)}）"
        chart = OutgoingFile("photo", "progress.png", render_progress_chart(digest))
        replies.append(Reply(caption, file=chart))
    return replies


def _answer(action: Callable[[], str]) -> list[Reply]:
    try:
        return [Reply(action())]
    except DomainError as exc:
        return [Reply(str(exc))]


COMMANDS: dict[str, Callable[[CommandContext, str], list[Reply]]] = {
    "subscribe": subscribe_command,
    "unsubscribe": unsubscribe_command,
    "digest": digest_command,
    "subscriptions": subscriptions_command,
}
