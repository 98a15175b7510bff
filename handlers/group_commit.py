"""Group commit for the inbox pump: engine turns and "replies sent" marks of different chats
that arrive while the database is busy are written together, in one call of the engine's
runner (a worker thread or the engine's own process: handlers/engine_turns.py) and one
transaction.

Each update is still its own turn (its own savepoint and replies, marked done in the same
transaction as its effect); what they share is the cost around them: the hop to the worker
thread or process, BEGIN and COMMIT. While one batch runs the next one gathers, so a quiet
bot writes each message at once and a busy one writes them in growing batches.

If a batch fails for a passing reason (the database is unreachable, say), everything in it
fails and each lane retries its update (handlers/inbox_pump.py); none of it was applied.
Any other failure is narrowed down: the turns run again one by one, so that only the update
that fails fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from services.conversation.messages import Incoming

MAX_TURNS = 32  # turns per transaction: a failing batch is retried whole, so keep it modest

# (turns, ids whose replies were sent) -> one result per turn, all in one transaction
CommitBatch = Callable[[list[tuple[Incoming, int]], list[int]], Awaitable[list[Any]]]


@dataclass
class _Waiting:
    result: asyncio.Future
    update_id: int
    incoming: Incoming | None = None  # None: a "replies sent" mark


class GroupCommit:
    """Queues turns and replied marks; one batch at a time goes to ``commit``."""

    def __init__(
        self,
        commit: CommitBatch,
        gate: AbstractAsyncContextManager,
        *,
        is_transient: Callable[[BaseException], bool],
        takes_turns: bool = True,
        max_turns: int = MAX_TURNS,
    ) -> None:
        self._commit = commit
        self._gate = gate  # held while a batch runs (SQLite takes one writer at a time)
        self._is_transient = is_transient
        self.takes_turns = takes_turns  # False: the engine handles its turns itself
        self._max_turns = max_turns
        self._waiting: list[_Waiting] = []
        self._runner: asyncio.Task | None = None

    async def handle(self, incoming: Incoming, update_id: int) -> Any:
        """The engine's result for this turn, once its batch has committed."""
        return await self._queue(_Waiting(self._future(), update_id, incoming))

    async def mark_replied(self, update_id: int) -> None:
        """Return once the update's replies are recorded as sent."""
        await self._queue(_Waiting(self._future(), update_id))

    @staticmethod
    def _future() -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    async def _queue(self, waiting: _Waiting) -> Any:
        self._waiting.append(waiting)
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="group-commit")
        return await waiting.result

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # lanes made ready in this loop iteration join the first batch
            while self._waiting:
                batch = self._next_batch()
                if batch:  # else everything waiting was cancelled
                    await self._run_batch(batch)
        finally:
            self._runner = None
            for waiting in self._waiting:  # cancelled while queued: their lanes retry
                waiting.result.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[_Waiting]:
        batch, rest, turns = [], [], 0
        for waiting in self._waiting:
            if waiting.result.cancelled():
                continue
            if waiting.incoming is not None:
                if turns == self._max_turns:
                    rest.append(waiting)
                    continue
                turns += 1
            batch.append(waiting)
        self._waiting = rest
        return batch

    async def _run_batch(self, batch: list[_Waiting]) -> None:
        turns = [(w.incoming, w.update_id) for w in batch if w.incoming is not None]
        replied = [w.update_id for w in batch if w.incoming is None]
        try:
            async with self._gate:
                results = await self._commit(turns, replied)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting lanes
            if len(turns) > 1 and not self._is_transient(exc):
                marks = [w for w in batch if w.incoming is None]
                for part in ([marks] if marks else []) + [[w] for w in batch if w.incoming is not None]:
                    await self._run_batch(part)  # find the turn that fails; the others go through
                return
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            return
        results_of_turns = iter(results)
        for waiting in batch:
            result = next(results_of_turns) if waiting.incoming is not None else None
            if not waiting.result.done():
                waiting.result.set_result(result)
