"""The engine in a process of its own: what runs inside that process.

Python runs one thread of a process at a time, so an engine in worker threads shares one
core with the Telegram side of the bot (fetching updates, sending replies). On a server
with two or more cores the engine can instead run in a child process: the transport
(handlers/engine_turns.py) hands it batches of turns over a ProcessPoolExecutor and gets
the same :class:`TurnResult` values back. The child keeps its own database connection and
parser; it writes only what the engine writes (turns, their inbox rows, replied marks).

Each task of a ProcessPoolExecutor is a plain function, so the child's engine lives in
this module's one per-process holder, set by :func:`start` (the pool's initializer) and
used by :func:`handle_turns`. Nothing here runs in the bot's own process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from typing import Any

from services.conversation.messages import Incoming

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The child's engine: set by start(), in the child only (see the module docstring).
_CHILD: dict[str, Any] = {}


def start(settings: Any, bot_username: str | None, log_level: int, parent_pid: int) -> None:
    """The pool's initializer, in the child: tie its life to the bot's, open the ledger."""
    _die_with_parent(parent_pid)
    # Ctrl+C and SIGTERM reach the whole process group: the bot stops the child itself,
    # after its last batch, instead of losing a transaction half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from services.disclosure import install_log_redaction

    install_log_redaction()  # the child logs too: no ID, phone or bank card number there either

    from db.session import Database
    from services.conversation.engine import ConversationEngine

    engine = ConversationEngine(Database.connect(settings.database.url, migrate=False), settings)  # migrated by the bot
    engine.bot_username = bot_username
    _CHILD["engine"] = engine


def _die_with_parent(parent_pid: int) -> None:
    """Let the kernel kill this child when the bot dies (kill -9 included), so that no
    orphan goes on writing to the ledger. Linux only; elsewhere the child stops when the
    pool's pipe closes."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            logging.getLogger(__name__).debug("no prctl here: the pool's pipe still ends the child")
    if os.getppid() != parent_pid:  # the bot died before the line above took effect
        os._exit(1)


def warm_up() -> None:
    """Build the child's parser now (seconds), before the first message needs it."""
    _CHILD["engine"].warm_up()


def handle_turns(turns: list[tuple[Incoming, int | None]], replied_ids: list[int]) -> list[Any]:
    """:meth:`ConversationEngine.handle_turns` in the child."""
    return _CHILD["engine"].handle_turns(turns, replied_ids=replied_ids)
