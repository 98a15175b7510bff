"""A SQLite file a command is about to create, removed again if the command fails.

Connecting to SQLite creates the file; a failed ``import`` or ``init`` must not leave an
empty ledger behind (the next command would then say "no ledger yet" instead of "no file").
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Files SQLite keeps beside the database (WAL mode, rollback journal).
COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


class NewSqliteFile:
    """Remembers whether the SQLite file of ``url`` exists now; :meth:`discard` removes it
    (with its -wal/-shm) only if this command created it and has not :meth:`keep` it."""

    def __init__(self, url: str) -> None:
        path = sqlite_file(url)
        self.path = path if path is not None and not path.exists() else None
        self.is_new = self.path is not None

    def keep(self) -> None:
        """The command's work is committed: a later failure (printing, say) keeps the file."""
        self.path = None

    def discard(self) -> None:
        """Remove the file this command created (call after the engine is disposed)."""
        if self.path is None:
            return
        for suffix in ("", *COMPANIONS):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
