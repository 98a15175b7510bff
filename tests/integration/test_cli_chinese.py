"""What a user reads on the command line is Chinese: the parser's help and errors (every
subcommand), configuration errors; and -v is accepted before or after the subcommand."""

from __future__ import annotations

import argparse

import pytest

from bot import build_parser, main
from cli.zh_argparse import translate_error

ENGLISH_FRAME = ("usage:", "options:", "positional arguments", "show this help message", "error:")


def every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) for the main parser and every subcommand, nested ones too."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_parser(sub, (*path, name))


def test_every_help_page_is_framed_in_chinese():
    pages = list(every_parser(build_parser()))
    assert len(pages) > 15  # the main parser, every subcommand and the users actions
    for path, parser in pages:
        text = parser.format_help()
        assert text.startswith("用法：python bot.py"), path
        assert "显示帮助并退出" in text and "选项" in text, path
        assert not any(word in text for word in ENGLISH_FRAME), (path, text)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["import"], "缺少必需的参数：PATH"),
        (["frobnicate"], "无效的选择：'frobnicate'（可选：'demo'"),
        (["check", "--no-such-option"], "无法识别的参数：--no-such-option"),
        (["users", "set", "金明哲"], "缺少必需的参数：--role"),
        (["parse", "--today"], "参数 --today：后面需要一个值"),
        (["parse", "--today", "12月1日"], "日期应为 YYYY-MM-DD"),
    ],
)
def test_argument_errors_are_chinese_with_where_to_read_more(argv, reason, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("用法：python bot.py")
    assert reason in err and "--help 查看用法和例子" in err
    assert not any(word in err for word in ENGLISH_FRAME), err


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("argument --days: invalid int value: 'x'", "参数 --days：无效的整数：'x'"),
        ("argument --role: expected one argument", "参数 --role：后面需要一个值"),
        ("ambiguous option: --d could match --db, --dry-run", "选项 --d 不明确，可能是：--db, --dry-run"),
        ("argument --json: not allowed with argument --csv", "参数 --json：不能与 --csv 同时使用"),
        ("one of the arguments --a --b is required", "必须给出其中之一：--a --b"),
        ("日期应为 YYYY-MM-DD", "日期应为 YYYY-MM-DD"),
    ],
)
def test_argparse_messages_translate(english, chinese):
    assert translate_error(english) == chinese


@pytest.mark.parametrize(
    "argv",
    [["-v", "check"], ["check", "-v"], ["check", "--verbose"], ["users", "list", "-v"], ["-v", "users", "set", "x", "--role", "admin"]],
)
def test_verbose_before_or_after_the_subcommand(argv):
    assert build_parser().parse_args(argv).verbose is True


def test_without_verbose_it_is_off():
    assert build_parser().parse_args(["check"]).verbose is False
    assert build_parser().parse_args(["users", "list"]).verbose is False


@pytest.mark.parametrize("action", ["list", "set", "disable", "enable"])
def test_each_users_action_has_examples(action):
    [parser] = [p for path, p in every_parser(build_parser()) if path == ("users", action)]
    text = parser.format_help()
    assert "例如:" in text and f"python bot.py users {action}" in text


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("county:\n  timezone: Mars/Olympus\n", "county.timezone：未知的时区“Mars/Olympus”"),
        ("digest:\n  item_limit: many\n", "digest.item_limit：应为整数，而不是“many”"),
        ("digest:\n  default_time: '25:00'\n", "digest.default_time：时间应为 HH:MM"),
        ("digest:\n  itemlimit: 3\n", "digest.itemlimit：没有这个设置项"),
        ("calendar:\n  holidays: [2027-01-01, soon]\n", "calendar.holidays 第 2 项：应为日期 YYYY-MM-DD"),
        ("policy:\n  undo_minutes: 0\n", "policy.undo_minutes：不能小于 1"),
        ("county: [\n", "不是有效的 YAML"),
    ],
)
def test_configuration_errors_name_the_file_and_key_in_chinese(tmp_path, capsys, yaml_text, expected):
    config = tmp_path / "county.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    assert main(["migrate", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("配置错误：") and str(config) in err and expected in err, err
    assert "Value error" not in err and "Input should" not in err


def test_a_bad_value_from_the_environment_names_the_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GONGJIAN_TIMEZONE", "Asia/Nowhere")
    assert main(["migrate", "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "环境变量 GONGJIAN_TIMEZONE（county.timezone）：未知的时区“Asia/Nowhere”" in capsys.readouterr().err
