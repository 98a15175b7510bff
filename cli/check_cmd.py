"""``python bot.py check``: is this installation ready to run? One line per check."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from cli.common import add_db_options, database_reason, example_epilog, settings_from
from cli.telegram_access import shown_proxy, token_problem, what_to_check
from db.models import Issue, Township, User
from settings import ConfigError, HolidaySettings, Settings

OK, FAILED, WARN, NOTE = "✅", "❌", "⚠️", "ℹ️"
# The ports Telegram delivers webhooks to (Bot API setWebhook).
WEBHOOK_PORTS = (443, 80, 88, 8443)
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="检查配置、数据库、令牌、webhook 和节假日数据",
        description="逐项检查运行条件：配置文件、数据库连接与结构版本、台账和用户是否为空、"
        "Telegram 令牌（getMe，经 telegram.proxy / HTTPS_PROXY）、webhook 设置、今明两年的节假日数据、"
        "佐证材料目录。❌ 表示不能运行（退出码非零），⚠️ 表示能运行但需要处理。",
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
    checks: list[Callable[[Settings], bool]] = [
        check_database, check_token, check_webhook, check_holidays, check_evidence_dir,
    ]
    results = [check(settings) for check in checks]
    return 0 if all(results) else 1


def _line(mark: str, message: str) -> None:
    print(f"{mark} {message}", flush=True)


def check_database(settings: Settings) -> bool:
    """The database answers, its schema is at the newest migration, and it has a ledger and users."""
    from db.migrate import current_revision, head_revision
    from db.session import Database, make_engine
    from services import inbox

    try:
        url = make_url(settings.database.url)
        engine = make_engine(settings.database.url)
    except (ArgumentError, NoSuchModuleError) as exc:
        _line(FAILED, f"数据库地址无法识别：{exc}（例如 sqlite:///gongjian.db 或 postgresql+psycopg://用户@主机/库名）")
        return False
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).is_file():  # connecting would create an empty file
            engine.dispose()
            _line(FAILED, f"数据库文件不存在：{url.database}（python bot.py init 或 migrate 会新建）")
            return False
    where = engine.url.render_as_string(hide_password=True)
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any driver error means "not reachable"
            _line(FAILED, f"数据库连不上：{where}（{database_reason(exc, url.database)}）")
            return False
        _line(OK, f"数据库可连接：{where}")
        current, head = current_revision(engine), head_revision()
        if current != head:
            _line(FAILED, f"数据库结构版本 {current or '空'}，最新为 {head}：请运行 python bot.py migrate")
            return False
        _line(OK, f"数据库结构为最新版本（{head}）")
        database = Database(engine)
        backlog = inbox.backlog(database)
        _line(NOTE if backlog else OK, f"收件箱待处理更新：{backlog} 条" + ("（机器人启动时先处理）" if backlog else ""))
        _check_contents(database)
        return True
    finally:
        engine.dispose()


def _check_contents(database) -> None:
    """Warn (not fail) when the ledger or the user table is empty: the bot runs but is of no use yet."""
    with database.transaction() as session:
        townships = session.scalar(select(func.count(Township.id))) or 0
        issues = session.scalar(select(func.count(Issue.id))) or 0
        users = session.scalar(select(func.count(User.id)).where(User.active.is_(True))) or 0
        admins = session.scalar(select(func.count(User.id)).where(User.active.is_(True), User.role == "admin")) or 0
    if townships:
        _line(OK, f"台账：{townships} 个乡镇，{issues} 个问题")
    else:
        _line(WARN, "台账是空的（没有乡镇和村）：用 python bot.py import 台账.xlsx 导入（新县可用 python bot.py init）")
    if not users:
        _line(WARN, "还没有用户：用 python bot.py init 生成第一个管理员的邀请码，或 python bot.py invite --role admin")
    elif not admins:
        _line(WARN, f"有 {users} 个用户，但没有管理员：python bot.py invite --role admin 生成管理员邀请码")
    else:
        _line(OK, f"用户：{users} 人，其中管理员 {admins} 人")


def check_token(settings: Settings) -> bool:
    """getMe with the configured token (through the proxy); skipped (not failed) when there is no token."""
    telegram = settings.telegram
    if not telegram.token:
        _line(NOTE, "未设置 TELEGRAM_BOT_TOKEN：跳过令牌检查（不连 Telegram 可用 python bot.py console）")
        return True
    problem = token_problem(telegram.token)
    if problem:
        _line(FAILED, problem)
        return False
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        username = asyncio.run(_get_me(settings))
    except InvalidToken:
        _line(FAILED, "Telegram 拒绝了这个令牌：请核对 TELEGRAM_BOT_TOKEN（向 @BotFather 查询）")
        return False
    except NetworkError as exc:
        host = urlsplit(telegram.base_url).netloc
        _line(FAILED, f"连不上 Telegram（{host}，{type(exc).__name__}）：{what_to_check(telegram)}")
        return False
    except TelegramError as exc:
        _line(FAILED, f"Telegram 拒绝了请求：{type(exc).__name__}: {exc}")
        return False
    via = f"，经代理 {shown_proxy(telegram.proxy)}" if telegram.proxy else ""
    _line(OK, f"令牌有效：@{username}{via}")
    return True


async def _get_me(settings: Settings) -> str:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    telegram = settings.telegram
    bot = Bot(
        telegram.token,
        base_url=telegram.base_url,
        base_file_url=telegram.base_file_url,
        request=HTTPXRequest(proxy=telegram.proxy),
        get_updates_request=HTTPXRequest(proxy=telegram.proxy),
    )
    async with bot:  # initialize() calls getMe
        return bot.username


def check_webhook(settings: Settings) -> bool:
    """A webhook needs an https URL on a port Telegram delivers to, and a secret token."""
    webhook = settings.telegram.webhook
    if not webhook.url:
        _line(NOTE, "未设 telegram.webhook.url：用长轮询（不需要公网地址和证书）")
        return True
    problems: list[str] = []
    parts = urlsplit(webhook.url)
    if parts.scheme != "https" or not parts.hostname:
        problems.append(f"telegram.webhook.url 必须是 https:// 开头的公网地址（Telegram 只向 HTTPS 推送），现为 {webhook.url}")
    else:
        try:
            port = parts.port or 443
        except ValueError:
            port = None
        if port not in WEBHOOK_PORTS:
            problems.append(f"telegram.webhook.url 的端口须为 443、80、88 或 8443（Telegram 的限制），现为 {parts.netloc}")
    if not webhook.secret_token:
        problems.append("未设 telegram.webhook.secret_token（或 TELEGRAM_WEBHOOK_SECRET）：没有它，任何人都能向机器人伪造消息")
    elif not SECRET_TOKEN.fullmatch(webhook.secret_token):
        problems.append("telegram.webhook.secret_token 只能由字母、数字、_ 和 - 组成，1 到 256 个字符")
    for problem in problems:
        _line(FAILED, problem)
    if problems:
        return False
    _line(OK, f"webhook：{webhook.url}（本机监听 {webhook.listen}:{webhook.port}，带密钥）")
    if webhook.port < 1024 and os.geteuid() != 0:
        _line(WARN, f"本机端口 {webhook.port} 小于 1024，普通用户不能监听：改用 8443 并由反向代理转发（见 docs/deploy.md）")
    return True


def check_holidays(settings: Settings, this_year: int | None = None) -> bool:
    """Holiday data for this year and next; a year known only from config.yaml is provisional."""
    from nlp.workdays import calendar_from_settings

    calendar = calendar_from_settings(settings)
    built_in = calendar_from_settings(settings.model_copy(update={"calendar": HolidaySettings()}))
    this_year = this_year or dt.datetime.now(settings.county.tz).year
    ok = True
    for year in (this_year, this_year + 1):
        if built_in.knows_year(year):
            _line(OK, f"{year} 年节假日数据：有（chinese-calendar，按国务院通知）")
        elif calendar.knows_year(year):
            _line(WARN, f"{year} 年节假日数据：来自 config.yaml，是预排数据。国务院发布放假通知后，请核对 "
                        "calendar.holidays / calendar.workdays，或升级 chinese-calendar")
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
