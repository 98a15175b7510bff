"""Small things a user notices: ``| head`` ends quietly, progress shows a total and keeps
quiet in a pipe, the console leaves no files behind, and an item's history reads as Chinese."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from cli.console_cmd import run_console
from cli.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PIPE_EXIT = 128 + signal.SIGPIPE


def bot_py(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), *args], cwd=ROOT, text=True, encoding="utf-8",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )


def test_check_into_a_closed_pipe_ends_without_a_traceback(db_url):
    """``check | head -0``: the reader is gone before the first line."""
    process = bot_py("check", "--db", db_url)
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == CLOSED_PIPE_EXIT
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_parse_into_head_1_ends_without_a_traceback(demo_database, db_url):
    """``parse | head -1``: the reader leaves after the first answer, more messages follow."""
    process = bot_py("parse", "--db", db_url, stdin=subprocess.PIPE)
    process.stdin.write("东台村饮水问题已解决\n")
    process.stdin.flush()
    first = process.stdout.readline()
    process.stdout.close()
    process.stdin.write("新兴村饮水问题解决了\n李兆满家情况\n")
    process.stdin.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == CLOSED_PIPE_EXIT
    assert first.startswith("{")
    assert "Traceback" not in err and "BrokenPipe" not in err, err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_shows_the_total():
    screen = Terminal()
    with Progress("导入", 8200, stream=screen) as progress:
        progress.advance(3000)
    assert "3,000/8,200 条（37%）" in screen.getvalue()
    assert screen.getvalue().rstrip().endswith("导入：完成，共 3,000 条")


def test_progress_without_a_known_total_still_ends_with_one():
    screen = Terminal()
    with Progress("生成演示数据", stream=screen) as progress:
        progress.advance(120)
        progress.advance(80)
    assert "已处理 120 条" in screen.getvalue()
    assert "完成，共 200 条" in screen.getvalue()


def test_progress_is_silent_in_a_pipe():
    pipe = io.StringIO()
    with Progress("导入", 10, stream=pipe) as progress:
        progress.advance(10)
    assert pipe.getvalue() == ""


def test_digest_charts_in_the_console_are_removed_when_it_ends(demo_database, db_url, settings, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = io.StringIO()
    assert run_console(settings, db_url, stdin=io.StringIO("/digest\n"), stdout=out) == 0
    [saved] = re.findall(r"文件已保存：(\S+?\.png)，退出终端对话时删除", out.getvalue())
    assert saved.startswith(str(scratch))
    assert not list(scratch.rglob("*.png")) and not list(scratch.glob("gongjian-console-*"))


def test_an_items_history_says_when_who_where_and_what(demo_database, db_url, settings):
    out = io.StringIO()
    lines = "ZG-0003\n东台村饮水问题已解决\nZG-0003\n"
    assert run_console(settings, db_url, stdin=io.StringIO(lines), stdout=out) == 0
    text = out.getvalue()
    assert re.search(r"· \d\d-\d\d \d\d:\d\d 演示管理员（终端）把状态改为已整改，原为未整改", text), text
    assert re.search(r"· \d\d-\d\d \d\d:\d\d 生成演示数据时登记了此问题", text), text
    assert " demo " not in text


def test_reading_a_workbook_shows_how_many_rows_there_are(tmp_path):
    from services.ledger_import import read_ledger
    from tests.support.ledger_files import write_long_workbook

    screen = Terminal()
    with Progress("读取台账", stream=screen) as progress:
        read_ledger(write_long_workbook(tmp_path / "台账.xlsx", 3000), progress)
    assert progress.total is not None and progress.total >= 3000  # counted before reading
    assert re.search(r"读取台账：[\d,]+/[\d,]+ 条（\d+%）", screen.getvalue()), screen.getvalue()
