"""``python bot.py init``: a real county from the terminal: database, ledger, first admin."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from cli.import_cmd import import_into
from cli.new_sqlite_file import NewSqliteFile, sqlite_file
from db.models import Household, Issue, User
from services.formatting import short_date
from services.invites import MAX_NAME_LENGTH, create_invite, describe_invite, invite_link
from settings import Settings
from vocab import Role

NEXT_STEPS = (
    "下一步：\n"
    "  1. 设置机器人令牌：export TELEGRAM_BOT_TOKEN=123456:ABC…（作为服务运行时写进 EnvironmentFile）\n"
    "  2. 检查：python bot.py check\n"
    "  3. 运行：python bot.py run（作为服务长期运行见 docs/deploy.md）"
)


@dataclass(frozen=True)
class LedgerState:
    households: int
    issues: int
    users: int
    admins: int

    @property
    def has_ledger(self) -> bool:
        return bool(self.households or self.issues)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``init``."""
    parser = subparsers.add_parser(
        "init",
        help="建立县里的正式数据库：建库、导入台账、生成第一个管理员的邀请码",
        description=(
            "为县里建立正式数据库（config.yaml 的 database.url，默认为配置文件旁边的 gongjian.db）：\n"
            "建库并升级到最新结构；可选导入 Excel 台账（--ledger）；可选为第一个管理员生成一次性邀请码"
            "（--admin-name），对方在 Telegram 里私聊机器人发送 /start 邀请码 即成为管理员。\n"
            "可以重复运行：数据库里已有台账时不再导入（除非加 --force，按编号新增或更新，不删除已有的行）；"
            "导入失败时什么也不写入，新建的数据库文件也会删掉。"
        ),
        epilog=example_epilog(
            "python bot.py init --ledger 台账.xlsx --admin-name 张三",
            "python bot.py init --db postgresql://gongjian:密码@127.0.0.1/gongjian --ledger 台账.xlsx",
            "python bot.py init --admin-name 李四",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ledger", metavar="PATH", type=Path, help="要导入的台账：.xlsx 或 CSV 文件夹（同 import）")
    parser.add_argument("--admin-name", metavar="姓名", help="第一个管理员的姓名：生成他的一次性邀请码")
    parser.add_argument("--force", action="store_true", help="数据库里已有台账时仍然导入 --ledger")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``python bot.py init``."""
    settings = settings_from(args)
    name = (args.admin_name or "").strip()
    if args.admin_name is not None and not 0 < len(name) <= MAX_NAME_LENGTH:
        return fail(f"--admin-name 要写管理员的姓名（1 到 {MAX_NAME_LENGTH} 个字）。")
    if args.ledger is not None and not args.ledger.exists():
        return fail(f"台账文件不存在：{args.ledger}", 1)
    created = NewSqliteFile(settings.database.url)
    try:
        return set_up(settings, ledger=args.ledger, admin_name=name or None, force=args.force, created=created)
    finally:
        created.discard()  # a refused ledger leaves no new, empty database behind


def set_up(
    settings: Settings, *, ledger: Path | None, admin_name: str | None, force: bool, created: NewSqliteFile
) -> int:
    """Create and migrate the database, import ``ledger``, make the admin's invite."""
    where = make_url(settings.database.url).render_as_string(hide_password=True)
    file = sqlite_file(settings.database.url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    try:
        state = ledger_state(settings)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        return fail(f"连不上数据库：{where}\n原因：{reason}\nPostgreSQL 要先建好数据库和用户，见 docs/deploy.md。", 1)
    print(f"数据库{'已新建' if created.is_new else '已存在'}：{where}")
    print(f"县名：{settings.county.name}（config.yaml 的 county.name）")
    if ledger is not None:
        if state.has_ledger and not force:
            return fail(
                f"数据库里已有台账（{state.households} 户，{state.issues} 条问题），没有导入。\n"
                "更新台账请用 python bot.py import 文件；确实要用这个文件覆盖更新请加 --force。",
                1,
            )
        code = import_into(settings, ledger, created=created)
        if code != 0:
            return code
    created.keep()  # the database is there to stay: an empty one is what init without --ledger makes
    if ledger is None and not state.has_ledger:
        print("台账还是空的：用 python bot.py import 台账.xlsx 导入（或 init --ledger）。")
    if admin_name is not None:
        first_admin(settings, admin_name)
    elif not state.admins:
        print("还没有管理员：python bot.py init --admin-name 姓名 生成邀请码。")
    print(NEXT_STEPS)
    return 0


def ledger_state(settings: Settings) -> LedgerState:
    """Open (creating and migrating) the database and count what it already holds."""
    database = open_database(settings)
    try:
        with database.transaction() as session:
            return LedgerState(
                households=session.scalar(select(func.count()).select_from(Household)) or 0,
                issues=session.scalar(select(func.count()).select_from(Issue)) or 0,
                users=session.scalar(select(func.count()).select_from(User)) or 0,
                admins=session.scalar(
                    select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active)
                ) or 0,
            )
    finally:
        database.dispose()


def first_admin(settings: Settings, name: str) -> None:
    """Print a one-time admin invite for ``name``, unless an admin of that name has registered."""
    database = open_database(settings)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with database.transaction() as session:
            registered = session.scalar(
                select(User).where(User.name == name, User.role == Role.ADMIN.value, User.active)
            )
            invite = None if registered else create_invite(
                session, role_text=Role.ADMIN.value, scope_text="", name=name, created_by=None,
                now=now, valid_days=settings.policy.invite_valid_days,
            )
    finally:
        database.dispose()
    if invite is None:
        print(f"管理员 {name} 已经注册，不再生成邀请码。")
        return
    today = now.astimezone(settings.county.tz).date()
    until = invite.expires_at.astimezone(settings.county.tz).date()
    print(describe_invite(invite, invite_link(settings.telegram.bot_username, invite.code), short_date(until, today)))
