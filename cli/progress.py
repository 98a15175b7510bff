"""Progress for long CLI work: a one-line counter on a terminal, silence when piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``with Progress("导入", total) as p: p.advance(n)``; draws at most 10 times a second.

    With a total the line reads ``导入：3,000/8,200 条（37%）``; without one (or until the
    caller sets ``total``) ``导入：已处理 3,000 条``. It ends with ``导入：完成，共 8,200 条``.
    Nothing is written unless the stream is a terminal.
    """

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, unit: str = "条") -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)
        self._last_draw = 0.0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if not self.enabled:
            return
        if exc_type is None:
            self._write(f"{self.label}：完成，共 {self.done:,} {self.unit}")
        self.stream.write("\n")
        self.stream.flush()

    def expect(self, total: int) -> None:
        """``total`` more items are coming (the line shows done/total from then on)."""
        self.total = (self.total or 0) + total

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        now = time.monotonic()
        if now - self._last_draw < 0.1:
            return
        self._last_draw = now
        if self.total:
            pct = min(100, 100 * self.done / self.total)
            self._write(f"{self.label}：{self.done:,}/{self.total:,} {self.unit}（{pct:.0f}%）")
        else:
            self._write(f"{self.label}：已处理 {self.done:,} {self.unit}")

    def _write(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text}")  # \033[K clears what a longer line left behind
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
