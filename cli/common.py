"""Pieces every subcommand shares: --db/--config options, settings and database set-up."""

from __future__ import annotations

import argparse
import re
import sys

from cli.log_safety import protect_token
from db.session import Database
from settings import Settings, load_settings


def add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="数据库地址 (SQLAlchemy URL)，覆盖 config.yaml 与 DATABASE_URL")
    parser.add_argument("--config", metavar="FILE", help="配置文件，默认为 config.yaml")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings for a command; from here on no log line shows the bot token."""
    settings = load_settings(getattr(args, "config", None), database_url=getattr(args, "db", None))
    protect_token(settings.telegram.token)
    return settings


def open_database(settings: Settings) -> Database:
    """Connect and migrate (every command brings a new database up to date itself)."""
    return Database.connect(settings.database.url, echo=settings.database.echo)


def example_epilog(*lines: str) -> str:
    return "例如:\n" + "\n".join(f"  {line}" for line in lines)


def fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


def database_reason(exc: Exception, database_name: str | None = None) -> str:
    """The driver's own words for a failed connection, and what to do about the usual ones."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    reason = lines[0] if lines else type(original).__name__
    reason = reason.rsplit(" failed: ", 1)[-1]  # psycopg: "connection to server at ... failed: <why>"
    reason = re.sub(r"^(FATAL|ERROR):\s*", "", reason)
    lowered = reason.lower()
    named = re.search(r'database "([^"]+)" does not exist', reason)
    database_name = database_name or (named.group(1) if named else None)
    hints = (
        (("connection refused",), "PostgreSQL 没有运行，或主机、端口不对"),
        (("password authentication failed",), "用户名或密码不对"),
        (("no password supplied",), "需要密码：写在地址里，如 postgresql+psycopg://用户:密码@主机/库名"),
        (("role ", "does not exist"), "数据库用户不存在，先用 createuser 建用户"),
        (("database ", "does not exist"), f"先建库 createdb -U postgres {database_name or '库名'}，见 docs/deploy.md"),
        (("timeout",), "连接超时：检查主机地址和防火墙"),
        (("could not translate host name",), "主机名解析不了：检查地址"),
        (("unable to open database file",), "打不开数据库文件：检查路径和权限"),
    )
    for needles, hint in hints:
        if all(needle in lowered for needle in needles):
            return f"{reason}：{hint}"
    return reason
