"""tests/unit/conftest.py makes a unit test that opens a database fail, however it tries.

A probe suite with tests/unit's conftest runs in a pytest process of its own (so that its
refusals do not meet this test's database): each way of connecting fails, a test that connects
nowhere passes."""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT_CONFTEST = Path(__file__).resolve().parents[1] / "unit" / "conftest.py"

PROBES = '''
import sqlite3
import pytest
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def shared():
    with create_engine("sqlite://").connect() as connection:
        yield connection


def test_connects():
    with create_engine("sqlite://").connect() as connection:
        connection.execute(text("select 1"))


def test_swallows_the_refusal():
    try:
        create_engine("sqlite://").connect()
    except Exception:
        pass


def test_uses_a_module_fixture(shared):
    pass


def test_opens_sqlite_itself():
    sqlite3.connect(":memory:")


def test_connects_nowhere():
    assert sum([1, 1]) == 2
'''


def test_every_way_of_connecting_fails_a_unit_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(UNIT_CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    outcomes = {line.split("::")[-1].split(" ")[0]: line.split(" ")[0] for line in result.outlines
                if "::" in line and line.split(" ")[0] in ("PASSED", "FAILED", "ERROR")}
    assert outcomes["test_connects_nowhere"] == "PASSED"
    for probe in ("test_connects", "test_swallows_the_refusal", "test_uses_a_module_fixture",
                  "test_opens_sqlite_itself"):
        assert outcomes[probe] in ("FAILED", "ERROR"), (probe, result.outlines[-20:])
    assert "不连数据库" in result.stdout.str()
