"""The argument parser in Chinese: its frame (用法/选项/位置参数), -h and its error messages.

argparse builds its English with gettext at the point of use; rather than install a global
translation, :class:`ZhArgumentParser` swaps the frame's words and turns each standard error
message into Chinese with :func:`translate_error`. Subparsers inherit the class.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

USAGE = "用法："
OPTIONS = "选项"
POSITIONALS = "位置参数"
HELP = "显示帮助并退出"
VERBOSE = "输出调试日志"
TYPE_NAMES = {"int": "整数", "float": "数字", "date": "日期"}

# argparse's messages (Python 3.11-3.13) and their Chinese; the first match wins.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), chinese)
    for pattern, chinese in (
        (r"the following arguments are required: (?P<a>.*)", "缺少必需的参数：{a}"),
        (r"invalid choice: (?P<a>.*?) \(choose from (?P<b>.*)\)", "无效的选择：{a}（可选：{b}）"),
        (r"unrecognized arguments: (?P<a>.*)", "无法识别的参数：{a}"),
        (r"expected one argument", "后面需要一个值"),
        (r"expected at least one argument", "后面至少需要一个值"),
        (r"expected at most one argument", "后面最多只能有一个值"),
        (r"expected (?P<a>\d+) arguments?", "后面需要 {a} 个值"),
        (r"ambiguous option: (?P<a>.*) could match (?P<b>.*)", "选项 {a} 不明确，可能是：{b}"),
        (r"not allowed with argument (?P<a>.*)", "不能与 {a} 同时使用"),
        (r"one of the arguments (?P<a>.*) is required", "必须给出其中之一：{a}"),
        (r"ignored explicit argument (?P<a>.*)", "不接受值 {a}"),
        (r"unknown parser (?P<a>.*?) \(choices: (?P<b>.*)\)", "未知的命令 {a}（可选：{b}）"),
    )
)
_ARGUMENT = re.compile(r"argument (?P<name>.+?): (?P<rest>.*)", re.S)
_INVALID_VALUE = re.compile(r"invalid (?P<type>\w+) value: (?P<value>.*)", re.S)


def translate_error(message: str) -> str:
    """argparse's English error ``message`` in Chinese (already Chinese text is kept)."""
    argument = _ARGUMENT.fullmatch(message)
    if argument:
        return f"参数 {argument['name']}：{translate_error(argument['rest'])}"
    invalid = _INVALID_VALUE.fullmatch(message)
    if invalid:
        kind = TYPE_NAMES.get(invalid["type"], invalid["type"])
        return f"无效的{kind}：{invalid['value']}"
    for pattern, chinese in _MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            return chinese.format(**match.groupdict())
    return message


class ZhArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors a Chinese reader reads without English."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._positionals.title = POSITIONALS
        self._optionals.title = OPTIONS
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = HELP

    def format_usage(self) -> str:
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups, USAGE)
        return formatter.format_help()

    def format_help(self) -> str:
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups, USAGE)
        formatter.add_text(self.description)
        for group in self._action_groups:
            formatter.start_section(group.title)
            formatter.add_text(group.description)
            formatter.add_arguments(group._group_actions)
            formatter.end_section()
        formatter.add_text(self.epilog)
        return formatter.format_help()

    def error(self, message: str) -> NoReturn:
        """Usage, the reason in Chinese and where to read more; exit code 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：{translate_error(message)}\n用 {self.prog} --help 查看用法和例子。\n")


def add_verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """-v/--verbose on every subcommand too, so it works before or after the subcommand.

    SUPPRESS keeps the value the main parser set when the subcommand does not repeat it.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in set(action.choices.values()):
            if "--verbose" not in sub._option_string_actions:
                sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE)
            add_verbose_everywhere(sub)
