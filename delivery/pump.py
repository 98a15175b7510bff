"""Group commit for the inbox pump: engine turns and "replies sent" marks of different chats
that arrive while the database is busy are written together, in one call of the engine's
runner (a worker thread or the engine's own process: handlers/engine_turns.py) and one
transaction.

Each update is still its own turn (its own replies, marked done in the same transaction as
its effect; a turn refused or failing sends the batch round again with a savepoint per turn,
so it rolls back alone); what they share is the cost around them: the hop to the worker
thread or process, BEGIN and COMMIT. While one batch runs the next one gathers, so a quiet
bot writes each message at once and a busy one writes them in growing batches.

Each turn's lane awaits its result; a "replies sent" mark is not awaited (the chat's next
update need not wait for it) and rides with the next batch.

If a batch fails for a passing reason (the database is unreachable, say), everything in it
fails and each lane retries its update (handlers/inbox_pump.py); none of it was applied,
and its marks go with the next batch. Any other failure is narrowed down: the marks and
the turns run again one by one, so that only the update that fails fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from services.conversation.messages import Incoming

log = logging.getLogger(__name__)

MAX_TURNS = 32  # turns per transaction: a failing batch is retried whole, so keep it modest

# (turns, ids whose replies were sent) -> one result per turn, all in one transaction
CommitBatch = Callable[[list[tuple[Incoming, int]], list[int]], Awaitable[list[Any]]]


@dataclass
class _Waiting:
    result: asyncio.Future
    update_id: int
    incoming: Incoming


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
        self._marks: list[int] = []  # replied marks for the next batch
        self._carried: list[int] = []  # marks of a batch that failed: they go with the next one
        self._runner: asyncio.Task | None = None

    async def handle(self, incoming: Incoming, update_id: int) -> Any:
        """The engine's result for this turn, once its batch has committed."""
        waiting = _Waiting(asyncio.get_running_loop().create_future(), update_id, incoming)
        self._waiting.append(waiting)
        self._start()
        return await waiting.result

    def mark_replied(self, update_id: int) -> None:
        """Record with the next batch that the update's replies were sent; not awaited, so
        the chat's next update goes ahead at once. Should the bot die before that batch
        commits, the replies are sent once more after the restart (the ledger is not
        touched again: the update itself is done)."""
        self._marks.append(update_id)
        self._start()

    async def settled(self) -> None:
        """Return once no batch runs or waits (the marks queued so far are written, or
        carried to the next batch if theirs failed)."""
        while self._runner is not None:
            await asyncio.wait({self._runner})

    def _start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="group-commit")

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # lanes made ready in this loop iteration join the first batch
            while self._waiting or self._marks:
                batch = self._next_batch()
                marks, self._marks, self._carried = self._marks + self._carried, [], []
                if batch or marks:  # else every turn waiting was cancelled
                    await self._run_batch(batch, marks)
        finally:
            self._runner = None
            for waiting in self._waiting:  # cancelled while queued: their lanes retry
                waiting.result.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[_Waiting]:
        live = [waiting for waiting in self._waiting if not waiting.result.cancelled()]
        batch, self._waiting = live[: self._max_turns], live[self._max_turns :]
        return batch

    async def _run_batch(self, batch: list[_Waiting], marks: list[int]) -> None:
        turns = [(w.incoming, w.update_id) for w in batch]
        try:
            async with self._gate:
                results = await self._commit(turns, marks)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting lanes
            if len(batch) > 1 and not self._is_transient(exc):
                # find the turn that fails; the others and the marks go through
                if marks:
                    await self._run_batch([], marks)
                for waiting in batch:
                    await self._run_batch([waiting], [])
                return
            self._carry(batch, marks, exc)
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            return
        for waiting, result in zip(batch, results):
            if not waiting.result.done():
                waiting.result.set_result(result)

    def _carry(self, batch: list[_Waiting], marks: list[int], exc: Exception) -> None:
        """A batch with marks failed: the marks go with the next batch, unless they failed
        alone for a lasting reason (a bug: logged; the replies would be sent again after
        a restart)."""
        if not marks:
            return
        if batch or self._is_transient(exc):  # the turns' failure, or a passing one
            self._carried += marks
        else:
            log.error("replied marks of updates %s not recorded: %s: %s", marks, type(exc).__name__, exc)
