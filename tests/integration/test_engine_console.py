"""The console: the same engine driven by piped stdin, buttons as numbered choices."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from cli.console_cmd import run_console
from db.models import User
from tests.support.engine_chat import issue_state

ROOT = Path(__file__).resolve().parents[2]


def _run(settings, url: str, lines: list[str], user_name: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run_console(settings, url, user_name=user_name, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    return code, out.getvalue()


def test_a_piped_console_session_as_the_demo_admin(demo_database, db_url, settings):
    with demo_database.transaction() as s:  # the demo admin has no Telegram id
        s.execute(update(User).where(User.name == "演示管理员").values(telegram_id=None))
    code, out = _run(settings, db_url, [
        "东台村饮水问题已解决",
        "新兴村饮水问题解决了",
        "1",
        "/me",
        "退出",
        "东台村饮水问题还没解决",  # after 退出: never read
    ])
    assert code == 0
    assert "当前身份：演示管理员" in out
    assert "> 东台村饮水问题已解决\n✅ 东光镇东台村 · 饮水：未整改 → 已整改" in out
    assert "您说的是哪一个？\n  [1] 汪清镇新兴村\n  [2] 百草沟镇新兴村\n  [3] 取消\n" in out
    assert "> 1\n（更新）✅ 汪清镇新兴村 · 饮水：未整改 → 已整改" in out
    assert "您是：演示管理员 · 扶贫办管理员 · 范围：全县" in out
    assert "还没解决" not in out
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    assert issue_state(demo_database, "ZG-0025")[0] == "已整改"


def test_the_console_as_a_named_user_keeps_their_scope_and_group_privacy(demo_database, db_url, settings):
    code, out = _run(settings, db_url, ["李兆满家情况", "刘在龙家情况", "#群", "刘在龙家情况"], "东台村工作队")
    assert code == 0  # EOF ends the session
    assert "该户不在您的查看范围（东光镇东台村）内。" in out
    assert out.count("人口 3 人") == 1
    assert "户的情况只在私聊中查看，请私聊我。" in out


def test_the_console_on_an_empty_database_says_to_build_the_demo(database, db_url, settings, capsys):
    code, out = _run(settings, db_url, ["东台村"])
    assert code == 1
    assert "python bot.py demo" in capsys.readouterr().err
    assert out == ""


def test_the_console_refuses_an_unknown_user(demo_database, db_url, settings, capsys):
    code, _out = _run(settings, db_url, ["东台村"], "不存在的人")
    assert code == 2
    assert "没有名为“不存在的人”的用户" in capsys.readouterr().err


def test_bot_py_console_reads_a_pipe(demo_database, db_url):
    result = subprocess.run(
        [sys.executable, "bot.py", "console", "--as", "督巡办老周", "--db", db_url],
        input="东台村\n/close ZG-0022\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "东光镇东台村 · 未销号问题 2 个" in result.stdout
    assert "✅ ZG-0022 春阳镇双河村 黄丽娟 · 住房：已整改 → 已销号" in result.stdout
