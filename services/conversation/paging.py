"""Paged answers: page buttons carry the query (``pg:<kind>:...:<page>``), not its result,
so a press re-runs the query as the presser, within the presser's own scope."""

from __future__ import annotations

from services.conversation.context import CommandContext
from services.conversation.messages import Button, Reply
from services.conversation.turn import answering_button
from services.formatting import paginate

PAGE_PREFIX = "pg"


def is_page_data(data: str) -> bool:
    """True for the data of a page button."""
    return data.startswith(f"{PAGE_PREFIX}:")


def paged(
    ctx: CommandContext, header: str, lines: list[str], page: int, data_prefix: str, footer: str = ""
) -> Reply:
    """Page ``page`` of the answer, with ‹ 上一页 / 下一页 › buttons that re-run the query."""
    result = paginate(header, lines, page, footer=footer)
    buttons: list[Button] = []
    if result.number > 0:
        buttons.append(Button("‹ 上一页", f"{data_prefix}:{result.number - 1}"))
    if result.number < result.count - 1:
        buttons.append(Button("下一页 ›", f"{data_prefix}:{result.number + 1}"))
    return Reply(result.text, buttons=(tuple(buttons),) if buttons else (), edit=answering_button(ctx))
