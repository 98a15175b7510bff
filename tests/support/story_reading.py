"""Reading one message over the demo county's story, as the nlp tests do: today is Tuesday
2026-12-01 (the corpus's default day)."""

from __future__ import annotations

import datetime as dt

TODAY = dt.date(2026, 12, 1)


def read(parser, text: str, today: dt.date = TODAY):
    """The parse of ``text`` on ``today``, county-wide."""
    return parser.parse(text, today)
