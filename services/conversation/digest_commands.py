"""The digest commands the engine dispatches: /subscribe, /unsubscribe, /digest, /subscriptions.

Each is ``(ctx, args) -> list[Reply]`` and runs inside the engine's one transaction for
the message. Refusals come back as one Chinese sentence.

/digest's chart leaves the engine as figures (in the reply's ``meta``), not as a PNG:
drawing takes about a second, and inside the engine's transaction every other report would
wait for it. Whoever sends or shows the replies draws it afterwards with :func:`draw_charts`
(in a worker thread when on the event loop). The figures are JSON, so a reply stored in the
inbox and sent again after a restart still gets its chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from services.chart import ProgressChart, draw_progress_chart
from services.conversation.context import CommandContext
from services.conversation.messages import OutgoingFile, Reply
from services.digest import Digest, build_digest, previous_summary, render_digest_text
from services.subscriptions import (
    chat_subscriptions,
    list_subscriptions_text,
    resolve_requested_scope,
    subscribe,
    unsubscribe,
)

CHART = "progress_chart"  # Reply.meta key: the figures of a chart still to be drawn
CHART_FILE_NAME = "progress.png"


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
    """/digest [范围]: the digest now, today's changes included, text then chart (the user's
    own scope by default)."""
    scope_name = resolve_requested_scope(ctx.session, ctx.user, args.strip() or None)
    today = ctx.today
    subscribed = [s for s in chat_subscriptions(ctx.session, ctx.incoming.chat_id) if s.scope == scope_name]
    previous = previous_summary(
        ctx.session, scope_name, today, subscription_id=subscribed[0].id if subscribed else None
    )
    digest = build_digest(
        ctx.session, scope_name, today, ctx.calendar, ctx.settings, previous=previous, as_of=ctx.now
    )
    replies = [Reply(render_digest_text(digest))]
    if digest.progress:
        replies.append(chart_reply(digest))
    return replies


def chart_reply(digest: Digest) -> Reply:
    """The chart's caption, carrying its figures; :func:`draw_charts` adds the picture."""
    chart = ProgressChart.of(digest)
    return Reply(chart.caption, meta={CHART: chart.to_json()})


def needs_drawing(reply: Reply) -> bool:
    """True for a reply that carries a chart's figures and no picture yet."""
    return reply.file is None and CHART in reply.meta


def draw_chart(reply: Reply) -> Reply:
    """The reply with its chart drawn as a photo (blocking, about a second); other replies
    unchanged."""
    if not needs_drawing(reply):
        return reply
    png = draw_progress_chart(ProgressChart.from_json(reply.meta[CHART]))
    return replace(reply, file=OutgoingFile("photo", CHART_FILE_NAME, png))


def draw_charts(replies: list[Reply]) -> list[Reply]:
    """Every chart the replies carry, drawn: call it after the engine's turn has committed."""
    return [draw_chart(reply) for reply in replies]


def _answer(action: Callable[[], str]) -> list[Reply]:
    """The action's text as the reply. A refusal (DomainError) is left to the engine, which
    rolls the turn back and records it as refused."""
    return [Reply(action())]


COMMANDS: dict[str, Callable[[CommandContext, str], list[Reply]]] = {
    "subscribe": subscribe_command,
    "unsubscribe": unsubscribe_command,
    "digest": digest_command,
    "subscriptions": subscriptions_command,
}
