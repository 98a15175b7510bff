"""``python bot.py users``: list, change and disable the bot's users."""

from __future__ import annotations

import argparse
import datetime as dt

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from services.errors import DomainError
from services.users import describe_user, list_users, set_active, set_role_and_scope

ACTOR = "cli"


def _add_db_options_here(parser: argparse.ArgumentParser) -> None:
    """--db/--config also after the action; SUPPRESS keeps a value given before it."""
    parser.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="数据库地址 (SQLAlchemy URL)")
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="配置文件")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``users``."""
    parser = subparsers.add_parser(
        "users",
        help="用户管理：列出、修改角色和范围、停用",
        description="列出用户（默认）、修改角色和范围、停用或恢复用户。姓名重复时用 #编号。",
        epilog=example_epilog(
            "python bot.py users",
            "python bot.py users set 金明哲 --role township --scope 东光镇",
            "python bot.py users disable 金明哲",
            "python bot.py users enable '#7'",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_options(parser)
    actions = parser.add_subparsers(dest="action", metavar="<操作>", title="操作")
    listing = actions.add_parser(
        "list", help="列出用户", description="列出所有用户：编号、姓名、角色、范围、是否停用、Telegram 编号。",
        epilog=example_epilog("python bot.py users list", "python bot.py users list --db sqlite:///gongjian.db"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_db_options_here(listing)
    for name, text, effect in (
        ("disable", "停用用户", "停用后此人不能再使用机器人，其台账记录保留；可用 enable 恢复。"),
        ("enable", "恢复用户", "恢复一个已停用的用户。"),
    ):
        sub = actions.add_parser(
            name, help=text, description=f"{text}（姓名重复时用 #编号，编号见 users list）。{effect}",
            epilog=example_epilog(f"python bot.py users {name} 金明哲", f"python bot.py users {name} '#7'"),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("name", metavar="NAME", help="姓名或 #编号")
        _add_db_options_here(sub)
    change = actions.add_parser(
        "set", help="修改角色和范围",
        description="修改用户的角色和范围。角色：admin（扶贫办）、supervisor（督巡办）、leader（县级领导）、"
        "township（乡镇）、village（村）、department（行业部门）。",
        epilog=example_epilog(
            "python bot.py users set 金明哲 --role township --scope 东光镇",
            "python bot.py users set 东台村工作队 --role village --scope 东光镇/东台村,东光镇/新村村",
            "python bot.py users set '#7' --role department --scope 饮水",
            "python bot.py users set 李局长 --role leader",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    change.add_argument("name", metavar="NAME", help="姓名或 #编号")
    change.add_argument("--role", required=True, help="admin supervisor leader township village department")
    change.add_argument("--scope", default="", metavar="NAME", help="乡镇、村或类别，逗号分隔；县级角色不写")
    _add_db_options_here(change)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``python bot.py users``."""
    settings = settings_from(args)
    database = open_database(settings)
    now = dt.datetime.now(dt.timezone.utc)
    action = args.action or "list"
    try:
        with database.transaction() as session:
            if action == "list":
                users = list_users(session)
                if not users:
                    print("还没有用户。用 python bot.py invite 生成邀请码。")
                for user in users:
                    telegram = f" · Telegram {user.telegram_id}" if user.telegram_id else ""
                    print(f"#{user.id} {describe_user(user)}{telegram}")
                return 0
            if action == "set":
                user = set_role_and_scope(session, args.name, args.role, args.scope, actor=ACTOR, now=now)
                print(f"已修改：{describe_user(user)}")
            else:
                user = set_active(session, args.name, action == "enable", actor=ACTOR, now=now)
                print(f"{'已恢复' if action == 'enable' else '已停用'}：{describe_user(user)}")
        return 0
    except DomainError as error:
        return fail(str(error))
    finally:
        database.dispose()
