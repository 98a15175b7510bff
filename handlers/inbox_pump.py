"""The inbox pump: hands journaled updates to PTB's handlers and sends their stored replies.

Updates of one chat go through one lane, in update_id order; different chats run in
parallel (a bounded number at a time). For each update the pump

1. skips it when the inbox says it is already done (a re-delivered or replayed update);
2. otherwise awaits ``application.process_update`` on it (read from the journaled JSON
   unless polling just read it) — the ordinary handlers, filters and rate limiter apply,
   and the message handlers hand the engine its turn: through the group commit
   (handlers/group_commit.py), which puts the turns of several chats in one transaction;
3. marks updates that no handler finished (status messages, kinds nobody handles) done;
4. sends the replies and records ``replied_at`` (group-committed too).

A failure for a passing reason (network, Telegram 5xx or 429, database unreachable) is
retried in the same lane after a back-off, so the chat's order holds and no reply is lost;
any other failure is answered with an apology and logged once by the error handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from db.session import Database
from handlers.engine_turns import TurnRunner
from delivery.pump import GroupCommit
from delivery.updates import is_addressed, lane_key, reply_target
from delivery.outbox import send_reply
from services import inbox
from services.conversation.messages import Incoming, Reply
from services.conversation.serialize import replies_from_json, replies_to_json

log = logging.getLogger(__name__)

PUMP_KEY = "inbox_pump"  # application.bot_data key, read by the error handler
APOLOGY = "抱歉，这条消息没有处理成功，请稍后重发。"
MAX_ATTEMPTS = 5  # handling attempts for passing failures before the apology
DB_WORKERS = 8  # PostgreSQL: database calls at once (within SQLAlchemy's pool of 5 + 10)
ENGINE_KINDS = frozenset({"message", "callback_query"})  # updates whose handlers call the engine


def is_transient(exc: BaseException) -> bool:
    """True for failures that pass by themselves: network, Telegram overload, database down."""
    if isinstance(exc, (TimedOut, RetryAfter)):
        return True
    if isinstance(exc, NetworkError):
        return not isinstance(exc, BadRequest)  # PTB's BadRequest subclasses NetworkError
    # BrokenProcessPool: the engine's child process died; its batch is retried (a turn it
    # committed before dying is claimed, so the retry answers it without applying it again).
    return isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, BrokenProcessPool))


def update_kind(payload: dict[str, Any]) -> str:
    """"message", "callback_query", ... — the kind of update a payload holds."""
    return next((key for key in payload if key != "update_id"), "unknown")


@dataclass
class _Work:
    """One update in a lane, with what the pump learned about it so far."""

    update_id: int
    payload: dict[str, Any]
    fresh: bool  # journaled just now: certainly not handled yet, no need to look first
    started: float = field(default_factory=time.monotonic)
    attempt: int = 0
    sent: int = 0  # stored replies already sent (a retry resumes after them)
    update: Update | None = None
    replies: list[Reply] | None = None  # to send, once the update is done
    intent: str = "-"


class InboxPump:
    """Works off journaled updates: in order per chat, in parallel across chats."""

    def __init__(
        self,
        application: Application,
        database: Database,
        *,
        concurrency: int = 64,
        send_concurrency: int = 4,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
        turns: TurnRunner | None = None,
    ) -> None:
        self._app = application
        self._database = database
        self._slots = asyncio.Semaphore(concurrency)
        # Sends in flight: each one holds an HTTP connection, and every request checks every
        # idle connection of the pool, so more connections cost CPU on every send.
        self._sending = asyncio.Semaphore(send_concurrency)
        # SQLite takes one writer at a time and makes the others sleep in its busy handler;
        # queueing here instead keeps the database busy without that back-off, while the
        # replies of other chats are sent meanwhile.
        self._db_gate = asyncio.Semaphore(1 if database.dialect == "sqlite" else DB_WORKERS)
        # Engine turns and "replies sent" marks of different chats share transactions.
        self._turns = turns
        self.commits = GroupCommit(
            self._commit, self._db_gate, is_transient=is_transient, takes_turns=turns is not None
        )
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._lanes: dict[int, deque[_Work]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._known: set[int] = set()  # queued or in progress: never dispatched twice
        self._failures: dict[int, BaseException] = {}
        self._attempts: dict[int, int] = {}  # of updates being handled now
        self._handled: dict[int, tuple[str, list[Reply], str]] = {}  # engine results, by update id
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def dispatch(
        self,
        items: Iterable[tuple[int, dict[str, Any]]],
        *,
        fresh: bool = False,
        updates: dict[int, Update] | None = None,
    ) -> None:
        """Queue journaled updates (id, payload); ids already queued are ignored.

        ``fresh``: the updates were journaled just now by this process (not yet handled).
        ``updates``: the same updates already read into PTB objects (not read again).
        """
        if self._closed:
            return
        for update_id, payload in items:
            if update_id in self._known:
                continue
            self._known.add(update_id)
            key = lane_key(payload)
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = deque()
                task = asyncio.create_task(self._run_lane(key, lane), name=f"inbox-lane-{key}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            lane.append(_Work(update_id, payload, fresh, update=(updates or {}).get(update_id)))
        self._idle.clear() if self._known else self._idle.set()

    async def drain(self) -> int:
        """Queue every update the inbox still holds unfinished (start-up); return how many."""
        pending = await asyncio.to_thread(inbox.unfinished, self._database)
        self.dispatch(pending)
        if pending:
            log.info("inbox: %d unfinished updates from before the restart", len(pending))
        return len(pending)

    def note_failure(self, update_id: int, error: BaseException) -> bool:
        """Called by the error handler: handling ``update_id`` raised ``error``.

        Returns True on the first attempt, so that a fault retried five times is logged once.
        """
        if update_id in self._known:
            self._failures[update_id] = error
        return self._attempts.get(update_id, 1) == 1

    def note_handled(self, update_id: int, outcome: str, replies: list[Reply], *, intent: str = "-") -> None:
        """Called by the message handlers: the engine finished ``update_id`` (committed), so
        the pump need not read the row back to learn its outcome and replies."""
        if update_id in self._known:
            self._handled[update_id] = (outcome, replies, intent)

    @property
    def idle(self) -> bool:
        return not self._known

    async def wait_idle(self) -> None:
        """Return once every queued update is finished and its replied mark written."""
        await self._idle.wait()
        await self.commits.settled()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking updates; let the lanes finish for a while, then cancel them.

        What is left stays unfinished in the inbox and is taken up at the next start.
        """
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            log.warning("inbox: %d updates left for the next start", len(self._known))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # the last replied marks (and a batch still running) are written
            await asyncio.wait_for(self.commits.settled(), grace_seconds)
        except TimeoutError:
            log.warning("inbox: the last replied marks were not written; those replies go out again at the next start")

    async def _run_lane(self, key: int, lane: deque[_Work]) -> None:
        try:
            while lane:
                work = lane[0]
                await self._work_off(work)
                lane.popleft()
                self._known.discard(work.update_id)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            if not self._known:
                self._idle.set()

    async def _work_off(self, work: _Work) -> None:
        """Handle one update until it is finished, retrying passing failures in place."""
        while True:
            work.attempt += 1
            self._attempts[work.update_id] = work.attempt
            try:
                async with self._slots:
                    finished = await self._handle(work)
            except Exception as exc:  # noqa: BLE001 - the lane must outlive any one update
                finished = None
                transient = is_transient(exc)
                if work.attempt == 1 or not transient:
                    log.warning(
                        "update=%s attempt=%d failed: %s: %s", work.update_id, work.attempt, type(exc).__name__, exc
                    )
                if not transient and work.attempt >= MAX_ATTEMPTS:
                    log.error("update=%s given up after %d attempts; left in the inbox", work.update_id, work.attempt)
                    self._attempts.pop(work.update_id, None)
                    return
            if finished is not None:
                self._attempts.pop(work.update_id, None)
                self._log_outcome(work, finished)
                return
            await asyncio.sleep(min(self._retry_cap, self._retry_base * 2 ** (work.attempt - 1)))

    def _update_of(self, work: _Work) -> Update:
        if work.update is None:
            work.update = Update.de_json(work.payload, self._app.bot)
        return work.update

    async def _handle(self, work: _Work) -> inbox.InboxEntry | None:
        """The finished entry, or None when a passing failure asks for another attempt."""
        update_id = work.update_id
        entry = None
        if not work.fresh or work.attempt > 1:
            async with self._db_gate:
                entry = await asyncio.to_thread(inbox.load, self._database, update_id)
            if entry is None:  # not journaled (cannot happen in normal runs): nothing to do
                return inbox.InboxEntry(update_id, work.payload, True, "missing", [], True)
        if entry is None or not entry.done:
            update = self._update_of(work)
            self._failures.pop(update_id, None)
            self._handled.pop(update_id, None)
            if self.commits.takes_turns and update_kind(work.payload) in ENGINE_KINDS:
                await self._app.process_update(update)  # the group commit takes the gate itself
            else:
                async with self._db_gate:
                    await self._app.process_update(update)
            failure = self._failures.pop(update_id, None)
            handled = self._handled.pop(update_id, None)
            if failure is not None:
                if is_transient(failure) and work.attempt < MAX_ATTEMPTS:
                    return None
                apology = replies_to_json([Reply(APOLOGY)]) if self._should_apologise(update) else []
                async with self._db_gate:
                    await asyncio.to_thread(inbox.complete, self._database, update_id, "error", apology)
            elif handled is not None:  # the engine marked it done: what settle would read
                outcome, work.replies, work.intent = handled
                entry = inbox.InboxEntry(update_id, work.payload, True, outcome, [], False)
            if entry is None or not entry.done:
                async with self._db_gate:
                    entry = await asyncio.to_thread(inbox.settle, self._database, update_id)
        if not entry.replied:
            if work.replies is None:
                work.replies = replies_from_json(entry.replies)
            if work.replies and not await self._deliver(work, work.replies):
                return None
            self.commits.mark_replied(update_id)  # written with the next batch, not awaited
        return entry

    async def _commit(self, turns: list[tuple[Incoming, int]], replied: list[int]) -> list[Any]:
        """One transaction: the turns (the engine's) and the replied marks."""
        if self._turns is not None:
            return await self._turns.run(turns, replied)
        await asyncio.to_thread(inbox.mark_replied_many, self._database, replied)
        return []

    def _should_apologise(self, update: Update) -> bool:
        if update.callback_query is not None:
            return True
        message = update.message
        if message is None:
            return False
        return is_addressed(message, message.text or message.caption or "", self._app.bot.bot)

    async def _deliver(self, work: _Work, replies: list[Reply]) -> bool:
        """Send the replies not sent yet; False when a passing failure interrupted."""
        chat_id, edit_message_id = reply_target(self._update_of(work))
        while work.sent < len(replies):
            reply = replies[work.sent]
            if chat_id is not None or reply.chat_id is not None:
                try:
                    async with self._sending:
                        await send_reply(self._app.bot, chat_id, reply, edit_message_id=edit_message_id)
                except (Forbidden, BadRequest, ChatMigrated) as exc:
                    # Blocked by the user, removed from the group, chat gone: retrying cannot help.
                    log.warning("update=%s reply %d not deliverable: %s", work.update_id, work.sent, type(exc).__name__)
                except TelegramError as exc:
                    if not is_transient(exc):
                        raise
                    if work.attempt == 1:
                        log.warning("update=%s reply %d delayed: %s", work.update_id, work.sent, type(exc).__name__)
                    return False
            work.sent += 1
        return True

    def _log_outcome(self, work: _Work, entry: inbox.InboxEntry) -> None:
        # One line per update: ids, outcome and latency, never message text or names.
        update = self._update_of(work)
        user, chat = update.effective_user, update.effective_chat
        log.info(
            "update=%s user=%s chat=%s kind=%s intent=%s outcome=%s replies=%d latency_ms=%.0f",
            work.update_id,
            user.id if user else "-",
            chat.id if chat else "-",
            update_kind(work.payload),
            work.intent,
            entry.outcome or "-",
            len(work.replies if work.replies is not None else entry.replies),
            (time.monotonic() - work.started) * 1000,
        )
