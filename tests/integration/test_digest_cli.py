"""``python bot.py digest``: the operator's view of a digest, and its chart as a file."""

from __future__ import annotations

import argparse

from cli import digest_cmd
from tests.support.digest_ledger import build_known_ledger


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    digest_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["digest", *argv])
    return args.func(args)


def test_prints_the_county_digest_and_writes_the_chart(database, db_url, tmp_path, capsys):
    build_known_ledger(database)
    chart = tmp_path / "county.png"
    assert run_cli("--db", db_url, "--today", "2026-10-12", "--chart", str(chart)) == 0
    out = capsys.readouterr().out
    assert out.startswith("📋 汪清县问题整改日报 10月12日（周一）")
    assert "🔴 逾期 3 件" in out
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_scope_by_bureau_name_and_a_holiday_note(database, db_url, capsys):
    build_known_ledger(database)
    assert run_cli("--db", db_url, "--scope", "水利局", "--today", "2026-10-01") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("📋 全县饮水类问题整改日报 10月1日（周四）")
    assert "不是工作日" in captured.err


def test_bad_input_exits_non_zero_with_the_reason(database, db_url, tmp_path, capsys):
    build_known_ledger(database)
    assert run_cli("--db", db_url, "--scope", "某某镇") == 1
    assert "没有叫“某某镇”" in capsys.readouterr().err
    assert run_cli("--db", db_url, "--today", "2026-13-01") == 2
    assert "日期" in capsys.readouterr().err
    assert run_cli("--db", db_url, "--chart", str(tmp_path / "missing" / "x.png")) == 2
    assert "目录不存在" in capsys.readouterr().err
