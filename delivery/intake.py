"""Intake: updates from Telegram to their replies, in order per chat, exactly once.

1. :func:`poll_updates` (long polling) or the webhook (:func:`start_webhook_server`)
   journals each fetched update in the inbox (services/inbox.py) before Telegram is told it
   was received (the next getUpdates offset, or the webhook's 200). PTB's Updater and
   webhook confirm before handling, so a ``kill -9`` would lose updates; a crash here makes
   Telegram send them again, and the inbox recognises them.
2. :class:`Intake` works them off: one lane per chat, in update_id order; different chats
   in parallel. An update already done (re-delivered, replayed) is not handled again.
3. A message or button press becomes the engine's :class:`Incoming` (delivery/updates.py),
   with the bytes of a captioned file fetched first, and takes its turn through the pump
   (delivery/pump.py: claim -> the engine's turn -> record, in one transaction shared with
   other chats' turns). Edited messages, membership changes and migrations are finished by
   delivery/chat_events.py.
4. The stored replies are sent (delivery/outbox.py) and the update acknowledged (its
   replied mark rides with the pump's next batch).

A failure for a passing reason (network, Telegram 5xx or 429, database unreachable, the
engine process died) is retried in the same lane after a back-off, so the chat's order holds
and no reply is lost; any other failure is answered with an apology and logged once.
PTB's own dispatcher takes no updates: its Application gives the Bot (with its rate
limiter) and the JobQueue.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from tornado.httpserver import HTTPServer

from db.session import Database
from delivery.chat_events import finish_chat_event
from delivery.faults import is_transient, retry_after_seconds
from delivery.outbox import deliver
from delivery.pump import MAX_TURNS, GroupCommit, TurnRunner
from delivery.updates import incoming_of, is_addressed, lane_key, purpose_of, reply_target, update_kind
from services import inbox
from services.conversation.messages import Reply
from services.conversation.serialize import replies_from_json, replies_to_json
from settings import WebhookSettings

log = logging.getLogger(__name__)

# What the bot reads; my_chat_member tells it it was removed from a group.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
POLL_TIMEOUT_SECONDS = 25
BACKOFF_CAP_SECONDS = 30.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APOLOGY = "抱歉，这条消息没有处理成功，请稍后重发。"
MAX_ATTEMPTS = 5  # handling attempts for passing failures before the apology
DB_WORKERS = 8  # PostgreSQL: database calls at once (within SQLAlchemy's pool of 5 + 10)
TURNS = frozenset({"text", "file", "unsupported", "button"})  # updates the engine reads


# ---- receiving: journal first, then confirm ----------------------------------------------


async def poll_updates(
    bot: Bot,
    database: Database,
    intake: Intake,
    *,
    timeout: int = POLL_TIMEOUT_SECONDS,
    backoff_seconds: float = 1.0,
) -> None:
    """Fetch, journal and dispatch updates until cancelled; faults are logged once a streak."""
    offset: int | None = None
    failures = 0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        except InvalidToken:
            raise
        except RetryAfter as exc:
            failures = _note_fault(failures, "getUpdates", exc)
            await asyncio.sleep(retry_after_seconds(exc))
            continue
        except TelegramError as exc:  # network drop, timeout, 5xx, 409 (another instance)
            failures = _note_fault(failures, "getUpdates", exc)
            await asyncio.sleep(min(BACKOFF_CAP_SECONDS, backoff_seconds * 2 ** (failures - 1)))
            continue
        if failures:
            log.info("getUpdates works again after %d failures", failures)
            failures = 0
        if not updates:
            continue
        payloads = [update.to_dict() for update in updates]
        try:
            fresh = set(await asyncio.to_thread(inbox.journal, database, payloads))
        except SQLAlchemyError as exc:
            # Not journaled, so not confirmed: Telegram keeps the batch until this works.
            failures = _note_fault(failures, "journal", exc)
            await asyncio.sleep(min(BACKOFF_CAP_SECONDS, backoff_seconds * 2 ** (failures - 1)))
            continue
        offset = updates[-1].update_id + 1
        intake.dispatch(
            ((update.update_id, payload) for update, payload in zip(updates, payloads) if update.update_id in fresh),
            fresh=True,
            updates={update.update_id: update for update in updates},
        )


def _note_fault(failures: int, what: str, exc: BaseException) -> int:
    if failures == 0:
        log.warning("%s failed: %s: %s (retrying)", what, type(exc).__name__, exc)
    return failures + 1


class _UpdateReceiver(tornado.web.RequestHandler):
    """Webhook mode, POST <path>: one update as JSON; 200 only once it is journaled (else
    500, and Telegram delivers it again later)."""

    def initialize(self, database: Database, intake: Intake, secret_token: str | None) -> None:
        self._database = database
        self._intake = intake
        self._secret = secret_token

    async def post(self) -> None:
        if self._secret is not None:
            given = self.request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self._secret.encode()):
                self.send_error(403)
                return
        try:
            payload = json.loads(self.request.body)
            int(payload["update_id"])
        except (ValueError, TypeError, KeyError):
            self.send_error(400)
            return
        try:
            fresh = await asyncio.to_thread(inbox.journal, self._database, [payload])
        except SQLAlchemyError as exc:
            log.warning("webhook: journal failed (%s); Telegram will deliver again", type(exc).__name__)
            self.send_error(500)
            return
        self.set_status(200)
        await self.finish()
        if fresh:
            self._intake.dispatch([(payload["update_id"], payload)], fresh=True)

    def log_exception(self, typ, value, tb) -> None:  # tornado logs request bodies otherwise
        log.error("webhook: request failed: %s", typ.__name__ if typ else "?")


def webhook_path(settings: WebhookSettings) -> str:
    """The path Telegram posts to: the path of the configured public URL ("/" when none)."""
    return urlsplit(settings.url or "").path or "/"


def start_webhook_server(settings: WebhookSettings, database: Database, intake: Intake) -> HTTPServer:
    """Listen on settings.listen:settings.port (on the running event loop); caller stops it."""
    handler = (webhook_path(settings), _UpdateReceiver,
               {"database": database, "intake": intake, "secret_token": settings.secret_token})
    server = HTTPServer(tornado.web.Application([handler]), xheaders=True)
    server.listen(settings.port, address=settings.listen)
    return server


async def stop_webhook_server(server: HTTPServer) -> None:
    """Stop listening and close open connections."""
    server.stop()
    await server.close_all_connections()


# ---- working them off: one lane per chat ----------------------------------------------------


@dataclass
class _Work:
    """One update in a lane, with what intake learned about it so far."""

    update_id: int
    payload: dict[str, Any]
    fresh: bool  # journaled just now: certainly not handled yet, no need to look first
    started: float = field(default_factory=time.monotonic)
    attempt: int = 0
    sent: int = 0  # stored replies already sent (a retry resumes after them)
    update: Update | None = None
    replies: list[Reply] | None = None  # known once the update is done
    outcome: str | None = None
    intent: str = "-"


class Intake:
    """Works off journaled updates: in order per chat, in parallel across chats."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        turns: TurnRunner,
        *,
        concurrency: int = 64,
        send_concurrency: int = 4,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
        max_turns: int = MAX_TURNS,
    ) -> None:
        self._bot = bot
        self._database = database
        self._slots = asyncio.Semaphore(concurrency)
        # Sends in flight: each one holds an HTTP connection, and every request checks every
        # idle connection of the pool, so more connections cost CPU on every send.
        self._sending = asyncio.Semaphore(send_concurrency)
        # SQLite takes one writer at a time and makes the others sleep in its busy handler;
        # queueing here instead keeps the database busy without that back-off, while the
        # replies of other chats are sent meanwhile.
        self._db_gate = asyncio.Semaphore(1 if database.dialect == "sqlite" else DB_WORKERS)
        self.commits = GroupCommit(turns.run, self._db_gate, is_transient=is_transient, max_turns=max_turns)
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._lanes: dict[int, deque[_Work]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._known: set[int] = set()  # queued or in progress: never dispatched twice
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
        """See one update through, retrying passing failures in place."""
        while True:
            work.attempt += 1
            try:
                async with self._slots:
                    finished = await self._see_through(work)
            except Exception as exc:  # noqa: BLE001 - the lane must outlive any one update
                finished = False
                transient = is_transient(exc)
                if work.attempt == 1 or not transient:
                    log.warning(
                        "update=%s attempt=%d failed: %s: %s", work.update_id, work.attempt, type(exc).__name__, exc
                    )
                if not transient and work.attempt >= MAX_ATTEMPTS:
                    log.error("update=%s given up after %d attempts; left in the inbox", work.update_id, work.attempt)
                    return
            if finished:
                self._log_outcome(work)
                return
            await asyncio.sleep(min(self._retry_cap, self._retry_base * 2 ** (work.attempt - 1)))

    # ---- one update: take its turn, send its replies, acknowledge ------------------------------

    async def _see_through(self, work: _Work) -> bool:
        """True once the update is finished; False when a passing failure asks for another try."""
        if work.replies is None and not await self._handle(work):
            return False
        if work.replies:
            target = reply_target(self._update_of(work))
            work.sent = await deliver(self._bot, target, work.replies, start=work.sent,
                                      gate=self._sending, update_id=work.update_id, quiet=work.attempt > 1)
            if work.sent < len(work.replies):
                return False
        self.commits.mark_replied(work.update_id)  # written with the next batch, not awaited
        return True

    async def _handle(self, work: _Work) -> bool:
        """Learn the update's outcome and replies: stored, or by handling it now."""
        if not work.fresh or work.attempt > 1:
            async with self._db_gate:
                entry = await asyncio.to_thread(inbox.load, self._database, work.update_id)
            if entry is None or entry.replied:  # never journaled (cannot happen), or all done
                work.outcome, work.replies = entry.outcome if entry else "missing", []
                return True
            if entry.done:
                work.outcome, work.replies = entry.outcome, replies_from_json(entry.replies)
                return True
        update = self._update_of(work)
        purpose = purpose_of(update)
        try:
            if purpose in TURNS:
                incoming = await incoming_of(self._bot, update, purpose)
                result = await self.commits.handle(incoming, work.update_id)
                work.outcome, work.replies, work.intent = result.outcome, result.replies, result.intent
                return True
            async with self._db_gate:
                await asyncio.to_thread(finish_chat_event, self._database, update, purpose)
        except Exception as exc:  # noqa: BLE001 - retried, or answered with an apology
            if is_transient(exc) and work.attempt < MAX_ATTEMPTS:
                if work.attempt == 1:
                    log.warning("update=%s failed for now: %s: %s", work.update_id, type(exc).__name__, exc)
                return False
            log.error("update=%s failed", work.update_id, exc_info=exc)
            apology = replies_to_json([Reply(APOLOGY)]) if self._should_apologise(update) else []
            async with self._db_gate:
                await asyncio.to_thread(inbox.complete, self._database, work.update_id, "error", apology)
        async with self._db_gate:  # what the chat event or the apology stored
            entry = await asyncio.to_thread(inbox.load, self._database, work.update_id)
        work.outcome, work.replies = entry.outcome, replies_from_json(entry.replies)
        return True

    def _update_of(self, work: _Work) -> Update:
        if work.update is None:
            work.update = Update.de_json(work.payload, self._bot)
        return work.update

    def _should_apologise(self, update: Update) -> bool:
        if update.callback_query is not None:
            return True
        message = update.message
        if message is None:
            return False
        return is_addressed(message, message.text or message.caption or "", self._bot.bot)

    def _log_outcome(self, work: _Work) -> None:
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
            work.outcome or "-",
            len(work.replies or []),
            (time.monotonic() - work.started) * 1000,
        )
