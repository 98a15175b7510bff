"""``python bot.py invite``: a one-time invite code and its deep link."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from
from services.errors import DomainError
from services.formatting import short_date
from services.invites import create_invite, describe_invite, invite_link


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``invite``."""
    parser = subparsers.add_parser(
        "invite",
        help="生成一次性邀请码（注册新用户）",
        description="生成一次性邀请码和链接 https://t.me/<机器人>?start=<邀请码>。"
        "角色：admin supervisor leader township village department；"
        "范围：乡镇、村（东光镇/东台村）或类别（饮水，或 水利局），多个用逗号分隔；县级角色不写范围。",
        epilog=example_epilog(
            "python bot.py invite --role village --scope 东光镇/东台村 --name 金明哲",
            "python bot.py invite --role department --scope 水利局 --json",
            "python bot.py invite --role supervisor --name 老周",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--role", required=True, help="角色（英文名）")
    parser.add_argument("--scope", default="", metavar="NAME", help="范围：乡镇、村或类别，逗号分隔")
    parser.add_argument("--name", help="被邀请人的姓名（注册后显示的名字）")
    parser.add_argument("--json", action="store_true", help='只输出一行 JSON：{"code": ..., "link": ...}')
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``python bot.py invite``."""
    settings = settings_from(args)
    database = open_database(settings)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with database.transaction() as session:
            invite = create_invite(
                session, role_text=args.role, scope_text=args.scope, name=args.name, created_by=None,
                now=now, valid_days=settings.policy.invite_valid_days,
            )
    except DomainError as error:
        return fail(str(error))
    finally:
        database.dispose()
    link = invite_link(settings.telegram.bot_username, invite.code)
    if args.json:
        print(json.dumps({"code": invite.code, "link": link}, ensure_ascii=False))
        return 0
    today = now.astimezone(settings.county.tz).date()
    until = invite.expires_at.astimezone(settings.county.tz).date()
    print(describe_invite(invite, link, short_date(until, today)))
    if link is None:
        print("（config.yaml 未设 telegram.bot_username，所以没有链接；机器人运行后 /invite 会给出链接。）")
    return 0
