"""``python bot.py check``: is this installation ready to run? One line per check."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from cli.common import add_db_options, example_epilog, settings_from
from settings import ConfigError, Settings

OK, FAILED, NOTE = "✅", "❌", "ℹ️"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="检查配置、数据库、令牌和节假日数据",
        description="逐项检查运行条件：配置文件、数据库连接与结构版本、Telegram 令牌（getMe）、"
        "今明两年的节假日数据、佐证材料目录。有任何一项不通过时退出码非零。",
        epilog=example_epilog(
            "python bot.py check",
            "TELEGRAM_BOT_TOKEN=123456:ABC... python bot.py check --db sqlite:///gongjian.db",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        _line(FAILED, f"配置：{exc}")
        return 1
    _line(OK, f"配置：{settings.config_path}（{settings.county.name}，时区 {settings.county.timezone}）")
    checks: list[Callable[[Settings], bool]] = [check_database, check_token, check_holidays, check_evidence_dir]
    results = [check(settings) for check in checks]
    return 0 if all(results) else 1


def _line(mark: str, message: str) -> None:
    print(f"{mark} {message}", flush=True)


def check_database(settings: Settings) -> bool:
    """The database answers and its schema is at the newest migration."""
    from db.migrate import current_revision, head_revision
    from db.session import Database, make_engine
    from services import inbox

    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_file():  # connecting would create an empty file
            _line(FAILED, f"数据库文件不存在：{url.database}（python bot.py migrate 会新建）")
            return False
    engine = make_engine(settings.database.url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
            _line(FAILED, f"数据库连不上：{where}（{type(exc).__name__}）")
            return False
        _line(OK, f"数据库可连接：{where}")
        current, head = current_revision(engine), head_revision()
        if current != head:
            _line(FAILED, f"数据库结构版本 {current or '空'}，最新为 {head}：请运行 python bot.py migrate")
            return False
        _line(OK, f"数据库结构为最新版本（{head}）")
        backlog = inbox.backlog(Database(engine))
        _line(NOTE if backlog else OK, f"收件箱待处理更新：{backlog} 条" + ("（机器人启动时先处理）" if backlog else ""))
        return True
    finally:
        engine.dispose()


def check_token(settings: Settings) -> bool:
    """getMe with the configured token; skipped (not failed) when there is no token."""
    if not settings.telegram.token:
        _line(NOTE, "未设置 TELEGRAM_BOT_TOKEN：跳过令牌检查（不连 Telegram 可用 python bot.py console）")
        return True
    from telegram.error import InvalidToken, TelegramError

    try:
        username = asyncio.run(_get_me(settings))
    except InvalidToken:
        _line(FAILED, "Telegram 拒绝了这个令牌：请核对 TELEGRAM_BOT_TOKEN")
        return False
    except TelegramError as exc:
        _line(FAILED, f"连不上 Telegram（{settings.telegram.base_url}）：{type(exc).__name__}")
        return False
    _line(OK, f"令牌有效：@{username}")
    return True


async def _get_me(settings: Settings) -> str:
    from telegram import Bot

    telegram = settings.telegram
    bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
    async with bot:  # initialize() calls getMe
        return bot.username


def check_holidays(settings: Settings) -> bool:
    """Holiday data (chinese-calendar or config.yaml) for this year and next."""
    from nlp.workdays import calendar_from_settings

    calendar = calendar_from_settings(settings)
    this_year = dt.datetime.now(settings.county.tz).year
    ok = True
    for year in (this_year, this_year + 1):
        if calendar.knows_year(year):
            _line(OK, f"{year} 年节假日数据：有")
        else:
            ok = False
            _line(FAILED, f"{year} 年节假日数据：缺少，请按国务院通知在 config.yaml 的 calendar.holidays / calendar.workdays 添加")
    return ok


def check_evidence_dir(settings: Settings) -> bool:
    """The directory for evidence photos is writable (or can be created on first use)."""
    path = Path(settings.storage.evidence_dir).resolve()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        _line(FAILED, f"佐证材料目录 {path} 不可写")
        return False
    note = "" if existing == path else "（首次保存时创建）"
    _line(OK, f"佐证材料目录可写：{path}{note}")
    return True
