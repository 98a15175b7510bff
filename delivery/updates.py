"""Reading a Telegram update: what it is for, and the engine's :class:`Incoming` from it.

Functions over PTB objects and payloads (no database; only :func:`incoming_of` calls
Telegram), so the rules about groups — which messages are addressed to the bot, how the
mention is stripped — and which updates the engine reads live in one place.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from telegram import Bot, MaybeInaccessibleMessage, Message, Update, User
from telegram.error import BadRequest, TelegramError

from services.conversation.messages import Attachment, ChatType, Incoming

log = logging.getLogger(__name__)

# Telegram's getFile serves files up to 20 MB; larger ones reach the engine without bytes.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Message kinds the engine does not read; it answers "请发文字或带说明的照片".
# Order matters: an animation also carries a document, a venue also a location.
UNSUPPORTED_KINDS = (
    "animation",
    "sticker",
    "voice",
    "video_note",
    "video",
    "audio",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
)

_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]+)(?:@(?P<target>[A-Za-z0-9_]+))?(?P<rest>.*)$", re.DOTALL)


def update_kind(payload: dict) -> str:
    """"message", "callback_query", ... — the kind of update a payload holds."""
    return next((key for key in payload if key != "update_id"), "unknown")


def purpose_of(update: Update) -> str:
    """What the bot does with ``update``: "text", "file", "unsupported", "button" (engine
    turns), "edited", "membership", "migration", or "ignored" (status messages and the like)."""
    if update.callback_query is not None:
        return "button"
    if update.edited_message is not None:
        return "edited"
    if update.my_chat_member is not None:
        return "membership"
    message = update.message
    if message is None:
        return "ignored"
    if message.migrate_to_chat_id or message.migrate_from_chat_id:
        return "migration"
    if unsupported_kind(message) is not None:
        return "unsupported"
    if message.photo or message.document:
        return "file"
    return "text" if message.text else "ignored"


async def incoming_of(bot: Bot, update: Update, purpose: str) -> Incoming:
    """The engine's Incoming for a turn (``purpose_of``): a button press (its spinner stopped
    first), or a message (with the bytes of its file when the engine will read them)."""
    if purpose == "button":
        try:
            await update.callback_query.answer()
        except TelegramError as exc:
            # Only the spinner is lost (the press may be old, replayed from the inbox after a
            # restart); the press itself is still handled.
            log.info("update %s: answerCallbackQuery failed: %s", update.update_id, type(exc).__name__)
        return incoming_from_button(update)
    message = update.message
    if purpose == "file":
        return incoming_from_message(message, bot.bot, attachment=await _attachment_with_bytes(bot, message))
    return incoming_from_message(message, bot.bot, unsupported=unsupported_kind(message))


async def _attachment_with_bytes(bot: Bot, message: Message) -> Attachment:
    """A photo or document, with its bytes (getFile) when the engine will read it. A file
    over Telegram's 20 MB limit reaches the engine without bytes (it says so, keeps nothing)."""
    attachment = attachment_of(message)
    if not is_addressed(message, message.caption or "", bot.bot) or attachment.size > MAX_DOWNLOAD_BYTES:
        return attachment
    try:
        telegram_file = await bot.get_file(attachment.file_id)
    except BadRequest as exc:  # "file is too big": its size was not given, or was wrong
        log.info("message %s: getFile refused: %s", message.message_id, exc.message)
        return attachment
    return dataclasses.replace(attachment, data=bytes(await telegram_file.download_as_bytearray()))


def chat_type_of(message: MaybeInaccessibleMessage) -> ChatType:
    """Group and supergroup are both "group" to the engine; everything else is private."""
    return "group" if message.chat.type in ("group", "supergroup") else "private"


def _mention_pattern(bot_username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(bot_username)}(?![A-Za-z0-9_])", re.IGNORECASE)


def command_target(text: str) -> str | None:
    """The bot a "/cmd@bot" command names, or None for a plain "/cmd" or no command."""
    match = _COMMAND.match(text)
    return match.group("target") if match else None


def is_addressed(message: Message, text: str, bot: User) -> bool:
    """Private chats always; in groups a command for this bot, a mention, or a reply to it."""
    if chat_type_of(message) == "private":
        return True
    username = bot.username or ""
    if text.startswith("/"):
        target = command_target(text)
        return target is None or target.lower() == username.lower()
    if username and _mention_pattern(username).search(text):
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


