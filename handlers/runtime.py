"""The objects every handler and job needs, set once in post_init and reached through
``context.application.bot_data`` (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from db.session import Database
from nlp.workdays import WorkCalendar
from settings import Settings

if TYPE_CHECKING:
    from handlers.engine_turns import TurnRunner
    from services.conversation.engine import ConversationEngine

RUNTIME_KEY = "runtime"


@dataclass
class Runtime:
    settings: Settings
    database: Database
    engine: ConversationEngine
    calendar: WorkCalendar
    instance_id: str  # names this process in digest claims (two bots on one database)
    turns: TurnRunner | None = None  # where the engine's batched turns run (None: handle() only)


def runtime_of(context: Any) -> Runtime:
    """The Runtime of a PTB CallbackContext (handlers and jobs alike)."""
    return context.application.bot_data[RUNTIME_KEY]
