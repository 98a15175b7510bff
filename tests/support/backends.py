"""Which databases the tests run on: SQLite and the PostgreSQL server on 127.0.0.1:5432
(GONGJIAN_TEST_PG overrides the address, GONGJIAN_TEST_BACKENDS=sqlite limits a local run)."""

from __future__ import annotations

import os

import pytest

PG_ADMIN_URL = os.environ.get(
    "GONGJIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    name.strip()
    for name in os.environ.get("GONGJIAN_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
]

# A test of behaviour only PostgreSQL has: its db_url takes that backend alone (a run limited to
# SQLite has none, and pytest reports the test as skipped for an empty parameter set).
POSTGRESQL_ONLY = pytest.mark.parametrize("db_url", [name for name in BACKENDS if name == "postgresql"], indirect=True)
