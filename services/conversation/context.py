"""What a command handler inside the engine gets: the transaction, the sender, the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from sqlalchemy.orm import Session

from db.models import User
from nlp.workdays import WorkCalendar
from services.conversation.messages import Incoming
from services.turn_parser import TurnParser
from settings import Settings


@dataclass
class CommandContext:
    """Passed to every engine command function ``(ctx, args: str) -> list[Reply]``.

    ``session`` is the one transaction of this incoming message: commit happens after the
    function returns, rollback if it raises. ``now`` is aware, in the county's time zone.
    """

    session: Session
    user: User
    incoming: Incoming
    settings: Settings
    calendar: WorkCalendar
    now: dt.datetime
    # Filled by the engine for its own commands (digest commands may ignore them):
    parser: TurnParser | None = None  # the ledger-aware parser of this turn (services.parser_provider)
    bot_username: str | None = None  # for invite deep links
    outcome: str = "answered"  # what happened, for the INFO log line (never message text)
    intent: str = "command"
    # 佐证材料 in play this turn (services/conversation/evidence_flow.py): files written this
    # turn and files of an earlier turn's question that no row points to yet, and whether
    # the reply already says what became of the attachment.
    evidence_files: list[str] = field(default_factory=list)
    evidence_carried: list[str] = field(default_factory=list)
    evidence_settled: bool = False

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def in_group(self) -> bool:
        return self.incoming.chat_type == "group"
