"""The digest's progress chart: a PNG of the share rectified per township (or village).

A digest's chart is first its figures (:class:`ProgressChart`, plain values that travel as
JSON), taken inside the ledger's transaction; the PNG is drawn from them afterwards, because
drawing takes about a second and a transaction open that long makes every report wait
(SQLite has one writer at a time).

Rendered with matplotlib's Agg canvas on a Figure of its own (no pyplot global state, so
jobs may render in threads), with Chinese labels in Noto Sans CJK SC from the mplfonts
package — a file the project's own dependencies install, so no system font is assumed.
Only that one file is used (not SimHei, which is not freely licensed), and mplfonts'
``init`` is never run (it deletes matplotlib's cache folder).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.digest import Digest, ProgressRow, month_day

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT_PACKAGE = "mplfonts"
FONT_FILE = ("fonts", "NotoSansCJKsc-Regular.otf")
BAR_COLOURS = ("#d9534f", "#f0ad4e", "#5cb85c")  # below 50 %, below 80 %, from 80 %


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font shipped inside the mplfonts package."""
    resource = importlib.resources.files(FONT_PACKAGE).joinpath(*FONT_FILE)
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CJK font missing; reinstall the mplfonts package")
    return path


@dataclass(frozen=True)
class ProgressChart:
    """What the chart shows, without drawing it: cheap to take inside a transaction and
    JSON-safe, so that a reply can carry it to whoever draws it after the commit."""

    label: str  # 汪清县, 东光镇 ...
    level: str  # 乡镇 or 村
    day: dt.date
    rows: tuple[ProgressRow, ...]

    @classmethod
    def of(cls, digest: Digest) -> ProgressChart:
        return cls(digest.label, digest.progress_level, digest.today, digest.progress)

    @property
    def title(self) -> str:
        return f"{self.label} 各{self.level}整改进度 {month_day(self.day)}"

    @property
    def caption(self) -> str:
        """The text sent with the picture."""
        return f"{self.label}各{self.level}整改进度（{month_day(self.day)}）"

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "level": self.level,
            "day": self.day.isoformat(),
            "rows": [[row.name, row.done, row.total] for row in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgressChart:
        rows = tuple(ProgressRow(str(name), int(done), int(total)) for name, done, total in data["rows"])
        return cls(data["label"], data["level"], dt.date.fromisoformat(data["day"]), rows)


def chart_title(digest: Digest) -> str:
    return ProgressChart.of(digest).title


def chart_labels(digest: Digest) -> list[str]:
    """Every piece of text drawn on the chart (the glyph test checks them all)."""
    labels = [chart_title(digest), "已整改+已销号 占全部问题", "暂无问题"]
    for row in digest.progress:
        labels.append(row.name)
        labels.append(_bar_label(row.done, row.total))
    return labels


def render_progress_chart(digest: Digest) -> bytes:
    """PNG bytes of a digest's progress bars (blocking, about a second: never inside a
    transaction, never on the event loop)."""
    return draw_progress_chart(ProgressChart.of(digest))


def draw_progress_chart(chart: ProgressChart) -> bytes:
    """PNG bytes of the progress bars, lowest share at the top (where attention is due)."""
    # matplotlib costs ~60 MB and a second to import: only processes that draw pay for it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import PercentFormatter

    font = FontProperties(fname=str(cjk_font_path()))
    rows = list(chart.rows)
    height = max(2.6, 1.3 + 0.36 * len(rows))
    figure = Figure(figsize=(7.2, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(chart.title, fontproperties=font, fontsize=13)
    if not rows:
        axes.text(0.5, 0.5, "暂无问题", ha="center", va="center", fontproperties=font, fontsize=12)
        axes.set_axis_off()
        return _png(figure)
    positions = list(range(len(rows)))
    shares = [row.share for row in rows]
    colours = [BAR_COLOURS[0] if s < 0.5 else BAR_COLOURS[1] if s < 0.8 else BAR_COLOURS[2] for s in shares]
    axes.barh(positions, shares, color=colours, height=0.62)
    axes.set_yticks(positions, [row.name for row in rows])
    for label in axes.get_yticklabels():
        label.set_fontproperties(font)
    axes.invert_yaxis()  # first row (lowest share) on top
    axes.set_xlim(0, 1.18)  # room for the labels right of a full bar
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    axes.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    axes.set_xlabel("已整改+已销号 占全部问题", fontproperties=font)
    for position, row in zip(positions, rows):
        axes.text(row.share + 0.01, position, _bar_label(row.done, row.total),
                  va="center", fontproperties=font, fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _bar_label(done: int, total: int) -> str:
    share = done / total if total else 0.0
    return f"{share:.0%}（{done}/{total}）"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
