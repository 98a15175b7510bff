"""Alembic environment: the engine comes from the caller (db.migrate), never from a file."""

from alembic import context

from db.base import Base
import db.models  # noqa: F401  (registers the tables on Base.metadata)

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from db.session import make_engine
    from settings import load_settings

    engine = make_engine(load_settings().database.url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
