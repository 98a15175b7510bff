"""tests/unit runs without a database: a test here that opens a database connection fails.

From the start of each unit test's setup (before any of its fixtures, module-scoped ones
included) to the end of its teardown, a listener on SQLAlchemy's Pool class refuses every new
connection, however the engine was made, and ``sqlite3.connect`` refuses too. The test fails even
if the code under test swallows the refusal: the attempt is noted and reported at teardown.
Both are undone after each unit test, so integration tests in the same run are untouched.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

MESSAGE = "tests/unit 不连数据库：需要数据库的测试放到 tests/integration"
_GUARD = pytest.StashKey["_Guard"]()


class _Guard:
    """The refusal installed for one test, and whether anything tried to connect."""

    def __init__(self) -> None:
        self.attempts = 0
        self._connect = sqlite3.connect

    def refuse(self, *_args: object, **_kwargs: object) -> None:
        self.attempts += 1
        raise AssertionError(MESSAGE)

    def install(self) -> None:
        event.listen(Pool, "connect", self.refuse)
        sqlite3.connect = self.refuse

    def remove(self) -> None:
        event.remove(Pool, "connect", self.refuse)
        sqlite3.connect = self._connect


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    guard = item.stash[_GUARD] = _Guard()
    guard.install()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item):
    yield
    guard = item.stash.get(_GUARD, None)
    if guard is not None:
        guard.remove()
        if guard.attempts:
            pytest.fail(f"{MESSAGE}（{guard.attempts} 次连接）", pytrace=False)
