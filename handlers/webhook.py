"""Webhook mode: Telegram POSTs each update; the answer is 200 only once it is journaled.

PTB's own webhook server answers as soon as the update is queued in memory, so a crash
loses it. This small tornado server (installed with PTB's webhooks extra) commits the
update to the inbox first; if that fails it answers 500 and Telegram delivers again later.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from urllib.parse import urlsplit

import tornado.web
from sqlalchemy.exc import SQLAlchemyError
from tornado.httpserver import HTTPServer

from db.session import Database
from handlers.inbox_pump import InboxPump
from services import inbox
from settings import WebhookSettings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _UpdateReceiver(tornado.web.RequestHandler):
    """POST <path>: one update as JSON."""

    def initialize(self, database: Database, pump: InboxPump, secret_token: str | None) -> None:
        self._database = database
        self._pump = pump
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
            self._pump.dispatch([(payload["update_id"], payload)], fresh=True)

    def log_exception(self, typ, value, tb) -> None:  # tornado logs request bodies otherwise
        log.error("webhook: request failed: %s", typ.__name__ if typ else "?")


def webhook_path(settings: WebhookSettings) -> str:
    """The path Telegram posts to: the path of the configured public URL ("/" when none)."""
    return urlsplit(settings.url or "").path or "/"


def start_webhook_server(settings: WebhookSettings, database: Database, pump: InboxPump) -> HTTPServer:
    """Listen on settings.listen:settings.port (on the running event loop); caller stops it."""
    app = tornado.web.Application(
        [
            (
                webhook_path(settings),
                _UpdateReceiver,
                {"database": database, "pump": pump, "secret_token": settings.secret_token},
            )
        ]
    )
    server = HTTPServer(app, xheaders=True)
    server.listen(settings.port, address=settings.listen)
    return server


async def stop_webhook_server(server: HTTPServer) -> None:
    """Stop listening and close open connections."""
    server.stop()
    await server.close_all_connections()
