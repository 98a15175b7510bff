"""Small helpers every flow of the engine uses on a CommandContext."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.conversation.context import CommandContext
from services.formatting import Marker
from services.issues import Target, VillageDirectory
from services.reports import Actor
from services.scope import Scope
from services.turn_parser import TurnParser

if TYPE_CHECKING:
    from nlp.parser import Parse


def scope_of(ctx: CommandContext) -> Scope:
    """The sender's scope."""
    return Scope.of_user(ctx.user)


def parser_scope(ctx: CommandContext) -> list[str]:
    """The sender's scope as the parser takes it: canonical names, [] for county-wide."""
    if scope_of(ctx).county_wide:
        return []
    return list(ctx.user.scope or [])


def parser_of(ctx: CommandContext) -> TurnParser:
    """The parser of this turn (the engine gives every turn one)."""
    if ctx.parser is None:
        raise RuntimeError("this turn was started without a parser")
    return ctx.parser


def parse_text(ctx: CommandContext, text: str) -> Parse:
    """The parser's reading of ``text`` for this sender today."""
    return parser_of(ctx).parse(text, ctx.today, parser_scope(ctx))


def villages_of(ctx: CommandContext) -> VillageDirectory:
    """The villages by name, as this turn's parser knows them."""
    return parser_of(ctx).villages


def marker_of(ctx: CommandContext) -> Marker:
    """The 🟡/🔴 marker and date style for today in the county."""
    return Marker(
        today=ctx.today,
        calendar=ctx.calendar,
        due_soon_workdays=ctx.settings.digest.due_soon_working_days,
        tz=ctx.settings.county.tz,
    )


def origin_of(ctx: CommandContext, text: str) -> dict[str, Any]:
    """The message a change comes from, kept in questions so that a later button press
    records the original text, chat and message."""
    incoming = ctx.incoming
    if incoming.forwarded_from:  # who said it (the author) and who relayed it (the sender)
        text = f"［转述自 {incoming.forwarded_from}］{text}"
    return {
        "text": text,
        "chat_id": incoming.chat_id,
        "message_id": incoming.message_id,
        "source": incoming.source,
    }


def actor_from(ctx: CommandContext, origin: dict[str, Any]) -> Actor:
    """The sender as the author of a change from ``origin``."""
    return Actor(
        user=ctx.user,
        source=origin.get("source") or ctx.incoming.source,
        text=origin.get("text"),
        chat_id=origin.get("chat_id"),
        message_id=origin.get("message_id"),
    )


def may_show_household(ctx: CommandContext, township: str, village: str) -> bool:
    """Names of household heads appear only in private chats to users covering the place."""
    return not ctx.in_group and ctx.user.active and scope_of(ctx).covers_place(township, village)


def target_label(ctx: CommandContext, target: Target) -> str:
    """The target's place, with the head's name only where it may be shown."""
    return target.label(with_household=may_show_household(ctx, target.township, target.village))


def answering_button(ctx: CommandContext) -> bool:
    """True when this turn answers a button press (its reply edits the question)."""
    return ctx.incoming.callback_data is not None
