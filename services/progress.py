"""What long work (import, export, the demo build) reports to while it runs."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """How much there is, once known, and how much is done."""

    def expect(self, total: int) -> None:
        """``total`` more items are coming."""

    def advance(self, done: int) -> None:
        """``done`` more items are finished."""
