"""A fake Telegram Bot API server for end-to-end tests, and helpers to run the bot against it.

The server is an aiohttp app on 127.0.0.1 (random port) that speaks enough of the Bot API
for the bot: getMe, getUpdates (offsets, long polling, allowed_updates), sendMessage,
editMessageText, answerCallbackQuery, sendPhoto/sendDocument (multipart), getFile and the
file download route, setMyCommands, deleteWebhook/setWebhook, getChatMember, leaveChat.
It keeps a transcript of every call, lets a test act as Telegram users (text, commands,
button presses, photos, documents, stickers, edits, the bot removed from a group, a group
migrated to a supergroup), and injects faults (429 with retry_after, 500, slow answers,
Forbidden for a chat, a dropped connection during getUpdates, a failing getMe).

The bot under test is pointed at it with ``base_url=f"http://127.0.0.1:{port}/bot"`` and
``base_file_url=f"http://127.0.0.1:{port}/file/bot"``, so everything goes through PTB's
real HTTP path. Its fixture (``fake_bot_api``) is registered in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from db.models import AuditLog
from services.conversation.messages import Button, Incoming, OutgoingFile, Reply, TurnResult
from settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
BOT_ID = 987654321
BOT_USERNAME = "gongjian_test_bot"
TOKEN = f"{BOT_ID}:AAE-fake-token-for-tests"
WAIT_SECONDS = 30.0  # upper bound for "eventually" in tests; never a timing assertion

# Parameters whose form value is JSON; ids are integers; everything else is a string.
JSON_PARAMS = {
    "reply_markup", "allowed_updates", "commands", "entities", "caption_entities",
    "reply_parameters", "link_preview_options", "scope",
}
INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "reply_to_message_id", "cache_time"}


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str = "测试"
    username: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class FakeChat:
    id: int
    type: str = "private"  # private / group / supergroup
    title: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        return data


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200


@dataclass
class Sent:
    """A message the bot sent, in its current state (edits applied)."""

    chat_id: int
    message_id: int
    text: str
    kind: str = "text"  # text / photo / document
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    file: bytes | None = None
    file_name: str | None = None
    edits: int = 0

    @property
    def button_data(self) -> list[str]:
        return [data for row in self.buttons for _, data in row]

    def button(self, label_part: str) -> str:
        """The callback data of the first button whose label contains ``label_part``."""
        for row in self.buttons:
            for label, data in row:
                if label_part in label:
                    return data
        raise AssertionError(f"no button with {label_part!r} in {self.buttons}")


@dataclass
class Fault:
    status: int | None = None  # answer with this error status
    retry_after: int | None = None  # with 429
    description: str | None = None
    delay: float = 0.0  # answer (or fail) this many seconds late
    drop: bool = False  # close the connection without answering


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeBotApi:
    """The fake server. Start with ``await start()``; a test acts through its methods."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "攻坚通", "username": BOT_USERNAME}
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []  # not yet confirmed by an offset
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.forbidden_chats: set[int] = set()
        self.webhook_url: str | None = None
        self.injected: dict[int, dict[str, Any]] = {}  # every update ever queued, by id
        self.chats: dict[int, dict[str, Any]] = {}  # chats seen in injected updates
        self._tasks: set[asyncio.Task] = set()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._update_ids = itertools.count(10_000)
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- server -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params, files = await self._read_params(request)
        call = Call(method, params, files)
        self.calls.append(call)
        try:
            fault = self._faults[method].popleft() if self._faults[method] else None
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.drop:
                    call.status = 0
                    request.transport.close()
                    return web.Response()
                if fault.status:
                    call.status = fault.status
                    return self._error(fault.status, fault.description, fault.retry_after)
            chat_id = params.get("chat_id")
            if chat_id in self.forbidden_chats:
                call.status = 403
                return self._error(403, "Forbidden: bot was blocked by the user")
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                call.status = 400
                return self._error(400, f"Bad Request: {method} is not implemented by the fake server")
            result = await handler(params, files)
            if isinstance(result, web.Response):
                call.status = result.status
                return result
            return web.json_response({"ok": True, "result": result})
        finally:
            await self._notify()

    @staticmethod
    def _error(status: int, description: str | None = None, retry_after: int | None = None) -> web.Response:
        defaults = {429: "Too Many Requests: retry later", 500: "Internal Server Error", 403: "Forbidden"}
        body: dict[str, Any] = {
            "ok": False,
            "error_code": status,
            "description": description or defaults.get(status, "Error"),
        }
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            body["description"] = description or f"Too Many Requests: retry after {retry_after}"
        return web.json_response(body, status=status)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            raw = await request.json()
            return dict(raw), files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                files[f"{key}__name"] = (value.filename or "").encode()
                continue
            if key in JSON_PARAMS:
                params[key] = json.loads(value)
            elif key in INT_PARAMS:
                try:
                    params[key] = int(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        return params, files

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for file_path, data in self.files.values():
            if file_path == path:
                self.calls.append(Call("download", {"file_path": path}))
                return web.Response(body=data)
        return web.Response(status=404)

    # -- Bot API methods --------------------------------------------------------------

    async def _m_getMe(self, params, files):
        return self.bot_user

    async def _m_setMyCommands(self, params, files):
        return True

    async def _m_deleteWebhook(self, params, files):
        self.webhook_url = None
        return True

    async def _m_setWebhook(self, params, files):
        self.webhook_url = params.get("url")
        return True

    async def _m_leaveChat(self, params, files):
        return True

    async def _m_getChatMember(self, params, files):
        return {"status": "member", "user": {"id": params.get("user_id"), "is_bot": False, "first_name": "x"}}

    async def _m_answerCallbackQuery(self, params, files):
        return True

    async def _m_getUpdates(self, params, files):
        offset = params.get("offset")
        if offset is not None:  # confirms every update below the offset
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates")
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        deadline = time.monotonic() + timeout

        def ready() -> list[dict[str, Any]]:
            return [u for u in self.updates if not allowed or any(kind in u for kind in allowed)][:limit]

        batch = ready()
        while not batch and time.monotonic() < deadline:
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    pass
            batch = ready()
        return batch

    async def _m_sendMessage(self, params, files):
        sent = self._record(params, "text", params.get("text", ""))
        return self._message_json(sent)

    async def _m_sendPhoto(self, params, files):
        data, name = self._upload(params, files, "photo")
        sent = self._record(params, "photo", params.get("caption", ""), data, name)
        return self._message_json(sent)

    async def _m_sendDocument(self, params, files):
        data, name = self._upload(params, files, "document")
        sent = self._record(params, "document", params.get("caption", ""), data, name)
        return self._message_json(sent)

    async def _m_editMessageText(self, params, files):
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        for sent in self.sent:
            if sent.chat_id == chat_id and sent.message_id == message_id:
                buttons = self._buttons(params.get("reply_markup"))
                if sent.text == params.get("text") and sent.buttons == buttons:
                    return self._error(400, "Bad Request: message is not modified")
                sent.text, sent.buttons = params.get("text", ""), buttons
                sent.edits += 1
                return self._message_json(sent)
        return self._error(400, "Bad Request: message to edit not found")

    async def _m_getFile(self, params, files):
        file_id = params.get("file_id")
        if file_id not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path}

    def _upload(self, params, files, name) -> tuple[bytes | None, str | None]:
        if name in files:
            return files[name], files.get(f"{name}__name", b"").decode() or None
        value = params.get(name, "")
        if isinstance(value, str) and value.startswith("attach://"):
            key = value.removeprefix("attach://")
            return files.get(key), files.get(f"{key}__name", b"").decode() or None
        return None, None  # sent by file_id or URL

    @staticmethod
    def _buttons(markup: dict | None) -> list[list[tuple[str, str]]]:
        if not markup:
            return []
        return [[(b["text"], b.get("callback_data", "")) for b in row] for row in markup.get("inline_keyboard", [])]

    def _record(self, params, kind, text, data=None, name=None) -> Sent:
        chat_id = params["chat_id"]
        sent = Sent(
            chat_id=chat_id,
            message_id=next(self._message_ids[chat_id]),
            text=text,
            kind=kind,
            buttons=self._buttons(params.get("reply_markup")),
            file=data,
            file_name=name,
        )
        self.sent.append(sent)
        return sent

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        chat = self.chats.get(sent.chat_id) or {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"}
        data: dict[str, Any] = {"message_id": sent.message_id, "date": int(time.time()), "chat": chat, "from": self.bot_user}
        if sent.kind == "text":
            data["text"] = sent.text
        elif sent.kind == "photo":
            data["photo"] = [{"file_id": f"sent-{sent.message_id}", "file_unique_id": f"us{sent.message_id}", "width": 1, "height": 1}]
        else:
            data["document"] = {"file_id": f"sent-{sent.message_id}", "file_unique_id": f"us{sent.message_id}"}
        if sent.kind != "text" and sent.text:
            data["caption"] = sent.text
        if sent.buttons:
            data["reply_markup"] = {
                "inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in sent.buttons]
            }
        return data

    # -- acting as Telegram users -----------------------------------------------------

    def _push(self, kind: str, body: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: body}
        self.updates.append(update)
        self.injected[update_id] = update
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return update_id

    def _message(self, user: FakeUser, chat: FakeChat | None, **fields: Any) -> dict[str, Any]:
        chat = chat or FakeChat(user.id)
        self.chats[chat.id] = chat.to_api()
        message = {
            "message_id": next(self._message_ids[chat.id]),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
        }
        message.update(fields)
        return message

    @staticmethod
    def _entities(text: str) -> list[dict[str, Any]]:
        entities = []
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        at = text.find("@" + BOT_USERNAME)
        if at >= 0 and not text.startswith("/"):
            entities.append({"type": "mention", "offset": utf16_len(text[:at]), "length": utf16_len(BOT_USERNAME) + 1})
        return entities

    def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        reply_to: Sent | None = None,
        forwarded_from: FakeUser | None = None,
    ) -> int:
        """``user`` sends ``text`` (private chat unless ``chat``); returns the update id."""
        fields: dict[str, Any] = {"text": text}
        entities = self._entities(text)
        if entities:
            fields["entities"] = entities
        if reply_to is not None:
            fields["reply_to_message"] = self._message_json(reply_to)
        if forwarded_from is not None:
            fields["forward_origin"] = {"type": "user", "date": int(time.time()), "sender_user": forwarded_from.to_api()}
        return self._push("message", self._message(user, chat, **fields))

    def message_id_of(self, update_id: int) -> int:
        """The message id of the message an injected update carried."""
        update = self.injected[update_id]
        body = next(value for key, value in update.items() if key != "update_id")
        return body["message_id"]

    def press(self, user: FakeUser, sent: Sent, data: str) -> int:
        """``user`` presses the button with callback ``data`` under the bot's message ``sent``."""
        assert data in sent.button_data, f"{data!r} is not a button of {sent.text!r}"
        query = {
            "id": f"cq{next(self._file_ids)}",
            "from": user.to_api(),
            "chat_instance": "ci",
            "data": data,
            "message": self._message_json(sent),
        }
        return self._push("callback_query", query)

    def _new_file(self, data: bytes, folder: str, suffix: str) -> str:
        number = next(self._file_ids)
        file_id = f"{folder}-file-{number}"
        self.files[file_id] = (f"{folder}/file_{number}.{suffix}", data)
        return file_id

    def send_photo(
        self, user: FakeUser, data: bytes, caption: str = "", *, chat: FakeChat | None = None,
        file_size: int | None = None,
    ) -> int:
        """``user`` sends a photo with ``caption``; the bytes are served by getFile + download
        (``file_size``: the size Telegram reports, e.g. over the 20 MB a bot may download)."""
        file_id = self._new_file(data, "photos", "jpg")
        size = len(data) if file_size is None else file_size
        fields: dict[str, Any] = {
            "photo": [
                {"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 90, "file_size": 10},
                {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600, "file_size": size},
            ]
        }
        if caption:
            fields["caption"] = caption
        return self._push("message", self._message(user, chat, **fields))

    def send_document(
        self, user: FakeUser, data: bytes, file_name: str, caption: str = "", *, chat: FakeChat | None = None,
        file_size: int | None = None,
    ) -> int:
        """``user`` sends a document with ``caption``."""
        file_id = self._new_file(data, "documents", file_name.rsplit(".", 1)[-1])
        size = len(data) if file_size is None else file_size
        fields: dict[str, Any] = {
            "document": {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name, "file_size": size}
        }
        if caption:
            fields["caption"] = caption
        return self._push("message", self._message(user, chat, **fields))

    def send_kind(self, user: FakeUser, kind: str, *, chat: FakeChat | None = None) -> int:
        """``user`` sends a sticker, voice note, location or contact."""
        bodies = {
            "sticker": {"file_id": "st1", "file_unique_id": "st1u", "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False},
            "voice": {"file_id": "vo1", "file_unique_id": "vo1u", "duration": 3},
            "location": {"latitude": 43.3, "longitude": 129.7},
            "contact": {"phone_number": "13800000000", "first_name": "张三"},
        }
        return self._push("message", self._message(user, chat, **{kind: bodies[kind]}))

    def edit_text(self, user: FakeUser, message_id: int, text: str, *, chat: FakeChat | None = None) -> int:
        """``user`` edits their message ``message_id`` to ``text``."""
        chat = chat or FakeChat(user.id)
        body = {
            "message_id": message_id,
            "date": int(time.time()) - 5,
            "edit_date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            "text": text,
        }
        return self._push("edited_message", body)

    def remove_bot(self, chat: FakeChat, by: FakeUser) -> int:
        """``by`` removes the bot from group ``chat`` (my_chat_member: member -> kicked)."""
        body = {
            "chat": chat.to_api(),
            "from": by.to_api(),
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": self.bot_user},
            "new_chat_member": {"status": "kicked", "user": self.bot_user, "until_date": 0},
        }
        return self._push("my_chat_member", body)

    def migrate(self, chat: FakeChat, new_chat_id: int, by: FakeUser) -> int:
        """Group ``chat`` becomes a supergroup with ``new_chat_id`` (service message)."""
        return self._push("message", self._message(by, chat, migrate_to_chat_id=new_chat_id))

    def inject(self, kind: str, body: dict[str, Any]) -> int:
        """Queue any raw update body (for kinds the helpers above do not cover)."""
        return self._push(kind, body)

    # -- faults -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` (429: ``retry_after``)."""
        for _ in range(times):
            self._faults[method].append(Fault(status=status, retry_after=retry_after, description=description))

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer (normally) ``seconds`` late."""
        for _ in range(times):
            self._faults[method].append(Fault(delay=seconds))

    def drop_next(self, method: str = "getUpdates", *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` lose their connection without an answer."""
        for _ in range(times):
            self._faults[method].append(Fault(drop=True))

    def forbid(self, chat_id: int) -> None:
        """Every call for ``chat_id`` answers 403 Forbidden (the user blocked the bot)."""
        self.forbidden_chats.add(chat_id)

    # -- transcript -------------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages_to(self, chat_id: int) -> list[Sent]:
        """The bot's messages in ``chat_id``, oldest first, as they read now."""
        return [sent for sent in self.sent if sent.chat_id == chat_id]

    def pending_updates(self) -> int:
        """Updates queued that the bot has not confirmed yet."""
        return len(self.updates)

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every call); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {getattr(predicate, '__name__', 'condition')}")
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
                except TimeoutError:
                    pass

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = WAIT_SECONDS) -> list[Sent]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; return them all."""

        def enough() -> list[Sent]:
            messages = self.messages_to(chat_id)
            return messages if len(messages) >= count else []

        return await self.wait_until(enough, timeout)

    async def wait_for_replies(self, chat_id: int, count: int, timeout: float = WAIT_SECONDS) -> list[Sent]:
        """Like ``wait_for_messages``, leaving out the private reminders a running bot sends on
        its own once the county's day has begun (⏰ 整改提醒): a bot process started after 08:00
        county time may send one before the answer a test waits for."""

        def enough() -> list[Sent]:
            replies = [m for m in self.messages_to(chat_id) if not m.text.startswith("⏰")]
            return replies if len(replies) >= count else []

        return await self.wait_until(enough, timeout)


# -- the demo county's people as Telegram users, and how a test talks to the bot -------

ADMIN = FakeUser(7001, "管理员")
SUPERVISOR = FakeUser(7002, "老周")
VILLAGE = FakeUser(7003, "工作队")  # 东光镇/东台村
TOWNSHIP = FakeUser(7004, "镇干部")  # 东光镇
DEMO_ACCOUNTS = {"演示管理员": ADMIN, "督巡办老周": SUPERVISOR, "东台村工作队": VILLAGE, "东光镇干部": TOWNSHIP}


def link_demo_accounts(database, day) -> None:
    """Build the demo county on ``day`` and give its users the accounts above."""
    from sqlalchemy import select

    from db.models import User
    from services.demo import build_demo

    build_demo(database, day)
    with database.transaction() as session:
        for user in session.scalars(select(User)):
            if user.name in DEMO_ACCOUNTS:
                user.telegram_id = DEMO_ACCOUNTS[user.name].id


async def say(fake: FakeBotApi, user: FakeUser, text: str, *, chat: FakeChat | None = None, **kw) -> Sent:
    """``user`` sends ``text``; return the bot's (first) answer in that chat."""
    where = chat.id if chat else user.id
    before = len(fake.messages_to(where))
    fake.send_text(user, text, chat=chat, **kw)
    return (await fake.wait_for_messages(where, before + 1))[before]


