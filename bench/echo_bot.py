"""The framework's ceiling: python-telegram-bot's plainest bot, which answers every text
with the same text. bench/bench_throughput.py runs it against the same fake Bot API server
as the real bot, so that the two throughputs can be compared side by side.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot python bench/echo_bot.py

Nothing but PTB's defaults: long polling with Application.run_polling, one MessageHandler,
no database, no rate limiter. Stops on SIGTERM or Ctrl+C.
"""

from __future__ import annotations

import os
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

OFFICIAL_API = "https://api.telegram.org/bot"
OFFICIAL_FILES = "https://api.telegram.org/file/bot"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back to the chat it came from."""
    await update.message.reply_text(update.message.text)


def build_echo_application(token: str, base_url: str, base_file_url: str) -> Application:
    """An Application with one handler: text in, the same text out."""
    app = Application.builder().token(token).base_url(base_url).base_file_url(base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


def main() -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        print("请设置 TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    app = build_echo_application(
        token,
        os.environ.get("TELEGRAM_BASE_URL", OFFICIAL_API),
        os.environ.get("TELEGRAM_BASE_FILE_URL", OFFICIAL_FILES),
    )
    app.run_polling(allowed_updates=[Update.MESSAGE])
    return 0


if __name__ == "__main__":
    sys.exit(main())
