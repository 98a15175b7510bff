"""Handlers for what people send: text and commands, button presses, captioned files,
kinds the engine cannot read, and edited messages.

Each handler reads the update, calls the engine once (off the event loop) with the update's
id, and returns. The engine marks the journaled update done and stores its replies in the
same transaction as its change; the inbox pump sends them afterwards (handlers/inbox_pump.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from db.types import utcnow
from handlers.inbox_pump import PUMP_KEY
from delivery.updates import (
    attachment_of,
    incoming_from_button,
    incoming_from_message,
    is_addressed,
    unsupported_kind,
)
from handlers.runtime import runtime_of
from services import inbox
from services.conversation.messages import Incoming, Reply
from services.conversation.serialize import replies_to_json

log = logging.getLogger(__name__)

EDITED_NOTICE = "修改后的消息不会重复记录，如需更正请直接发新消息"
EDITED_NOTICE_OUTCOME = "edited_notice"
# Telegram's getFile serves files up to 20 MB; larger ones reach the engine without bytes.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


async def hand_to_engine(update: Update, context: ContextTypes.DEFAULT_TYPE, incoming: Incoming) -> None:
    """Let the engine handle ``incoming`` as journaled update ``update.update_id``: in the
    pump's group commit when there is one, else in a transaction of its own."""
    pump = context.application.bot_data.get(PUMP_KEY)
    if pump is None or not pump.commits.takes_turns:  # an engine with only handle(): the pump reads the row
        await asyncio.to_thread(runtime_of(context).engine.handle, incoming, inbox_update_id=update.update_id)
        return
    turn = await pump.commits.handle(incoming, update.update_id)
    pump.note_handled(update.update_id, turn.outcome, turn.replies, intent=turn.intent)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message or a command (forwarded text is asked about as relayed)."""
    await hand_to_engine(update, context, incoming_from_message(update.message, context.bot.bot))


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or document: fetch its bytes (getFile) when the engine will read it. A file
    over Telegram's 20 MB limit reaches the engine without bytes (it says so, keeps nothing)."""
    message = update.message
    attachment = attachment_of(message)
    if is_addressed(message, message.caption or "", context.bot.bot) and attachment.size <= MAX_DOWNLOAD_BYTES:
        try:
            telegram_file = await context.bot.get_file(attachment.file_id)
        except BadRequest as exc:  # "file is too big": its size was not given, or was wrong
            log.info("update %s: getFile refused: %s", update.update_id, exc.message)
        else:
            data = bytes(await telegram_file.download_as_bytearray())
            attachment = dataclasses.replace(attachment, data=data)
    await hand_to_engine(update, context, incoming_from_message(message, context.bot.bot, attachment=attachment))


async def on_unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, voice note, location, contact ...: the engine says what it can read."""
    message = update.message
    kind = unsupported_kind(message)
    await hand_to_engine(update, context, incoming_from_message(message, context.bot.bot, unsupported=kind))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: stop the spinner first, then let the engine act on the button's data."""
    try:
        await update.callback_query.answer()
    except TelegramError as exc:
        # Only the spinner is lost (the press may be old, replayed from the inbox after a
        # restart); the press itself is still handled.
        log.info("update %s: answerCallbackQuery failed: %s", update.update_id, type(exc).__name__)
    await hand_to_engine(update, context, incoming_from_button(update))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message is never applied; in private the sender is told so, once per message."""
    runtime = runtime_of(context)
    message = update.edited_message
    replies: list[Reply] = []
    if message.chat.type == "private" and not await asyncio.to_thread(_notified_before, runtime.database, message):
        replies = [Reply(EDITED_NOTICE)]
    outcome = EDITED_NOTICE_OUTCOME if replies else "edited_ignored"
    await asyncio.to_thread(inbox.complete, runtime.database, update.update_id, outcome, replies_to_json(replies))


def _notified_before(database, message) -> bool:
    since = utcnow() - dt.timedelta(days=2)
    for payload in inbox.recent_outcomes(database, EDITED_NOTICE_OUTCOME, since):
        earlier = payload.get("edited_message") or {}
        if earlier.get("message_id") == message.message_id and (earlier.get("chat") or {}).get("id") == message.chat.id:
            return True
    return False
