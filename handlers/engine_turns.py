"""Where the engine's turns run for the Telegram transport: in a worker thread of the bot's
process, or in a process of its own (``telegram.engine_process`` in config.yaml).

Both runners take a batch of turns plus "replies sent" marks (handlers/group_commit.py)
and return the engine's results, all in one transaction. The thread runner shares the
bot's one core with the event loop; the process runner puts parsing and ledger writes on
another core (services/conversation/engine_process.py), so a busy bot answers faster on
a server with two or more cores, at the cost of a second process's memory.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from services.conversation import engine_process
from services.conversation.engine import ConversationEngine
from services.conversation.messages import Incoming
from settings import Settings

log = logging.getLogger(__name__)

Turns = list[tuple[Incoming, int | None]]


class TurnRunner(Protocol):
    async def start(self, bot_username: str | None) -> None: ...
    async def run(self, turns: Turns, replied_ids: list[int]) -> list[Any]: ...
    async def close(self) -> None: ...


class ThreadTurns:
    """The engine of this process, called in a worker thread."""

    def __init__(self, engine: ConversationEngine) -> None:
        self._engine = engine

    async def start(self, bot_username: str | None) -> None:
        self._engine.bot_username = bot_username
        await asyncio.to_thread(self._engine.warm_up)  # jieba + gazetteer: seconds, once

    async def run(self, turns: Turns, replied_ids: list[int]) -> list[Any]:
        return await asyncio.to_thread(self._engine.handle_turns, turns, replied_ids=replied_ids)

    async def close(self) -> None:
        return None


class ProcessTurns:
    """An engine in one child process (started at :meth:`start`, stopped at :meth:`close`).

    If the child dies (killed, out of memory), the batch it held fails with
    BrokenProcessPool — a passing failure: the pump retries it and the next batch starts a
    new child. A transaction the child had not committed is rolled back by the database;
    one it had committed is claimed in the inbox, so the retry answers it from the stored
    replies and never applies it twice.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._bot_username: str | None = None
        self._pool: ProcessPoolExecutor | None = None

    async def start(self, bot_username: str | None) -> None:
        self._bot_username = bot_username
        await self._call(engine_process.warm_up)

    async def run(self, turns: Turns, replied_ids: list[int]) -> list[Any]:
        return await self._call(engine_process.handle_turns, turns, replied_ids)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)

    async def _call(self, function, *args) -> Any:
        pool = self._pool or self._new_pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                log.warning("engine process ended unexpectedly; a new one starts with the next batch")
                pool.shutdown(wait=False)
            raise

    def _new_pool(self) -> ProcessPoolExecutor:
        # "spawn": the bot's threads (database, HTTP) must not be copied into the child.
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=engine_process.start,
            initargs=(self._settings, self._bot_username, logging.getLogger().getEffectiveLevel(), os.getpid()),
        )
        return self._pool


def turn_runner(settings: Settings, engine: Any) -> TurnRunner | None:
    """The runner for ``engine``: None for an engine without batches (handle() only), a
    child process when configured (only for the real engine: others live in this process)."""
    if not hasattr(engine, "handle_turns"):
        return None
    if settings.telegram.engine_process and type(engine) is ConversationEngine:
        return ProcessTurns(settings)
    return ThreadTurns(engine)
