"""Admin commands in chat: /invite ROLE SCOPE [姓名] and /users (list, set, disable, enable)."""

from __future__ import annotations

from services.conversation.context import CommandContext
from services.conversation.messages import Reply
from services.conversation.paging import paged
from services.errors import Forbidden, InvalidInput
from services.formatting import short_date
from services.invites import create_invite, describe_invite, invite_link
from services.scope import COUNTY_NAMES, COUNTY_WIDE_ROLES
from services.users import describe_user, list_users, parse_role, set_active, set_role_and_scope

INVITE_USAGE = (
    "用法：/invite 角色 范围 [姓名]\n"
    "例如：/invite village 东光镇/东台村 金明哲\n"
    "　　　/invite department 水利局 小王\n"
    "　　　/invite supervisor 全县 老周\n"
    "角色：admin supervisor leader township village department"
)
USERS_USAGE = (
    "/users：列出用户\n"
    "/users set 姓名 角色 范围：改角色和范围\n"
    "/users disable 姓名：停用　/users enable 姓名：恢复"
)


def _admin_in_private(ctx: CommandContext) -> None:
    if ctx.user.role != "admin":
        raise Forbidden("只有管理员可以管理用户和邀请。")
    if ctx.in_group:
        raise Forbidden("请私聊我办理，邀请码和用户名单不在群里显示。")


def invite_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/invite ROLE SCOPE [姓名]: a one-time code and its deep link."""
    ctx.intent = "invite"
    _admin_in_private(ctx)
    parts = args.split()
    if not parts:
        return [Reply(INVITE_USAGE)]
    role = parse_role(parts[0])
    rest = parts[1:]
    if role in COUNTY_WIDE_ROLES:
        scope_text = ""
        if rest and (rest[0] in COUNTY_NAMES or rest[0] == "-"):
            rest = rest[1:]
    else:
        if not rest:
            raise InvalidInput(f"请写明范围。\n{INVITE_USAGE}")
        scope_text, rest = rest[0], rest[1:]
    name = " ".join(rest) or None
    invite = create_invite(
        ctx.session, role_text=role.value, scope_text=scope_text, name=name, created_by=ctx.user,
        now=ctx.now, valid_days=ctx.settings.policy.invite_valid_days,
    )
    link = invite_link(ctx.bot_username or ctx.settings.telegram.bot_username, invite.code)
    until = invite.expires_at.astimezone(ctx.settings.county.tz).date()
    ctx.outcome = "invited"
    return [Reply(describe_invite(invite, link, short_date(until, ctx.today)))]


def users_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/users, /users set NAME ROLE SCOPE, /users disable NAME, /users enable NAME."""
    ctx.intent = "users"
    _admin_in_private(ctx)
    parts = args.split()
    if not parts or parts[0] in ("list", "列表"):
        return users_page(ctx, 0)
    action, rest = parts[0], parts[1:]
    if action in ("disable", "停用", "enable", "恢复"):
        if not rest:
            raise InvalidInput(USERS_USAGE)
        active = action in ("enable", "恢复")
        user = set_active(ctx.session, " ".join(rest), active, actor=ctx.user.name, now=ctx.now)
        ctx.outcome = "changed"
        return [Reply(f"{'已恢复' if active else '已停用'}：{describe_user(user)}")]
    if action in ("set", "修改"):
        if len(rest) < 2:
            raise InvalidInput(USERS_USAGE)
        name, role_text, scope_text = rest[0], rest[1], ",".join(rest[2:])
        if scope_text in COUNTY_NAMES or scope_text == "-":
            scope_text = ""
        user = set_role_and_scope(ctx.session, name, role_text, scope_text, actor=ctx.user.name, now=ctx.now)
        ctx.outcome = "changed"
        return [Reply(f"已修改：{describe_user(user)}")]
    raise InvalidInput(USERS_USAGE)


def users_page(ctx: CommandContext, page: int) -> list[Reply]:
    """One page of the user list (admins, private chats)."""
    ctx.intent = "users"
    _admin_in_private(ctx)
    users = list_users(ctx.session)
    lines = [f"#{u.id} {describe_user(u)}" for u in users]
    return [paged(ctx, f"用户 {len(users)} 个：", lines, page, "pg:u", footer=USERS_USAGE)]
