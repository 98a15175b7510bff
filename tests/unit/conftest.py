"""tests/unit runs without a database: a connection opened by any test here fails the test.

The listener is on SQLAlchemy's Pool class, so it catches every engine however it was made
(SQLite file or memory, PostgreSQL); it is added for each unit test and removed after it, so
integration tests in the same run are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool


def _refuse(*_args: object) -> None:
    raise AssertionError("tests/unit 不连数据库：需要数据库的测试放到 tests/integration")


@pytest.fixture(autouse=True)
def _no_database() -> Iterator[None]:
    event.listen(Pool, "connect", _refuse)
    yield
    event.remove(Pool, "connect", _refuse)
