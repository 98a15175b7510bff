"""攻坚通 (gongjian): the one entry point.

``python bot.py <command>``: run (Telegram), console, demo, import, export, parse, digest,
invite, users, check, backup, migrate. See ``python bot.py --help``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cli import COMMAND_MODULES
from settings import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python bot.py",
        description="攻坚通：脱贫攻坚问题台账助手（Telegram 机器人、终端对话与命令行工具）",
        epilog="例如:\n  python bot.py demo\n  python bot.py import 台账.xlsx\n  python bot.py <命令> --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    subparsers = parser.add_subparsers(dest="command", metavar="<命令>")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"配置错误: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
