"""Plain values that cross the engine's boundary in both directions, and the boundary itself:
the :class:`Engine` protocol every front end calls, with :func:`reply_to` for one message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from db.session import Database

ChatType = Literal["private", "group"]


@dataclass(frozen=True)
class Attachment:
    """A photo or document that came with a message (evidence, or a ledger to import)."""

    kind: Literal["photo", "document"]
    file_id: str | None = None
    file_name: str | None = None
    data: bytes | None = None  # filled by the transport when the engine needs the bytes
    size: int | None = None  # as Telegram gave it; over its 20 MB download limit ``data`` stays None


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: sent text (``text``) or pressed a button (``callback_data``).

    ``sender_id`` is the Telegram user id (the console uses the user's Telegram id or a
    negative stand-in). ``addressed`` is true in a group when the message is a command,
    mentions the bot or replies to it; private messages are always addressed.

    ``user_id`` is set only by front ends that identify the person themselves (the console
    logs in as a ledger user by name, who may have no Telegram id); the engine then finds
    the sender by it. The engine ignores it for ``source="telegram"``.
    """

    sender_id: int
    chat_id: int
    chat_type: ChatType = "private"
    text: str = ""
    message_id: int | None = None
    callback_data: str | None = None
    attachment: Attachment | None = None
    addressed: bool = True
    unsupported: str | None = None  # sticker / voice / location / contact ...
    sender_name: str | None = None
    chat_title: str | None = None  # a group's name, as Telegram gave it
    source: Literal["telegram", "console", "test"] = "telegram"
    user_id: int | None = None  # ledger User.id, trusted front ends only (see above)
    forwarded_from: str | None = None  # a forwarded message: whose words they are


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data, at most 64 bytes


@dataclass(frozen=True)
class OutgoingFile:
    """A file to send: its bytes, or (evidence sent back) a stored file's path under the
    evidence folder, or a Telegram file id when the stored copy is missing."""

    kind: Literal["photo", "document"]
    file_name: str
    data: bytes = b""
    path: str | None = None
    file_id: str | None = None

    @property
    def is_evidence(self) -> bool:
        """A file someone sent as 佐证材料 (never to a group)."""
        return self.path is not None or self.file_id is not None


@dataclass(frozen=True)
class Reply:
    """A message to send to ``chat_id`` (None: the chat the incoming came from).

    ``edit`` asks the transport to edit the message whose button was pressed instead of
    sending a new one. Text is plain (the transport sends it without a parse mode).
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    file: OutgoingFile | None = None
    chat_id: int | None = None
    edit: bool = False
    meta: dict = field(default_factory=dict, compare=False)


@dataclass
class TurnResult:
    """What one turn said, who said it, what it was about and what it did."""

    replies: list[Reply]
    user_id: int | None
    intent: str
    outcome: str


class Engine(Protocol):
    """What every front end (Telegram's delivery, the console, tests) needs of an engine.

    ``handle`` runs the turns in order in the caller's transaction and returns one result
    each; a turn refused or failing is rolled back alone. A failure of the database itself
    is raised (the caller's transaction is then lost; nothing was applied).
    """

    bot_username: str | None  # set by the transport after getMe; used in invite links

    def warm_up(self) -> None:
        """Do the slow loading (the parser) now, once, at start-up."""

    def handle(self, session: Session, incomings: Sequence[Incoming]) -> list[TurnResult]:
        """The turns of ``incomings``, in order, in ``session``'s transaction."""


def reply_to(engine: Engine, database: Database, incoming: Incoming) -> list[Reply]:
    """The replies to one incoming, handled in a transaction of its own (console, tests)."""
    with database.transaction() as session:
        [result] = engine.handle(session, [incoming])
    return result.replies
