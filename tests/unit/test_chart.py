"""The progress chart: a PNG whose Chinese labels all have glyphs in the bundled CJK font."""

from __future__ import annotations

import datetime as dt
import io
import warnings

from matplotlib.ft2font import FT2Font
from matplotlib.image import imread

from services.chart import chart_labels, cjk_font_path, render_progress_chart
from services.digest import Digest, ProgressRow

TOWNSHIPS = ("汪清镇", "大兴沟镇", "天桥岭镇", "罗子沟镇", "百草沟镇", "春阳镇", "复兴镇", "东光镇", "鸡冠乡")


def digest_with(rows, level="乡镇", label="汪清县") -> Digest:
    return Digest(
        scope_name="", label=label, today=dt.date(2026, 10, 12), weekly=False,
        period_start=dt.date(2026, 10, 10), new_count=0, rectified_count=0, closed_count=0,
        total=sum(r.total for r in rows), open_count=0, done_count=sum(r.done for r in rows),
        open_by_category=(), overdue_count=0, overdue_by_unit=(), overdue_items=(), due_count=0,
        due_days=3, due_until=dt.date(2026, 10, 15), due_items=(), progress_level=level, progress=tuple(rows),
    )


def render_without_warnings(digest: Digest) -> bytes:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_progress_chart(digest)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    return png


def test_font_is_the_bundled_noto_sans_cjk_not_simhei():
    path = cjk_font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert FT2Font(str(path)).family_name == "Noto Sans CJK SC"


def test_every_label_has_a_glyph_and_the_png_renders():
    rows = [ProgressRow(name, done, 40) for done, name in enumerate(TOWNSHIPS)]
    digest = digest_with(rows)
    png = render_without_warnings(digest)
    charmap = FT2Font(str(cjk_font_path())).get_charmap()
    characters = {ch for label in chart_labels(digest) for ch in label if not ch.isspace()}
    assert {ch for ch in characters if ord(ch) not in charmap} == set()
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 200 and image.shape[1] > 600


def test_village_chart_with_rare_characters_and_an_empty_chart():
    rows = [ProgressRow("嘎呀河村", 1, 3), ProgressRow("柳毛河村", 0, 2), ProgressRow("大蒲柴河村", 2, 2)]
    render_without_warnings(digest_with(rows, level="村", label="天桥岭镇"))
    assert render_without_warnings(digest_with([])).startswith(b"\x89PNG")


def test_a_font_without_cjk_would_be_caught():
    # The glyph check above can fail: matplotlib's default font lacks these characters.
    charmap = FT2Font(str(_dejavu())).get_charmap()
    assert ord("镇") not in charmap


def _dejavu():
    from matplotlib import font_manager

    return font_manager.findfont("DejaVu Sans")
