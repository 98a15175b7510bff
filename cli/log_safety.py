"""Logs never carry the bot token: every command that loads the settings installs this."""

from __future__ import annotations

import logging

# request URLs carry the token (…/bot<token>/getMe): these loggers stay at WARNING
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "tornado.access")


class TokenRedactor(logging.Filter):
    """Replaces the bot token in every log line (messages and tracebacks) with <token>.

    Its secret half goes too: another filter may already have masked the bot's number.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self._secrets = tuple(part for part in (token, token.partition(":")[2]) if len(part) >= 8)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def protect_token(token: str | None) -> None:
    """Every log handler drops ``token`` (and its secret half); request loggers stay quiet."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not token:
        return
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TokenRedactor) for f in handler.filters):
            handler.addFilter(TokenRedactor(token))
