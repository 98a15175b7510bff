"""The engine's slash commands: names, Chinese descriptions (set_my_commands) and functions.

Each command is ``(ctx, args) -> list[Reply]``; the engine looks a name up here first and
then in services/conversation/digest_commands.py.
"""

from __future__ import annotations

from collections.abc import Callable

from services.conversation import admin_commands, issue_commands, query_flow
from services.conversation.context import CommandContext
from services.conversation.messages import Reply
from services.conversation.turn import parse_text
from services.errors import NotFound
from services.issues import code_in_text
from services.queries import area_named
from services.users import describe_user
from vocab import Role

Command = Callable[[CommandContext, str], list[Reply]]

BOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "查进展：/status 东台村、/status 李兆满、/status ZG-0001"),
    ("due", "近期到期的问题"),
    ("overdue", "逾期未整改的问题（按责任单位）"),
    ("undo", "撤销我最近的一次修改（10 分钟内）"),
    ("help", "用法和例子"),
    ("me", "我的身份和负责范围"),
    ("close", "销号（督巡办）：/close ZG-0001"),
    ("reopen", "重新打开（督巡办）：/reopen ZG-0001 原因"),
    ("subscribe", "本群订阅每日简报"),
    ("unsubscribe", "取消本群的简报"),
    ("digest", "现在看一次简报"),
    ("subscriptions", "本群订阅了哪些简报"),
    ("invite", "邀请新用户（管理员）"),
    ("users", "用户管理（管理员）"),
)

# Chinese words that work like commands when they start a message.
TEXT_COMMANDS: dict[str, str] = {
    "销号": "close",
    "重新打开": "reopen",
    "我是谁": "me",
    "我的信息": "me",
    "帮助": "help",
    "撤销": "undo",
    "撤回": "undo",
}
# Of those, the ones that only count when they are the whole message ("撤销了低保资格"
# is a report, not an undo).
WHOLE_MESSAGE_ONLY = frozenset({"我是谁", "我的信息", "帮助", "撤销", "撤回"})

NOT_REGISTERED = "您还没有注册。请向县扶贫办管理员索取邀请码，然后发送：/start 邀请码"


def help_text(ctx: CommandContext) -> str:
    """Usage by example, with the lines for the sender's role."""
    lines = [
        "直接发中文就行，例如：",
        "· 报告进展：东台村饮水问题已解决",
        "· 带期限：李兆满家危房改造下周五前完工",
        "· 新问题：东台村新发现3户房屋漏雨，月底前整改",
        "· 查一个村或镇：东台村、东光镇还有哪些问题",
        "· 查一户（仅私聊）：李兆满家情况",
        "· 到期/逾期：本周到期的有哪些、逾期未整改的",
        "· 发照片并在说明里写进展，照片作为佐证保存",
        "· 说错了：发“撤销”（10 分钟内）",
        "",
        "命令：/status 名称或编号　/due　/overdue　/undo　/me",
    ]
    role = ctx.user.role
    if role in (Role.SUPERVISOR, Role.ADMIN):
        lines.append("销号：/close ZG-0001　重新打开：/reopen ZG-0001 原因")
    if role == Role.ADMIN:
        lines.append("管理员：/invite 角色 范围 [姓名]　/users")
    lines.append("群里：@我 或回复我的消息，我才回应；群里不显示农户个人信息。")
    return "\n".join(lines)


def help_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/help: usage by example."""
    ctx.intent = "help"
    return [Reply(help_text(ctx))]


def me_command(ctx: CommandContext, args: str) -> list[Reply]:
    """Who you are and what you may see and change."""
    ctx.intent = "me"
    user = ctx.user
    role = user.role
    if role == Role.ADMIN:
        may = "查看、修改全县台账，销号，管理用户"
    elif role == Role.SUPERVISOR:
        may = "查看全县台账，销号和重新打开"
    elif role == Role.LEADER:
        may = "查看全县台账"
    else:
        may = "查看、报告本范围内的问题"
    return [Reply(f"您是：{describe_user(user)}\n可以：{may}")]


def start_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/start from someone already registered."""
    ctx.intent = "start"
    return [Reply(f"您已注册：{describe_user(ctx.user)}\n发 /help 看用法。")]


def status_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/status [村/镇/户主/编号]: an area, a household or one issue."""
    ctx.intent = "query_area"
    name = args.strip()
    if not name:
        return query_flow.area_reply(ctx, query_flow.default_area(ctx))
    code = code_in_text(name)
    if code:
        return issue_commands.issue_card(ctx, code)
    area = area_named(ctx.session, name)
    if area is not None:
        return query_flow.area_reply(ctx, area)
    parse = parse_text(ctx, name)
    if parse.household:
        return query_flow.household_from_parse(ctx, parse)
    if parse.village or parse.township:
        area = query_flow.area_from_parse(ctx, parse)
        return [area] if isinstance(area, Reply) else query_flow.area_reply(ctx, area, parse.category)
    raise NotFound(f"台账里没找到“{name}”。可以写村名、乡镇名、户主姓名或问题编号。")


def _area_arg(ctx: CommandContext, args: str) -> query_flow.Area:
    name = args.strip()
    if not name:
        return query_flow.default_area(ctx)
    area = area_named(ctx.session, name)
    if area is None:
        raise NotFound(f"台账里没找到“{name}”，请写乡镇或村名。")
    return area


def due_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/due [地方]: unresolved issues due this week (at least the 🟡 window)."""
    return query_flow.due_reply(ctx, _area_arg(ctx, args), query_flow.default_due_until(ctx))


def overdue_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/overdue [地方]: overdue issues by 责任单位."""
    return query_flow.overdue_reply(ctx, _area_arg(ctx, args))


ENGINE_COMMANDS: dict[str, Command] = {
    "start": start_command,
    "help": help_command,
    "me": me_command,
    "status": status_command,
    "due": due_command,
    "overdue": overdue_command,
    "undo": issue_commands.undo_command,
    "close": issue_commands.close_command,
    "reopen": issue_commands.reopen_command,
    "invite": admin_commands.invite_command,
    "users": admin_commands.users_command,
}


def text_command(text: str) -> tuple[str, str] | None:
    """"销号 ZG-0001" -> ("close", "ZG-0001"); "撤销" -> ("undo", ""); else None."""
    for word, name in TEXT_COMMANDS.items():
        if text == word:
            return name, ""
        if word not in WHOLE_MESSAGE_ONLY and text.startswith(word) and code_in_text(text):
            return name, text[len(word):].strip()
    return None


def split_command(text: str) -> tuple[str, str]:
    """"/status@bot 东台村" -> ("status", "东台村")."""
    parts = text[1:].split(maxsplit=1)
    if not parts:
        return "", ""
    name = parts[0].split("@", 1)[0].lower()
    return name, parts[1].strip() if len(parts) > 1 else ""
