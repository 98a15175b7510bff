"""Run Alembic migrations programmatically (``python bot.py migrate`` and every command).

Whether the database is already at the newest revision is read without Alembic (the
version table, and the revision ids written in the migration files): importing Alembic
(with mako, pygments and every SQLAlchemy dialect) costs a process 11 MB that it keeps for
its whole life, and most starts of the bot find nothing to migrate.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision: the one no migration file revises (Alembic decides when the
    files do not make exactly one such)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        names = _module_constants(path)
        revisions.add(names["revision"])
        down = names.get("down_revision")
        revised.update(down if isinstance(down, (tuple, list)) else [down])
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _module_constants(path: Path) -> dict[str, object]:
    """The module-level ``name = literal`` assignments of a migration file (not run)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; a no-op when it is already there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
