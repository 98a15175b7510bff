"""The conversation engine: incoming messages and button presses -> replies, in the caller's
transaction.

Telegram (delivery/pump.py), the console and the tests all call
:meth:`ConversationEngine.handle` (the ``Engine`` protocol of services/conversation/messages.py,
whose ``reply_to`` runs one incoming in a transaction of its own). The engine finds
the sender, refuses strangers (except ``/start <code>``), and routes to a command, a button
answer, a report or a query. Domain errors become one-sentence replies and roll back
everything the turn did (a savepoint), while its bookkeeping (a failed invite attempt)
still commits. It knows nothing of Telegram updates, the inbox or what was sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from db.models import User
from db.session import Database
from db.types import utcnow
from nlp.workdays import calendar_from_settings
from services.conversation import evidence_flow, issue_commands, pending, query_flow, report_flow
from services.conversation.commands import (
    ENGINE_COMMANDS,
    NOT_REGISTERED,
    Command,
    help_command,
    split_command,
    text_command,
)
from services.conversation.context import CommandContext
from services.conversation.messages import Incoming, Reply, TurnResult
from services.conversation.paging import is_page_data
from services.conversation.turn import parse_text
from services.disclosure import redact
from services.errors import DomainError
from services.issues import code_in_text
from services.formatting import TELEGRAM_LIMIT, split_text
from services.invites import InviteRefused, record_failed_attempt, redeem_invite
from services.issue_preload import preload_village_issues
from services.parser_provider import ParserProvider
from services.report_batch import WritesRefused, batched_report_writes
from services.report_batch import listen as listen_for_report_batches
from services.scope import Scope
from services.users import describe_user, find_by_telegram_id, preload_senders
from settings import Settings

log = logging.getLogger(__name__)

UNSUPPORTED = "请发文字或带说明的照片。"
NEEDS_CAPTION = "请给照片加上文字说明，例如“东台村饮水管道已修好”，照片会作为佐证保存。"
ACKNOWLEDGED = "好的。"
NOT_UNDERSTOOD = "没看懂。可以这样说：东台村饮水问题已解决；东台村还有哪些问题；本周到期的有哪些。发 /help 看更多例子。"
INTERNAL_ERROR = "出错了，这条消息没有修改台账。请稍后再试，或联系管理员。"
DISABLED = "您的账号已停用，如有疑问请联系县扶贫办管理员。"
UNKNOWN_COMMAND = "没有这个命令。发 /help 看用法。"
STALE_BUTTON = "这个按钮已失效，请重新发送。"
# Failures of the database itself, not of the turn: they abort the whole transaction.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


class _Redo(Exception):
    """A turn run without its own savepoint was refused or failed: run the batch again with one."""


def _digest_commands() -> dict[str, Command]:
    """The digest helper's commands (subscribe, unsubscribe, digest, subscriptions)."""
    from services.conversation import digest_commands

    return dict(digest_commands.COMMANDS)


def fit_replies(replies: list[Reply]) -> list[Reply]:
    """Split any text over Telegram's limit (a safety net: renderers page themselves)."""
    fitted: list[Reply] = []
    for reply in replies:
        if len(reply.text) <= TELEGRAM_LIMIT:
            fitted.append(reply)
            continue
        chunks = split_text(reply.text)
        for chunk in chunks[:-1]:
            fitted.append(Reply(chunk, chat_id=reply.chat_id))
        fitted.append(Reply(chunks[-1], buttons=reply.buttons, file=reply.file, chat_id=reply.chat_id))
    return fitted


