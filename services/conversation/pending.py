"""Questions with inline buttons: a PendingAction row per question, one option per button.

Button data is ``pa:<pending id>:<option number>`` (well under Telegram's 64 bytes). Only
the person asked may answer, once, before the question expires; answering claims the row
atomically so that a double press acts once.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import update

from db.models import PendingAction
from services.conversation.context import CommandContext
from services.conversation.messages import Button, Reply
from services.errors import Conflict, Forbidden, InvalidInput

PREFIX = "pa"
CANCEL = {"do": "cancel"}
_DATA = re.compile(r"^pa:(\d+):(\d+)$")


def ask(
    ctx: CommandContext,
    text: str,
    kind: str,
    payload: dict[str, Any],
    options: list[tuple[str, dict[str, Any]]],
    *,
    columns: int = 1,
    cancel: bool = True,
) -> Reply:
    """Store the question and return it as a reply with one button per option."""
    if cancel:
        options = [*options, ("取消", CANCEL)]
    row = PendingAction(
        user_id=ctx.user.id,
        chat_id=ctx.incoming.chat_id,
        payload={"kind": kind, **payload, "options": [option for _label, option in options]},
        created_at=ctx.now,
        expires_at=ctx.now + dt.timedelta(hours=ctx.settings.policy.question_valid_hours),
    )
    ctx.session.add(row)
    ctx.session.flush()
    buttons = [Button(text=label[:40], data=f"{PREFIX}:{row.id}:{n}") for n, (label, _o) in enumerate(options)]
    rows = tuple(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns))
    ctx.outcome = "asked"
    # A follow-up question (asked in answer to a button) replaces the question answered.
    return Reply(text=text, buttons=rows, edit=ctx.incoming.callback_data is not None)


def is_pending_data(data: str) -> bool:
    """True for the data of a question's button."""
    return data.startswith(f"{PREFIX}:")


def claim(ctx: CommandContext, data: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The question's payload and the chosen option; marks the question answered."""
    match = _DATA.match(data)
    if not match:
        raise InvalidInput("这个按钮已失效，请重新发送。")
    pending_id, number = int(match.group(1)), int(match.group(2))
    row = ctx.session.get(PendingAction, pending_id)
    if row is None:
        raise InvalidInput("这个按钮已失效，请重新发送。")
    if row.user_id != ctx.user.id:
        raise Forbidden("这个问题是问别人的，请自己发送报告。")
    if row.resolved_at is not None:
        raise Conflict("这个问题已经回答过了。")
    if row.expires_at <= ctx.now:
        raise Conflict("这个问题已过期，请重新发送。")
    options = row.payload.get("options") or []
    if not 0 <= number < len(options):
        raise InvalidInput("这个按钮已失效，请重新发送。")
    claimed = ctx.session.execute(
        update(PendingAction)
        .where(PendingAction.id == pending_id, PendingAction.resolved_at.is_(None))
        .values(resolved_at=ctx.now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict("这个问题已经回答过了。")
    return dict(row.payload), dict(options[number])
