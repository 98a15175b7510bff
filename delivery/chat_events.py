"""Updates that are not turns of the conversation: an edited message, the bot removed from a
group, a group that became a supergroup.

Each is finished (marked done in the inbox) in the same transaction as what it changes, so
a replayed update changes nothing twice. Edited messages are never applied; in private the
sender is told so, once per message. Removal and migration are facts reported by Telegram
itself, so they are handled whoever the sender is: removed (my_chat_member left/kicked),
the group's digest subscriptions end with an AuditLog event; migrated, they follow the
group to its new chat id.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import ChatMember, Message, Update

from db.session import Database
from db.types import utcnow
from services import inbox
from services.conversation.messages import Reply
from services.conversation.serialize import replies_to_json
from services.subscriptions import migrate_chat, unsubscribe_chat

log = logging.getLogger(__name__)

EDITED_NOTICE = "修改后的消息不会重复记录，如需更正请直接发新消息"
EDITED_NOTICE_OUTCOME = "edited_notice"
GONE_STATUSES = frozenset({ChatMember.LEFT, ChatMember.BANNED})


def finish_chat_event(database: Database, update: Update, purpose: str) -> None:
    """Handle an update that is no turn ("edited", "membership", "migration", "ignored") and
    mark it done, in one transaction (blocking: call it off the event loop)."""
    if purpose == "edited":
        _answer_edit(database, update)
        return
    with database.transaction() as session:
        if not inbox.mark_done(session, update.update_id, purpose):
            return  # finished before: nothing is changed twice
        if purpose == "membership":
            _on_bot_membership(session, update)
        elif purpose == "migration":
            _on_migration(session, update.message)


def _answer_edit(database: Database, update: Update) -> None:
    message = update.edited_message
    replies = []
    if message.chat.type == "private" and not _notified_before(database, message):
        replies = [Reply(EDITED_NOTICE)]
    outcome = EDITED_NOTICE_OUTCOME if replies else "edited_ignored"
    inbox.complete(database, update.update_id, outcome, replies_to_json(replies))


def _notified_before(database: Database, message: Message) -> bool:
    since = utcnow() - dt.timedelta(days=2)
    for payload in inbox.recent_outcomes(database, EDITED_NOTICE_OUTCOME, since):
        earlier = payload.get("edited_message") or {}
        if earlier.get("message_id") == message.message_id and (earlier.get("chat") or {}).get("id") == message.chat.id:
            return True
    return False


def _on_bot_membership(session, update: Update) -> None:
    """The bot left or was removed from a group: unsubscribe that group."""
    change = update.my_chat_member
    if change.chat.type == "private" or change.new_chat_member.status not in GONE_STATUSES:
        return
    ended = unsubscribe_chat(session, change.chat.id, f"my_chat_member {change.new_chat_member.status}")
    if ended:
        log.info("bot removed from chat %s: %d subscription(s) ended", change.chat.id, ended)


def _on_migration(session, message: Message) -> None:
    """A group became a supergroup: move its subscriptions to the new chat id."""
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    moved = migrate_chat(session, old_id, new_id)
    if moved:
        log.info("chat %s migrated to %s: %d subscription(s) moved", old_id, new_id, moved)