def strip_bot_name(text: str, bot_username: str | None) -> str:
    """"/status@bot 东台村" -> "/status 东台村"; "@bot 东台村情况" -> "东台村情况"."""
    match = _COMMAND.match(text)
    target = match.group("target") if match else None
    if target and bot_username and target.lower() == bot_username.lower():
        text = f"/{match.group('name')}{match.group('rest')}"
    if bot_username:
        text = _mention_pattern(bot_username).sub(" ", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def unsupported_kind(message: Message) -> str | None:
    """The kind of a message the engine cannot read (sticker, voice, ...), else None."""
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return kind
    return None


def attachment_of(message: Message) -> Attachment | None:
    """The photo (largest size) or document of a message, without its bytes yet."""
    if message.photo:
        photo = message.photo[-1]
        return Attachment(kind="photo", file_id=photo.file_id, file_name=None, size=photo.file_size or 0)
    if message.document:
        document = message.document
        return Attachment(kind="document", file_id=document.file_id, file_name=document.file_name,
                          size=document.file_size or 0)
    return None


def incoming_from_message(
    message: Message,
    bot: User,
    *,
    attachment: Attachment | None = None,
    unsupported: str | None = None,
) -> Incoming:
    """An incoming text, command, captioned file or unsupported kind, as the engine sees it.

    A forwarded message is someone else's words relayed by the sender (``from_user`` is the
    forwarder): ``forwarded_from`` names the author, and a report from it is asked about.
    """
    raw = message.text or message.caption or ""
    addressed = is_addressed(message, raw, bot)
    sender = message.from_user
    return Incoming(
        sender_id=sender.id if sender else message.chat.id,
        chat_id=message.chat.id,
        chat_type=chat_type_of(message),
        text=strip_bot_name(raw, bot.username),
        message_id=message.message_id,
        attachment=attachment,
        addressed=addressed,
        unsupported=unsupported,
        sender_name=sender.full_name if sender else None,
        chat_title=message.chat.title,
        source="telegram",
        forwarded_from=forwarded_from(message),
    )


def forwarded_from(message: Message) -> str | None:
    """The author of a forwarded message (a person, a hidden user's name, a chat), else None."""
    origin = getattr(message, "forward_origin", None)
    if origin is None:
        return None
    user = getattr(origin, "sender_user", None)
    if user is not None:
        return user.full_name
    chat = getattr(origin, "sender_chat", None) or getattr(origin, "chat", None)
    return getattr(origin, "sender_user_name", None) or getattr(chat, "title", None) or "他人"


def incoming_from_button(update: Update) -> Incoming:
    """A button press: the engine reads ``callback_data``; buttons are always addressed."""
    query = update.callback_query
    message = query.message
    if message is not None:
        chat_id, chat_type, message_id = message.chat.id, chat_type_of(message), message.message_id
    else:  # the message is too old for Telegram to include; answer in private
        chat_id, chat_type, message_id = query.from_user.id, "private", None
    return Incoming(
        sender_id=query.from_user.id,
        chat_id=chat_id,
        chat_type=chat_type,
        message_id=message_id,
        callback_data=query.data,
        addressed=True,
        sender_name=query.from_user.full_name,
        source="telegram",
    )


def reply_target(update: Update) -> tuple[int | None, int | None]:
    """Where replies to ``update`` go: (chat id, id of the message a Reply(edit=True) edits)."""
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return query.message.chat.id, query.message.message_id
        return query.from_user.id, None
    chat = update.effective_chat
    if chat is not None:
        return chat.id, None
    user = update.effective_user
    return (user.id if user else None), None


def lane_key(payload: dict) -> int:
    """Updates of one chat are handled in order; different chats in parallel."""
    for kind in ("message", "edited_message", "my_chat_member", "chat_member"):
        chat = (payload.get(kind) or {}).get("chat")
        if chat:
            return int(chat["id"])
    query = payload.get("callback_query")
    if query:
        chat = (query.get("message") or {}).get("chat")
        return int(chat["id"]) if chat else int(query["from"]["id"])
    return int(payload["update_id"])
