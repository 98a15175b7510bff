"""The seam between the parser (nlp/) and the conversation: what a turn needs of it.

A turn's parser reads text into an ``nlp.parser.Parse`` (the parser's own result
dataclass, the one type the flows read), knows the ledger's villages as it read them, and
the household heads' names a group reply must never show. ``BoundParser`` in
services/parser_provider.py is the real one; tests may stand in with anything of this shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # nlp.parser loads jieba: imported for types only, never at start-up of a flow
    from nlp.parser import Parse
    from services.issues import VillageDirectory


class TurnParser(Protocol):
    """The parser of one turn, as the flows use it."""

    def parse(self, text: str, today: dt.date, scope: Sequence[str]) -> Parse:
        """Read ``text`` as sent on ``today`` by someone with ``scope`` (canonical names)."""
        ...

    @property
    def person_names(self) -> tuple[str, ...]:
        """The ledger's household heads, longest first."""
        ...

    @property
    def villages(self) -> VillageDirectory:
        """The villages by name, as the parser that reads the text knows them."""
        ...
