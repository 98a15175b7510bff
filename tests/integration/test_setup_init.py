"""``python bot.py init``: a real county from the terminal (database, ledger, first admin),
safe to run twice; a refused ledger leaves no empty database file (also for ``import``)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

import bot
from db.models import User
from db.session import Database
from services.invites import redeem_invite
from tests.support.backends import BACKENDS, PG_ADMIN_URL
from tests.support.ledger_files import row_counts, sample_sheets, write_xlsx


def _bad_ledger(tmp_path):
    sheets = sample_sheets()
    sheets["户"][2][2] = "没有这个村"
    return write_xlsx(tmp_path / "坏台账.xlsx", sheets)


def _code(output: str) -> str:
    return re.search(r"/start (\S+)", output).group(1)


def _redeem(db_url: str, code: str, telegram_id: int) -> User:
    database = Database.connect(db_url)
    try:
        with database.transaction() as session:
            return redeem_invite(
                session, telegram_id=telegram_id, code=code, sender_name="tg",
                now=dt.datetime.now(dt.timezone.utc), attempts_per_hour=5,
            )
    finally:
        database.dispose()


def test_init_imports_the_ledger_and_the_admin_registers_with_the_printed_code(db_url, database, tmp_path, capsys):
    ledger = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    assert bot.main(["init", "--db", db_url, "--ledger", str(ledger), "--admin-name", "张三"]) == 0

    out = capsys.readouterr().out
    assert "问题：新增 5" in out and "张三" in out
    assert row_counts(database)["issue"] == 5
    admin = _redeem(db_url, _code(out), 9001)
    assert (admin.name, admin.role, admin.telegram_id) == ("张三", "admin", 9001)


def test_second_init_does_not_import_over_the_ledger_without_force(db_url, database, tmp_path, capsys):
    ledger = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())
    assert bot.main(["init", "--db", db_url, "--ledger", str(ledger)]) == 0
    changed = sample_sheets()
    changed["问题"][1][6] = "已整改"
    newer = write_xlsx(tmp_path / "新台账.xlsx", changed)
    capsys.readouterr()

    refused = bot.main(["init", "--db", db_url, "--ledger", str(newer)])
    err = capsys.readouterr().err
    forced = bot.main(["init", "--db", db_url, "--ledger", str(newer), "--force"])

    assert refused == 1
    assert "已有台账（5 户，5 条问题）" in err and "--force" in err
    assert forced == 0
    assert "问题：新增 0，更新 1，不变 4" in capsys.readouterr().out


def test_init_again_for_a_registered_admin_makes_no_new_code(db_url, capsys):
    assert bot.main(["init", "--db", db_url, "--admin-name", "张三"]) == 0
    _redeem(db_url, _code(capsys.readouterr().out), 9001)

    assert bot.main(["init", "--db", db_url, "--admin-name", "张三"]) == 0

    out = capsys.readouterr().out
    assert "已经注册" in out and "/start" not in out


def test_init_without_an_admin_says_how_to_make_one(db_url, capsys):
    assert bot.main(["init", "--db", db_url]) == 0

    assert "--admin-name" in capsys.readouterr().out


def test_init_refuses_an_empty_admin_name(db_url, capsys):
    assert bot.main(["init", "--db", db_url, "--admin-name", "  "]) == 2
    assert "姓名" in capsys.readouterr().err


def test_init_with_a_bad_ledger_leaves_no_database_file(tmp_path, capsys):
    path = tmp_path / "县" / "gongjian.db"

    code = bot.main(["init", "--db", f"sqlite:///{path}", "--ledger", str(_bad_ledger(tmp_path)), "--admin-name", "张三"])

    assert code == 1
    assert "没有这个村" in capsys.readouterr().err
    assert list(path.parent.iterdir()) == []


def test_init_makes_the_sqlite_file_in_a_new_folder(tmp_path):
    path = tmp_path / "data" / "县" / "gongjian.db"

    assert bot.main(["init", "--db", f"sqlite:///{path}"]) == 0

    assert path.is_file()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not among the test backends")
def test_init_on_a_postgresql_database_that_does_not_exist_says_why(capsys):
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/gj_no_such_database"

    assert bot.main(["init", "--db", url]) == 1

    err = capsys.readouterr().err
    assert "连不上数据库" in err and "gj_no_such_database" in err and "docs/deploy.md" in err


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_import_refused_or_tried_leaves_no_new_database_file(tmp_path, extra, capsys):
    path = tmp_path / "new.db"
    ledger = _bad_ledger(tmp_path) if not extra else write_xlsx(tmp_path / "台账.xlsx", sample_sheets())

    code = bot.main(["import", str(ledger), "--db", f"sqlite:///{path}", *extra])

    assert code == (1 if not extra else 0)
    assert not path.exists() and not list(tmp_path.glob("new.db*"))


def test_import_refused_keeps_an_existing_database_file(tmp_path, capsys):
    path = tmp_path / "ledger.db"
    assert bot.main(["import", str(write_xlsx(tmp_path / "台账.xlsx", sample_sheets())), "--db", f"sqlite:///{path}"]) == 0

    assert bot.main(["import", str(_bad_ledger(tmp_path)), "--db", f"sqlite:///{path}"]) == 1

    database = Database.connect(f"sqlite:///{path}")
    try:
        assert row_counts(database)["issue"] == 5
        with database.transaction() as session:
            assert session.scalars(select(User)).all() == []
    finally:
        database.dispose()


def test_import_whose_output_is_cut_off_keeps_the_database_it_committed(tmp_path, monkeypatch):
    """`import 台账.xlsx | head -1`: the reader went away after the ledger was written."""
    path = tmp_path / "new.db"
    ledger = write_xlsx(tmp_path / "台账.xlsx", sample_sheets())
    args = bot.build_parser().parse_args(["import", str(ledger), "--db", f"sqlite:///{path}"])

    def closed_pipe(*_args, **_kwargs):
        raise BrokenPipeError

    monkeypatch.setattr("cli.import_cmd.print", closed_pipe, raising=False)
    with pytest.raises(BrokenPipeError):
        args.func(args)

    database = Database.connect(f"sqlite:///{path}")
    try:
        assert row_counts(database)["issue"] == 5
    finally:
        database.dispose()
