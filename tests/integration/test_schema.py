"""The schema: migrations reach the models, and the basic constraints hold on both backends."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db.migrate import alembic_config, current_revision, head_revision
from db.models import Household, Issue, Township, Village
from db.session import make_engine
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def test_migrations_have_a_single_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}"


def test_the_head_read_from_the_migration_files_is_alembics():
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_revision_read_from_the_database_is_alembics(db_url, tmp_path):
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert current_revision(engine) == MigrationContext.configure(connection).get_current_revision() == head_revision()
    engine.dispose()
    never_migrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(never_migrated) is None
    never_migrated.dispose()


def _village(session, township: str, village: str) -> Village:
    t = session.scalar(select(Township).where(Township.name == township))
    if t is None:
        t = Township(name=township)
        session.add(t)
    v = Village(township=t, name=village)
    session.add(v)
    session.flush()
    return v


def test_same_village_name_allowed_in_two_townships(database):
    with database.transaction() as s:
        _village(s, "汪清镇", "新村村")
        _village(s, "百草沟镇", "新村村")
    with database.transaction() as s:
        assert len(s.scalars(select(Village).where(Village.name == "新村村")).all()) == 2


def test_duplicate_village_in_one_township_rejected(database):
    with database.transaction() as s:
        _village(s, "汪清镇", "新村村")
    with pytest.raises(IntegrityError):
        with database.transaction() as s:
            _village(s, "汪清镇", "新村村")


def test_issue_round_trips_dates_and_times(database):
    with database.transaction() as s:
        v = _village(s, "东光镇", "东台村")
        h = Household(code="H1", village=v, head_name="刘在龙", size=3, status="未脱贫")
        s.add(Issue(code="ZG-0001", village=v, household=h, category="饮水",
                    description="饮水不安全", status="未整改", deadline=dt.date(2026, 12, 15)))
    with database.transaction() as s:
        issue = s.scalar(select(Issue))
        assert issue.deadline == dt.date(2026, 12, 15)
        assert issue.created_at.tzinfo is not None
        assert issue.household.head_name == "刘在龙"