async def press(fake: FakeBotApi, user: FakeUser, question: Sent, label: str) -> Sent:
    """``user`` presses the button labelled ``label``; return the edited or new message."""
    edits, before = question.edits, len(fake.messages_to(question.chat_id))
    fake.press(user, question, question.button(label))
    await fake.wait_until(lambda: question.edits > edits or len(fake.messages_to(question.chat_id)) > before)
    return question if question.edits > edits else fake.messages_to(question.chat_id)[before]


# -- running the bot against the fake server ------------------------------------------


def bot_settings(fake: FakeBotApi, db_url: str, tmp_path: Path, **telegram: Any) -> Settings:
    """Settings for a bot talking to ``fake`` on ``db_url``, with fast start-up retries and
    the engine in this process (tests hand it clocks and stand-ins; engine_process=True
    runs the real one in its own process, as ``bot.py run`` does by default)."""
    settings = load_settings(
        environ={
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "GONGJIAN_EVIDENCE_DIR": str(tmp_path / "evidence"),
        },
        database_url=db_url,
    )
    overrides = {"startup_backoff_seconds": 0.05, "engine_process": False, **telegram}
    return settings.model_copy(update={"telegram": settings.telegram.model_copy(update=overrides)})


@dataclass
class RunningBot:
    app: Any  # telegram.ext.Application
    task: asyncio.Task

    @property
    def intake(self):
        """The running bot's delivery/intake.py Intake (its lanes: ``wait_idle``)."""
        from handlers.runtime import RUNTIME_KEY

        return self.app.bot_data[RUNTIME_KEY].intake


