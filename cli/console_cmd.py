"""``python bot.py console``: the same conversation as in Telegram, in the terminal.

Buttons are shown as numbered choices; typing the number presses the button. The console
logs in as a ledger user by name (the demo admin by default), who needs no Telegram id:
the engine is told the user's id directly (Incoming.user_id), which only trusted front
ends may do. Works with piped input (tests); "#群" / "#私" switch between a group and a
private chat, to see what a group is (not) shown.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from cli.common import add_db_options, example_epilog, fail, settings_from
from db.models import Township, User
from db.session import Database
from services.conversation.digest_commands import draw_charts
from services.conversation.messages import Engine, Incoming, Reply, reply_to
from services.errors import DomainError
from services.users import find_by_name
from settings import Settings

DEMO_ADMIN = "演示管理员"
EXIT_WORDS = frozenset({"退出", "exit", "quit", "再见"})
NO_LEDGER = "数据库里还没有台账。请先运行 python bot.py demo 建演示数据（或 python bot.py import 台账.xlsx）。"
GROUP_CHAT_ID = -1000  # a stand-in group chat for "#群"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``console``."""
    parser = subparsers.add_parser(
        "console",
        help="在终端里与机器人对话（不需要 Telegram）",
        description="在终端里与机器人对话：报告、查询、按钮（输入数字选择）都与 Telegram 中相同。"
        "默认以“演示管理员”身份登录演示库。输入“退出”结束；“#群”/“#私”切换群聊/私聊。",
        epilog=example_epilog(
            "python bot.py console",
            "python bot.py console --as 东台村工作队",
            "echo 东台村还有哪些问题 | python bot.py console --db sqlite:///demo.db",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--as", dest="user_name", metavar="NAME", help="以哪个用户的身份登录（姓名或 #编号）")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``python bot.py console``."""
    settings = settings_from(args)
    return run_console(settings, settings.database.url, user_name=args.user_name)


class ConsoleChat:
    """One person's chat with the engine: numbered buttons, transcript on ``out``."""

    def __init__(self, engine: Engine, database: Database, user: User, out: TextIO) -> None:
        self.engine = engine
        self.database = database
        self.user_id = user.id
        # Users made by the demo have no Telegram id: a negative stand-in keeps ids distinct.
        self.sender_id = user.telegram_id if user.telegram_id is not None else -user.id
        self.out = out
        self.chat_type = "private"
        self.buttons: list[str] = []
        self.message_id = 0
        self.files_dir: Path | None = None

    def _incoming(self, **fields) -> Incoming:
        self.message_id += 1
        chat_id = GROUP_CHAT_ID if self.chat_type == "group" else self.sender_id
        return Incoming(
            sender_id=self.sender_id, chat_id=chat_id, chat_type=self.chat_type,
            message_id=self.message_id, source="console", user_id=self.user_id, addressed=True,
            **fields,
        )

    def say(self, line: str) -> None:
        """Send a line: a number presses a button of the last answer, else it is a message."""
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            self.show(reply_to(self.engine, self.database, self._incoming(callback_data=self.buttons[int(line) - 1])))
            return
        self.show(reply_to(self.engine, self.database, self._incoming(text=line)))

    def show(self, replies: list[Reply]) -> None:
        """Print replies; remember their buttons as numbered choices."""
        self.buttons = []
        for reply in draw_charts(replies):  # /digest's chart, drawn after the engine's turn
            prefix = "（更新）" if reply.edit else ""
            self.out.write(f"{prefix}{reply.text}\n")
            for row in reply.buttons:
                for button in row:
                    self.buttons.append(button.data)
                    self.out.write(f"  [{len(self.buttons)}] {button.text}\n")
            if reply.file is not None and reply.file.path is not None:
                self.out.write(f"  （佐证文件：{reply.file.path}）\n")  # the stored copy itself
            elif reply.file is not None and reply.file.data:
                saved = self._save(reply.file.file_name, reply.file.data)
                self.out.write(f"  （文件已保存：{saved}，退出终端对话时删除）\n")
            elif reply.file is not None:
                self.out.write("  （佐证文件只存在 Telegram 上，终端里打不开）\n")
        if not replies:
            self.out.write("（没有回复）\n")
        self.out.write("\n")
        self.out.flush()

    def _save(self, name: str, data: bytes) -> Path:
        if self.files_dir is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="gongjian-console-"))
        path = self.files_dir / Path(name).name
        path.write_bytes(data)
        return path

    def close(self) -> None:
        """Remove the files this chat saved (charts of /digest): nothing is left in /tmp."""
        if self.files_dir is not None:
            shutil.rmtree(self.files_dir, ignore_errors=True)
            self.files_dir = None


def _has_ledger(database: Database) -> bool:
    with database.transaction() as session:
        return bool(session.scalar(select(func.count(Township.id))))


def _login(database: Database, user_name: str | None) -> User:
    with database.transaction() as session:
        user = find_by_name(session, user_name or DEMO_ADMIN)
        if not user.active:
            raise DomainError(f"用户“{user.name}”已停用。")
        session.expunge(user)
        return user


def run_console(
    settings: Settings,
    database_url: str | None = None,
    user_name: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Chat with the engine on ``stdin``/``stdout`` until EOF or 退出; return an exit code."""
    from services.conversation.engine import ConversationEngine  # the parser stack loads lazily

    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    interactive = stdin.isatty()
    database = Database.connect(database_url or settings.database.url, echo=settings.database.echo)
    try:
        if not _has_ledger(database):
            return fail(NO_LEDGER, 1)
        try:
            user = _login(database, user_name)
        except DomainError as error:
            hint = "" if user_name else f"（没有“{DEMO_ADMIN}”：请用 --as 指定用户，或先运行 python bot.py demo）"
            return fail(f"{error}{hint}", 2)
        engine = ConversationEngine(database, settings)
        if interactive:
            stdout.write("正在加载词典和台账……\n")
            stdout.flush()
        engine.warm_up()
        chat = ConsoleChat(engine, database, user, stdout)
        stdout.write(
            f"攻坚通终端对话 · 当前身份：{user.name}。直接输入消息回车发送，输入数字选择按钮，"
            "“#群”/“#私”切换群聊/私聊，“退出”结束。\n\n"
        )
        stdout.flush()
        try:
            return _loop(chat, stdin, stdout, interactive)
        finally:
            chat.close()
    finally:
        database.dispose()


def _loop(chat: ConsoleChat, stdin: TextIO, stdout: TextIO, interactive: bool) -> int:
    while True:
        if interactive:
            stdout.write("> " if chat.chat_type == "private" else "群> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            if interactive:
                stdout.write("\n")
            return 0
        line = line.strip()
        if not line:
            continue
        if not interactive:
            stdout.write(f"> {line}\n")  # piped: echo, so the transcript reads as a dialogue
        if line in EXIT_WORDS:
            return 0
        if line in ("#群", "#群聊"):
            chat.chat_type = "group"
            stdout.write("（已切换到群聊：群里只显示村级信息和数量）\n\n")
            continue
        if line in ("#私", "#私聊"):
            chat.chat_type = "private"
            stdout.write("（已切换到私聊）\n\n")
            continue
        chat.say(line)