class ConversationEngine:
    """Text, button presses and attachments in; replies out. Synchronous and thread-safe."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        parser_provider: ParserProvider | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.calendar = calendar_from_settings(settings)
        self.parsers = parser_provider or ParserProvider(
            self.calendar, reader_model=settings.path_of(settings.storage.reader_model))
        self.bot_username: str | None = settings.telegram.bot_username
        self._clock = clock or utcnow
        listen_for_report_batches(database.engine)

    def warm_up(self) -> None:
        """Build the parser now (slow), so that the first message is answered quickly."""
        with self.database.transaction() as session:
            self.parsers.get(session)

    def now(self) -> dt.datetime:
        """Aware, in the county's time zone."""
        return self._clock().astimezone(self.settings.county.tz)

    def handle(self, session: Session, incomings: Sequence[Incoming]) -> list[TurnResult]:
        """Several turns, in order, in the caller's transaction: one result each.

        A refusal or failure of one turn rolls back only that turn. The turns first run
        under one savepoint for the batch (two statements fewer a turn); if one of them is
        refused or fails, that savepoint is rolled back and the batch runs again with a
        savepoint per turn. A turn with an attachment always has its own savepoint: its file
        is kept before anything can fail and must not be kept twice. On PostgreSQL the first
        run's report writes go to the server together (services/report_batch.py); should one
        of them not be made, the batch runs again the same way, each write on its own.
        """
        try:
            with session.begin_nested(), batched_report_writes(session):
                return self._turns(session, incomings, savepoints=False)
        except (_Redo, WritesRefused):
            # Objects told their new values directly (set_committed_value) are not expired
            # by the savepoint's rollback: read everything afresh.
            session.expire_all()
            return self._turns(session, incomings, savepoints=True)

    def _turns(self, session: Session, incomings: Sequence[Incoming], *, savepoints: bool) -> list[TurnResult]:
        preload_senders(session, (i.sender_id for i in incomings if not _known_by_user_id(i)))
        preload_village_issues(session, self._villages_of_writers(session, incomings))
        results = []
        for incoming in incomings:
            result = self._turn(session, without_control_characters(incoming), self.now(), savepoints)
            log.debug("user=%s intent=%s outcome=%s", result.user_id, result.intent, result.outcome)
            results.append(result)
        return results

    def _villages_of_writers(self, session: Session, incomings: Sequence[Incoming]) -> set[tuple[str, str]]:
        """The villages in the scopes of the batch's senders of messages (what their reports
        are most likely about)."""
        places: set[tuple[str, str]] = set()
        for incoming in incomings:
            text = (incoming.text or "").lstrip()
            if incoming.callback_data or not text or text.startswith("/"):
                continue
            if incoming.chat_type == "group" and not incoming.addressed:
                continue
            user = self._sender(session, incoming)
            if user is not None and user.active:
                places |= Scope.of_user(user).villages
        return places

    # ---- who is speaking ----------------------------------------------------------------

    def _sender(self, session: Session, incoming: Incoming) -> User | None:
        if _known_by_user_id(incoming):
            return session.get(User, incoming.user_id)
        return find_by_telegram_id(session, incoming.sender_id)

    def _turn(self, session: Session, incoming: Incoming, now: dt.datetime, savepoint: bool) -> TurnResult:
        if incoming.chat_type == "group" and not incoming.addressed:
            return TurnResult([], None, "none", "ignored")
        user = self._sender(session, incoming)
        if user is None or not user.active:
            return self._stranger(session, incoming, user, now)
        ctx = CommandContext(
            session=session, user=user, incoming=incoming, settings=self.settings,
            calendar=self.calendar, now=now, parser=self.parsers.bound(session),
            bot_username=self.bot_username,
        )
        savepoint = savepoint or incoming.attachment is not None
        try:
            with session.begin_nested() if savepoint else nullcontext():
                replies = self._dispatch(ctx)
            replies = evidence_flow.settle(ctx, replies)
        except DomainError as error:
            if not savepoint:
                raise _Redo from error  # this turn may have written part of its change
            # A refusal never edits the question it answers: the question (or the result
            # an earlier press put there) stays readable.
            replies = evidence_flow.refused(ctx, [Reply(str(error))])
            ctx.outcome = "refused"
        except DATABASE_UNAVAILABLE:
            evidence_flow.discard(ctx)
            raise  # nothing was applied: the transport tries the update again later
        except Exception as error:
            if not savepoint:
                raise _Redo from error
            log.exception("user=%s intent=%s: unexpected error", user.id, ctx.intent)
            replies = evidence_flow.refused(ctx, [Reply(INTERNAL_ERROR)])
            ctx.outcome = "error"
        if incoming.chat_type == "group" and replies:
            replies = _for_group(ctx, replies)
        return TurnResult(fit_replies(replies), user.id, ctx.intent, ctx.outcome)

    def _stranger(self, session: Session, incoming: Incoming, user: User | None, now: dt.datetime) -> TurnResult:
        """Someone not registered (or disabled): only ``/start <code>`` works."""
        if user is not None:
            return TurnResult([Reply(DISABLED)], user.id, "none", "refused")
        text = (incoming.text or "").strip()
        name, code = split_command(text) if text.startswith("/") else ("", "")
        if name != "start" or incoming.callback_data:
            return TurnResult([Reply(NOT_REGISTERED)], None, "none", "refused")
        if not code:
            return TurnResult([Reply(f"欢迎使用攻坚通。{NOT_REGISTERED}")], None, "start", "refused")
        if incoming.chat_type == "group":
            return TurnResult([Reply("请私聊我发送邀请码注册。")], None, "start", "refused")
        try:
            with session.begin_nested():
                user = redeem_invite(
                    session, telegram_id=incoming.sender_id, code=code.split()[0],
                    sender_name=incoming.sender_name, now=now,
                    attempts_per_hour=self.settings.policy.invite_attempts_per_hour,
                )
        except InviteRefused as refusal:
            if refusal.counts:
                record_failed_attempt(session, incoming.sender_id, now)
            return TurnResult([Reply(str(refusal))], None, "start", "refused")
        text = f"注册成功！{describe_user(user)}\n发 /help 看用法。"
        return TurnResult([Reply(text)], user.id, "start", "registered")

    # ---- what they want ---------------------------------------------------------------------

    def _dispatch(self, ctx: CommandContext) -> list[Reply]:
        incoming = ctx.incoming
        if incoming.unsupported:
            ctx.intent = "unsupported"
            return [Reply(UNSUPPORTED)]
        if incoming.callback_data:
            return self._button(ctx, incoming.callback_data)
        text = _without_leading_mention((incoming.text or "").strip())
        if text.startswith("/"):
            return self._command(ctx, text)
        aliased = text_command(text)
        if aliased is not None:
            name, args = aliased
            ctx.intent = name
            return ENGINE_COMMANDS[name](ctx, args)
        if not text:
            ctx.intent = "empty"
            return [Reply(NEEDS_CAPTION if incoming.attachment else UNSUPPORTED)]
        return self._message(ctx, text)

    def _message(self, ctx: CommandContext, text: str) -> list[Reply]:
        code = code_in_text(text)
        if code is not None and text.strip().upper() == code.upper():
            return issue_commands.issue_card(ctx, code)  # ZG-0002 alone: that item's card
        parse = parse_text(ctx, text)
        intent = parse.intent
        ctx.intent = intent
        if intent in ("report", "new_issue"):
            return report_flow.handle_report(ctx, parse, text)
        if intent == "undo":
            replies = issue_commands.undo_command(ctx, "")
        elif intent == "help":
            replies = help_command(ctx, "")
        elif intent.startswith("query_"):
            replies = query_flow.handle_query(ctx, parse)
        elif getattr(parse, "ack", False) and ctx.incoming.attachment is None:
            # 收到 / 辛苦了 / 👍: no lecture; silence in a group, a word in private
            ctx.outcome = "acknowledged"
            return [] if ctx.in_group else [Reply(ACKNOWLEDGED)]
        else:
            ctx.outcome = "unclear"
            replies = [Reply(NOT_UNDERSTOOD)]
        return replies  # an attachment here is not kept: evidence_flow.settle says so

    def _command(self, ctx: CommandContext, text: str) -> list[Reply]:
        name, args = split_command(text)
        command = ENGINE_COMMANDS.get(name) or _digest_commands().get(name)
        ctx.intent = name or "command"
        if command is None:
            ctx.outcome = "unknown_command"
            return [Reply(UNKNOWN_COMMAND)]
        return command(ctx, args)

    def _button(self, ctx: CommandContext, data: str) -> list[Reply]:
        ctx.intent = "button"
        if not _plausible_button_data(data):  # forged by a client: no id we ever issued
            ctx.outcome = "stale_button"
            return [Reply(STALE_BUTTON)]
        if is_page_data(data):
            return query_flow.on_page(ctx, data)
        if evidence_flow.is_view_data(data):
            return evidence_flow.on_view(ctx, data)
        if pending.is_pending_data(data):
            payload, option = pending.claim(ctx, data)
            answer = {
                report_flow.KIND: report_flow.on_answer,
                query_flow.KIND: query_flow.on_answer,
                issue_commands.KIND: issue_commands.on_answer,
            }.get(payload.get("kind"))
            if answer is not None:
                return answer(ctx, payload, option)
        ctx.outcome = "stale_button"
        return [Reply(STALE_BUTTON)]


