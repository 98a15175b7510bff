"""Sending the engine's replies to Telegram: text with inline buttons, photos and documents.

Used for every reply the bot sends (answers to updates and the digest jobs alike), so that
texts go out the same way everywhere: plain text (no parse mode, so names with * or _ are
shown as typed), buttons as an inline keyboard, files uploaded from memory.
:func:`deliver` sends an update's stored replies in order and says how far it got.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit
from telegram.error import BadRequest, ChatMigrated, TelegramError

from delivery.faults import is_transient

from services.conversation.digest_commands import draw_chart, needs_drawing
from services.conversation.messages import OutgoingFile, Reply

log = logging.getLogger(__name__)

# Telegram rejects longer texts and captions; the engine keeps within these itself.
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_CAPTION = MessageLimit.CAPTION_LENGTH  # 1024
MAX_CALLBACK_DATA = 64  # bytes


def keyboard_of(reply: Reply) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a reply's buttons, or None when it has none."""
    if not reply.buttons:
        return None
    for row in reply.buttons:
        for button in row:
            assert len(button.data.encode("utf-8")) <= MAX_CALLBACK_DATA, "callback data over 64 bytes"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.text, callback_data=button.data) for button in row] for row in reply.buttons]
    )


async def send_reply(bot: Bot, chat_id: int, reply: Reply, *, edit_message_id: int | None = None) -> None:
    """Send one reply to ``chat_id`` (or edit message ``edit_message_id`` when ``reply.edit``)."""
    assert len(reply.text) <= MAX_TEXT, "reply text over Telegram's 4096 characters"
    if needs_drawing(reply):
        # /digest's chart comes as figures: drawn here, after the engine's transaction and
        # off the event loop (about a second), so that no report waits for it.
        reply = await asyncio.to_thread(draw_chart, reply)
    target = reply.chat_id if reply.chat_id is not None else chat_id
    try:
        await _send(bot, target, reply, edit_message_id)
    except ChatMigrated as exc:
        # A group that became a supergroup has a new id; the membership handler moves its
        # subscriptions when the migration update arrives, this reply just follows it.
        await _send(bot, exc.new_chat_id, reply, edit_message_id)


async def deliver(
    bot: Bot,
    target: tuple[int | None, int | None],
    replies: list[Reply],
    *,
    start: int,
    gate: AbstractAsyncContextManager,
    update_id: int,
    quiet: bool = False,
) -> int:
    """Send ``replies[start:]`` in order to ``target`` (chat id, message a Reply(edit=True)
    edits); return how many are done. A passing failure stops it early (the caller tries
    again from there); a reply that can never be delivered (bot blocked or removed, chat
    gone) is logged and counts as done."""
    chat_id, edit_message_id = target
    done = start
    for reply in replies[start:]:
        if chat_id is not None or reply.chat_id is not None:
            try:
                async with gate:
                    await send_reply(bot, chat_id, reply, edit_message_id=edit_message_id)
            except TelegramError as exc:
                if is_transient(exc):
                    if not quiet:
                        log.warning("update=%s reply %d delayed: %s", update_id, done, type(exc).__name__)
                    return done
                log.warning("update=%s reply %d not deliverable: %s", update_id, done, type(exc).__name__)
        done += 1
    return done


async def _send(bot: Bot, chat_id: int, reply: Reply, edit_message_id: int | None) -> None:
    markup = keyboard_of(reply)
    if reply.edit and edit_message_id is not None and reply.file is None:
        try:
            await bot.edit_message_text(reply.text, chat_id=chat_id, message_id=edit_message_id, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return  # pressing the same button twice: the message already says this
            # The message is gone or too old to edit: say it in a new message instead.
    if reply.file is None:
        await bot.send_message(chat_id, reply.text, reply_markup=markup)
        return
    await _send_file(bot, chat_id, reply, markup)


async def _send_file(bot: Bot, chat_id: int, reply: Reply, markup: InlineKeyboardMarkup | None) -> Message:
    caption_fits = len(reply.text) <= MAX_CAPTION
    caption = reply.text if caption_fits and reply.text else None
    file = reply.file
    content = await _content_of(file)
    if file.kind == "photo":
        sent = await bot.send_photo(
            chat_id, content, caption=caption, filename=file.file_name, reply_markup=markup if caption_fits else None
        )
    else:
        sent = await bot.send_document(
            chat_id, content, caption=caption, filename=file.file_name, reply_markup=markup if caption_fits else None
        )
    if not caption_fits:
        await bot.send_message(chat_id, reply.text, reply_markup=markup)
    return sent


async def _content_of(file: OutgoingFile) -> bytes | str:
    """What to upload: the bytes, a stored evidence file read off the event loop, or (the
    stored copy gone) the Telegram file id it came with."""
    if file.path is not None:
        path = Path(file.path)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError:
            if file.file_id is None:
                raise
    if file.file_id is not None and not file.data:
        return file.file_id
    return file.data