@asynccontextmanager
async def running_bot(settings: Settings, database, engine=None, *, rate_limiter=None) -> AsyncIterator[RunningBot]:
    """Run build_application + run_application in this event loop until the block ends."""
    from bot import build_application, run_application

    if engine is None:
        from services.conversation.engine import ConversationEngine

        engine = ConversationEngine(database, settings)
    app = build_application(settings, database, engine, rate_limiter=rate_limiter)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_application(app, stop=stop, ready=ready, retry_seconds=0.05))
    started = asyncio.create_task(ready.wait())
    await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        started.cancel()
        task.result()  # start-up failed: raise its error here
    try:
        yield RunningBot(app, task)
    finally:
        stop.set()
        await task


class BotProcess:
    """``python bot.py run`` as a child process against the fake server (for kill -9 tests)."""

    def __init__(self, fake: FakeBotApi, db_url: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.fake = fake
        self.db_url = db_url
        self.log_path = tmp_path / "bot-process.log"
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "GONGJIAN_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "bot.py"), "run", "--db", self.db_url],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def wait_polling(self, timeout: float = 120.0) -> None:
        """Wait until the process asks for updates (started up), or fail with its log."""
        before = len(self.fake.calls_of("getUpdates"))
        try:
            await self.fake.wait_until(
                lambda: len(self.fake.calls_of("getUpdates")) > before or self.process.poll() is not None, timeout
            )
        finally:
            if self.process.poll() is not None:
                raise AssertionError(f"bot process exited {self.process.returncode}:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def children(self) -> list[int]:
        """Process ids of the bot's own child processes (its engine process), now."""
        if self.process is None or self.process.poll() is not None:
            return []
        return child_pids(self.process.pid)

    async def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def child_pids(pid: int) -> list[int]:
    """The live children of process ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class StandInEngine:
    """An engine that keeps the real one's promises (INTERFACES.md) and nothing else.

    It echoes what it was given; "选" asks with buttons, "图" answers with a photo, "崩溃"
    raises. It implements services.conversation.messages.Engine, as the real one does.
    """

    def __init__(self, database) -> None:
        self.database = database
        self.bot_username: str | None = None
        self.warmed = False
        self.seen: list[Incoming] = []

    def warm_up(self) -> None:
        self.warmed = True

    def handle(self, session, incomings: list[Incoming]) -> list[TurnResult]:
        """Its effect: one AuditLog row per turn, in the caller's transaction (delivery's,
        which marks the inbox update done and stores the replies in it too)."""
        results = []
        for incoming in incomings:
            self.seen.append(incoming)
            if incoming.text == "崩溃":
                raise RuntimeError("engine bug")
            session.add(AuditLog(actor=str(incoming.sender_id), action="echo", detail={"n": len(self.seen)}))
            results.append(TurnResult(self._replies(incoming), None, "echo", "echo"))
        return results

    @staticmethod
    def _replies(incoming: Incoming) -> list[Reply]:
        if incoming.chat_type == "group" and not incoming.addressed:
            return []
        if incoming.callback_data:
            return [Reply(f"已选择 {incoming.callback_data}", edit=True)]
        if incoming.text == "选":
            return [Reply("请选择：", buttons=((Button("甲", "pa:1:0"), Button("乙", "pa:1:1")),))]
        if incoming.text == "图":
            return [Reply("进度图", file=OutgoingFile("photo", "chart.png", b"\x89PNG fake"))]
        if incoming.unsupported:
            return [Reply("请发文字或带说明的照片")]
        return [Reply(f"收到：{incoming.text}")]


# -- pytest fixtures (re-export in test modules) --------------------------------------


@pytest.fixture
async def fake_bot_api() -> AsyncIterator[FakeBotApi]:
    """A started fake Bot API server on 127.0.0.1."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()
