"""The pump: turns of different chats, gathered into one transaction that runs where the
engine runs (a worker thread, or the engine's own process).

:class:`GroupCommit` (in the bot's event loop) gathers the turns and "replies sent" marks
that arrive while the database is busy, and hands one batch at a time to a turn runner:
:class:`ThreadTurns` (the engine of this process, in a worker thread) or
:class:`ProcessTurns` (an engine in a child process, ``telegram.engine_process``). Either
way the batch is one call of :func:`take_turns`, the transaction unit:
claim the updates -> the engine's turns -> record outcomes and replies -> replied marks.

Each update is still its own turn (its own replies, marked done in the same transaction as
its effect; the engine rolls a refused or failing turn back alone); what they share is the
cost around them: the hop to the thread or process, BEGIN and COMMIT. While one batch runs
the next one gathers, so a quiet bot writes each message at once and a busy one writes
them in growing batches. A lane awaits its turn's result; a replied mark is not awaited
(the chat's next update need not wait for it) and rides with the next batch.

If a batch fails for a passing reason (the database is unreachable, say), everything in it
fails and each lane retries its update (delivery/intake.py); none of it was applied, and
its marks go with the next batch. Any other failure is narrowed down: the marks and the
turns run again one by one, so that only the update that fails fails.

Nothing here imports Telegram: the engine's process imports this module.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from db.session import Database
from services import inbox
from services.conversation.messages import Engine, Incoming, TurnResult
from services.conversation.serialize import replies_from_json, replies_to_json
from settings import Settings

log = logging.getLogger(__name__)

MAX_TURNS = 32  # turns per transaction: a failing batch is retried whole, so keep it modest
PR_SET_PDEATHSIG = 1  # linux/prctl.h

Turns = list[tuple[Incoming, int]]  # (incoming, update_id)
# (turns, ids whose replies were sent) -> one result per turn, all in one transaction
CommitBatch = Callable[[Turns, list[int]], Awaitable[list[Any]]]


# ---- the transaction unit (runs where the engine runs) ------------------------------------


def take_turns(database: Database, engine: Engine, turns: Turns, replied: list[int]) -> list[TurnResult]:
    """One transaction: claim the updates, run the engine's turns, record their outcomes and
    replies, and record ``replied`` as answered.

    An update already done (replayed, or claimed by a second worker, which waits for the
    first one's row lock) is not handled again but answered with the replies stored the
    first time; so is the second copy of an update twice in one batch.
    """
    with database.transaction() as session:
        claimed = inbox.claim(session, [update_id for _, update_id in turns]) if turns else set()
        fresh = {}
        for incoming, update_id in turns:
            if update_id in claimed and update_id not in fresh:
                fresh[update_id] = incoming
        results = dict(zip(fresh, engine.handle(session, list(fresh.values())))) if fresh else {}
        inbox.record(session, [
            (update_id, result.outcome, replies_to_json(result.replies)) for update_id, result in results.items()
        ])
        inbox.mark_replied_in(session, replied)
    answered = [(update_id, results.pop(update_id, None)) for _, update_id in turns]
    missing = [update_id for update_id, result in answered if result is None]
    if missing:
        log.info("updates %s already handled", missing)
        stored = inbox.stored_results(database, missing)
        return [result or _stored_turn(*stored.get(update_id, ("missing", []))) for update_id, result in answered]
    return [result for _, result in answered]


def _stored_turn(outcome: str | None, replies: list) -> TurnResult:
    """A turn handled before, as its stored outcome and replies say."""
    return TurnResult(replies_from_json(replies), None, "-", outcome or "-")


# ---- gathering turns into batches (the bot's event loop) -----------------------------------


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
        max_turns: int = MAX_TURNS,
    ) -> None:
        self._commit = commit
        self._gate = gate  # held while a batch runs (SQLite takes one writer at a time)
        self._is_transient = is_transient
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


# ---- where the batches run -------------------------------------------------------------------


class TurnRunner(Protocol):
    async def start(self, bot_username: str | None) -> None: ...
    async def run(self, turns: Turns, replied: list[int]) -> list[TurnResult]: ...
    async def close(self) -> None: ...


class ThreadTurns:
    """The engine of this process, called in a worker thread (shares one core with the
    event loop)."""

    def __init__(self, database: Database, engine: Engine) -> None:
        self._database = database
        self._engine = engine

    async def start(self, bot_username: str | None) -> None:
        self._engine.bot_username = bot_username
        await asyncio.to_thread(self._engine.warm_up)  # jieba + gazetteer: seconds, once

    async def run(self, turns: Turns, replied: list[int]) -> list[TurnResult]:
        return await asyncio.to_thread(take_turns, self._database, self._engine, turns, replied)

    async def close(self) -> None:
        return None


class ProcessTurns:
    """An engine in one child process of its own (started at :meth:`start`, or again after
    it died; stopped at :meth:`close`), so that parsing and ledger writes use another core.

    If the child dies (killed, out of memory), the batch it held fails with
    BrokenProcessPool — a passing failure: the lanes retry it and the next batch starts a
    new child. A transaction the child had not committed is rolled back by the database;
    one it had committed is claimed in the inbox, so the retry answers it from the stored
    replies and never applies it twice.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._bot_username: str | None = None
        self._child: _Child | None = None
        self._one_call = asyncio.Lock()  # the child takes one request at a time

    async def start(self, bot_username: str | None) -> None:
        self._bot_username = bot_username
        await self._call("warm_up")

    async def run(self, turns: Turns, replied: list[int]) -> list[TurnResult]:
        return await self._call("turns", turns, replied)

    async def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            await asyncio.to_thread(child.stop)

    async def _call(self, *request: Any) -> Any:
        async with self._one_call:
            if self._child is None:
                level = logging.getLogger().getEffectiveLevel()
                self._child = _Child(self._settings, self._bot_username, level)
            child = self._child
            try:
                return await asyncio.to_thread(child.call, request)
            except BrokenProcessPool:
                self._child = None
                log.warning("engine process ended unexpectedly; a new one starts with the next batch")
                child.stop()
                raise


class _Child:
    """The engine's process and the pipe to it (used from one worker thread at a time).

    A plain ``python -c`` child that runs :func:`child_main` on one end of a socket pair, not
    multiprocessing's "spawn": that would also start multiprocessing's resource tracker,
    a third process of the bot (12 MB) that the engine never uses, and import the bot's
    ``__main__`` module once more in the child. The bot's threads (database, HTTP) are
    not copied either way."""

    def __init__(self, settings: Settings, bot_username: str | None, log_level: int) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=_child_environment(),
            )
        # only the child holds its end now: its death ends our reads
        self._pipe = Connection(ours.detach())
        try:
            self._pipe.send((settings, bot_username, log_level, os.getpid()))
        except OSError as exc:  # it died at once: a passing failure, like its death later
            self.stop()
            raise BrokenProcessPool("the engine process ended") from exc

    def call(self, request: tuple) -> Any:
        try:
            self._pipe.send(request)
            ok, answer = self._pipe.recv()
        except (EOFError, OSError) as exc:
            raise BrokenProcessPool("the engine process ended") from exc
        if not ok:
            raise answer
        return answer

    def stop(self) -> None:
        try:
            self._pipe.send(None)  # the child ends after the batch it holds
        except OSError:
            pass
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._pipe.close()


