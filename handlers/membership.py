"""The bot's place in group chats: removed from a group, or the group became a supergroup.

Removed (my_chat_member left/kicked): the group's digest subscriptions end, with an
AuditLog event. Migrated (a message with migrate_to_chat_id / migrate_from_chat_id): the
subscriptions follow the group to its new chat id. Both are facts reported by Telegram
itself, so they are handled whoever the sender is, and handling one twice is harmless
(a replayed update finds nothing left to change).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import ChatMember, Update
from telegram.ext import Application, ChatMemberHandler, ContextTypes, MessageHandler, filters

from handlers.runtime import runtime_of
from services.subscriptions import migrate_chat, unsubscribe_chat

log = logging.getLogger(__name__)

GONE_STATUSES = frozenset({ChatMember.LEFT, ChatMember.BANNED})


async def on_bot_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot left or was removed from a group: unsubscribe that group."""
    change = update.my_chat_member
    if change.chat.type == "private" or change.new_chat_member.status not in GONE_STATUSES:
        return
    database = runtime_of(context).database
    reason = f"my_chat_member {change.new_chat_member.status}"

    def remove() -> int:
        with database.transaction() as session:
            return unsubscribe_chat(session, change.chat.id, reason)

    ended = await asyncio.to_thread(remove)
    if ended:
        log.info("bot removed from chat %s: %d subscription(s) ended", change.chat.id, ended)


async def on_migration(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: move its subscriptions to the new chat id."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    database = runtime_of(context).database

    def move() -> int:
        with database.transaction() as session:
            return migrate_chat(session, old_id, new_id)

    moved = await asyncio.to_thread(move)
    if moved:
        log.info("chat %s migrated to %s: %d subscription(s) moved", old_id, new_id, moved)


def register(app: Application) -> None:
    """Add the membership handlers (they match no update the message handlers take)."""
    app.add_handler(ChatMemberHandler(on_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migration))
