"""Pieces every subcommand shares: --db/--config options, settings and database set-up."""

from __future__ import annotations

import argparse
import sys

from db.session import Database
from settings import Settings, load_settings


def add_db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="数据库地址 (SQLAlchemy URL)，覆盖 config.yaml 与 DATABASE_URL")
    parser.add_argument("--config", metavar="FILE", help="配置文件，默认为 config.yaml")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), database_url=getattr(args, "db", None))


def open_database(settings: Settings) -> Database:
    """Connect and migrate (every command brings a new database up to date itself)."""
    return Database.connect(settings.database.url, echo=settings.database.echo)


def example_epilog(*lines: str) -> str:
    return "例如:\n" + "\n".join(f"  {line}" for line in lines)


def fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code