def _child_environment() -> dict[str, str]:
    """This environment, with the project's folder first on the child's import path (the
    bot may have been started from anywhere)."""
    project = str(Path(__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([project, inherited] if inherited else [project])}


_CHILD_CODE = "import sys; from delivery.pump import child_main; sys.exit(child_main(int(sys.argv[1])))"


def child_main(fd: int) -> int:
    """The engine process's entry point: ``fd`` is its end of the socket pair, and the first
    message on it is what :func:`serve` needs besides the pipe."""
    pipe = Connection(fd)
    try:
        settings, bot_username, log_level, parent_pid = pipe.recv()
    except (EOFError, OSError):  # the bot ended before it said what to serve
        return 1
    serve(pipe, settings, bot_username, log_level, parent_pid)
    return 0


def serve(pipe: Any, settings: Settings, bot_username: str | None, log_level: int, parent_pid: int) -> None:
    """The engine process's life: open the ledger, then answer requests until told to stop."""
    _die_with_parent(parent_pid)
    # Ctrl+C and SIGTERM reach the whole process group: the bot stops the child itself,
    # after its last batch, instead of losing a transaction half-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from services.conversation.engine import ConversationEngine
    from services.disclosure import install_log_redaction

    install_log_redaction()  # the child logs too: no ID, phone or bank card number there either
    # Migrated by the bot. No connection check before each batch (a round trip each): a batch
    # that meets a dropped connection fails as a passing failure, its lanes retry it, and the
    # pool has dropped its connections by then.
    database = Database.connect(settings.database.url, migrate=False, pre_ping=False)
    engine = ConversationEngine(database, settings)
    engine.bot_username = bot_username
    while (request := _next_request(pipe)) is not None:
        try:
            if request[0] == "warm_up":
                answer = engine.warm_up()
            else:
                answer = take_turns(database, engine, *request[1:])
        except Exception as exc:  # noqa: BLE001 - handed to the bot, which decides
            _send_failure(pipe, exc)
        else:
            pipe.send((True, answer))
    database.dispose()


def _send_failure(pipe: Any, exc: Exception) -> None:
    try:
        pipe.send((False, exc))
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its words go instead
        pipe.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _next_request(pipe: Any) -> tuple | None:
    try:
        return pipe.recv()
    except (EOFError, OSError):  # the bot is gone
        return None


def _die_with_parent(parent_pid: int) -> None:
    """Let the kernel kill this child when the bot dies (kill -9 included), so that no
    orphan goes on writing to the ledger. Linux only; elsewhere the child stops when the
    pipe closes."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            log.debug("no prctl here: the pipe still ends the child")
    if os.getppid() != parent_pid:  # the bot died before the line above took effect
        os._exit(1)


def turn_runner(settings: Settings, database: Database, engine: Engine) -> TurnRunner:
    """Where the engine's batches run: a process of its own when configured (the child
    builds its own engine from the settings), else ``engine`` in a worker thread."""
    if settings.telegram.engine_process:
        return ProcessTurns(settings)
    return ThreadTurns(database, engine)
