"""The digest's progress chart: a PNG of the share rectified per township (or village).

Rendered with matplotlib's Agg canvas on a Figure of its own (no pyplot global state, so
jobs may render in threads), with Chinese labels in Noto Sans CJK SC from the mplfonts
package — a file the project's own dependencies install, so no system font is assumed.
Only that one file is used (not SimHei, which is not freely licensed), and mplfonts'
``init`` is never run (it deletes matplotlib's cache folder).
"""

from __future__ import annotations

import importlib.resources
import io
from pathlib import Path
from typing import TYPE_CHECKING

from services.digest import Digest, month_day

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


def chart_title(digest: Digest) -> str:
    return f"{digest.label} 各{digest.progress_level}整改进度 {month_day(digest.today)}"


def chart_labels(digest: Digest) -> list[str]:
    """Every piece of text drawn on the chart (the glyph test checks them all)."""
    labels = [chart_title(digest), "已整改+已销号 占全部问题", "暂无问题"]
    for row in digest.progress:
        labels.append(row.name)
        labels.append(_bar_label(row.done, row.total))
    return labels


def render_progress_chart(digest: Digest) -> bytes:
    """PNG bytes of the progress bars, lowest share at the top (where attention is due)."""
    # matplotlib costs ~60 MB and a second to import: only processes that draw pay for it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import PercentFormatter

    font = FontProperties(fname=str(cjk_font_path()))
    rows = list(digest.progress)
    height = max(2.6, 1.3 + 0.36 * len(rows))
    figure = Figure(figsize=(7.2, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(chart_title(digest), fontproperties=font, fontsize=13)
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
