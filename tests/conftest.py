"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (override with GONGJIAN_TEST_PG). Each test
session creates its own database there and drops it afterwards, so parallel runs never
see each other's rows. GONGJIAN_TEST_BACKENDS=sqlite limits a local run to SQLite.

The suite is split by what a test needs: tests/unit (no database, no network), tests/integration
(real SQLite and PostgreSQL, Excel files, the CLI), tests/e2e (the real PTB stack against the
fake Bot API server). Shared fakes and fixture libraries live in tests/support; the fixtures
they define are registered here, once, so test modules only import the helpers they call.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from db.base import Base
from db.migrate import upgrade
from db.session import Database, make_engine
from tests.support.backends import BACKENDS, PG_ADMIN_URL

pytest_plugins = [
    "tests.support.engine_chat",  # the demo county and an engine to talk to (demo_database, engine, ...)
    "tests.support.fake_bot_api",  # the fake Bot API server (fake_bot_api)
    "pytester",  # pytest's own, to run a probe suite (tests/integration/test_unit_tests_use_no_database.py)
]



@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"gj_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once a session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints and removes the WAL
    return path


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated ledger database: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_session_url")
    _truncate_all(url)
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A connected :class:`Database` on an empty ledger (both backends)."""
    db = Database.connect(db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def story_rules():
    """The rules alone (no second reader) over the demo county's story: built once a session
    (the parser is pure, so the nlp tests share it; no database)."""
    from nlp.parser import Parser
    from tests.corpus.evaluate import default_calendar, snapshot_from_county_yaml

    return Parser(snapshot_from_county_yaml(), default_calendar(), reader=None)


@pytest.fixture(scope="session")
def story_pair():
    """The rules with the shipped second reader over the demo county's story, built once."""
    from nlp.parser import Parser
    from tests.corpus.evaluate import default_calendar, snapshot_from_county_yaml

    return Parser(snapshot_from_county_yaml(), default_calendar())
