"""The objects every handler and job needs, set once in post_init and reached through
``context.application.bot_data`` (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from db.session import Database
from nlp.workdays import WorkCalendar
from settings import Settings

if TYPE_CHECKING:
    from delivery.intake import Intake
    from delivery.pump import TurnRunner

RUNTIME_KEY = "runtime"


@dataclass
class Runtime:
    settings: Settings
    database: Database
    calendar: WorkCalendar
    instance_id: str  # names this process in digest claims (two bots on one database)
    turns: TurnRunner  # where the engine's batched turns run (a thread, or its own process)
    intake: Intake | None = None  # the updates' lanes, while run_application runs


def runtime_of(context: Any) -> Runtime:
    """The Runtime of a PTB CallbackContext (handlers and jobs alike)."""
    return context.application.bot_data[RUNTIME_KEY]