# Control characters other than tab and newline carry no meaning in a report, and NUL
# cannot be stored in PostgreSQL text at all: drop them before anything reads the text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_DB_INT = 2**31 - 1


_LEADING_MENTION = re.compile(r"^@[A-Za-z0-9_]{3,64}[\s,，:：]*")


def _without_leading_mention(text: str) -> str:
    """"@gongjian_bot 东台村饮水问题已解决": the address is no part of the message (help says
    "@我"; Telegram strips its own mention, the console and other front ends may not)."""
    return _LEADING_MENTION.sub("", text, count=1) or text


def _for_group(ctx: CommandContext, replies: list[Reply]) -> list[Reply]:
    """Every reply to a group through the redactor (services/disclosure.py): no ID, phone or
    bank card number and no household member's name, whatever a person typed."""
    names = getattr(ctx.parser, "person_names", ())
    cleaned = []
    for reply in replies:
        if reply.file is not None and reply.file.is_evidence:
            continue  # evidence files never go to a group (evidence_flow refuses earlier too)
        buttons = tuple(tuple(replace(b, text=redact(b.text, names)) for b in row) for row in reply.buttons)
        cleaned.append(replace(reply, text=redact(reply.text, names), buttons=buttons))
    return cleaned


def _known_by_user_id(incoming: Incoming) -> bool:
    """A trusted front end (console, tests) names the ledger user; Telegram never does."""
    return incoming.user_id is not None and incoming.source != "telegram"


def without_control_characters(incoming: Incoming) -> Incoming:
    """The incoming with control characters removed from everything a person typed."""
    fields = {
        name: _CONTROL.sub("", value)
        for name in ("text", "callback_data", "sender_name", "chat_title")
        if isinstance(value := getattr(incoming, name), str) and _CONTROL.search(value)
    }
    return replace(incoming, **fields) if fields else incoming


def _plausible_button_data(data: str) -> bool:
    """Every number in data we issued is a database id or a page: it fits an INTEGER."""
    return all(int(number) <= _MAX_DB_INT for number in re.findall(r"\d+", data))

