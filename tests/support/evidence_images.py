"""Test photos made with Pillow: different scenes for different photos, a slightly altered
copy for a near-identical one, and photos with an EXIF capture time."""

from __future__ import annotations

import datetime as dt
import io
import random

from PIL import Image, ImageDraw, ImageEnhance

DATE_TIME_ORIGINAL = 36867
EXIF_IFD = 0x8769


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A picture of its own for each seed: blocks and lines of random colours."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        box = (x, y, x + rng.randrange(40, width // 2), y + rng.randrange(40, height // 2))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(6):
        draw.line([(rng.randrange(width), rng.randrange(height)) for _ in range(2)],
                  fill=tuple(rng.randrange(256) for _ in range(3)), width=rng.randrange(3, 15))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", taken: dt.datetime | None = None) -> bytes:
    """The image as file bytes, with EXIF DateTimeOriginal when ``taken`` is given."""
    out = io.BytesIO()
    options = {}
    if taken is not None:
        exif = Image.Exif()
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
        options["exif"] = exif
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(seed: int, *, fmt: str = "JPEG", taken: dt.datetime | None = None) -> bytes:
    """A JPEG (or PNG, WEBP) photo of scene ``seed``."""
    return encode(scene(seed), fmt, taken)


def near_copy(seed: int) -> bytes:
    """Scene ``seed`` re-saved a little smaller, a little brighter, at another quality:
    other bytes, the same picture."""
    image = ImageEnhance.Brightness(scene(seed).resize((600, 450))).enhance(1.06)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def pdf() -> bytes:
    """A small valid PDF (one empty page)."""
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(out, "PDF")
    return out.getvalue()
