"""Which files are kept as 佐证材料 and what they say about themselves (services/evidence.py)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from services.evidence import NotEvidence, check_file, hash_distance, store_file
from tests.support.evidence_images import near_copy, pdf, photo

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_images_are_kept_under_their_real_type(fmt, suffix):
    assert check_file(photo(1, fmt=fmt), TZ).suffix == suffix


def test_a_pdf_is_kept_and_has_no_image_hash():
    checked = check_file(pdf(), TZ)
    assert (checked.suffix, checked.phash) == (".pdf", None)


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00" + b"\x00" * 200,  # a Windows program
    b"\xff\xd8 jpeg bytes",  # a JPEG header and nothing of an image
    photo(1)[:2000],  # a photo cut off in transfer
    b"PK\x03\x04" + b"\x00" * 100,  # a zip (or .docx)
    b"%PDF-1.7\n1 0 obj\n",  # a PDF without its end
])
def test_anything_else_is_refused_with_a_reason(data):
    with pytest.raises(NotEvidence) as refusal:
        check_file(data, TZ)
    assert "未保存" in str(refusal.value)


def test_a_gif_is_not_evidence():
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, "GIF")
    with pytest.raises(NotEvidence, match="只收照片"):
        check_file(out.getvalue(), TZ)


def test_a_file_that_was_not_downloaded_says_to_send_it_smaller():
    with pytest.raises(NotEvidence, match="请压缩后重发，或作为照片发送"):
        check_file(None, TZ)


def test_near_identical_photos_are_close_and_different_ones_far():
    same, near, other = (check_file(data, TZ).phash for data in (photo(1), near_copy(1), photo(2)))
    assert hash_distance(same, near) <= 6 < hash_distance(same, other)


def test_the_exif_capture_time_is_read_in_the_county():
    taken = dt.datetime(2026, 8, 1, 10, 30)
    assert check_file(photo(1, taken=taken), TZ).taken_at == taken.replace(tzinfo=TZ)
    assert check_file(photo(1), TZ).taken_at is None


def test_a_kept_file_goes_under_its_month_with_its_type(tmp_path):
    data = photo(3, fmt="PNG")
    stored = store_file(tmp_path, data, check_file(data, TZ), dt.datetime(2026, 12, 6, tzinfo=TZ))
    assert stored.startswith("2026-12/") and stored.endswith(".png")
    assert (tmp_path / stored).read_bytes() == data
    assert [p.name for p in (tmp_path / "2026-12").iterdir()] == [stored.split("/")[1]]  # no partial left


def test_a_program_with_a_pdf_inside_is_not_a_pdf():
    with pytest.raises(NotEvidence):
        check_file(b"MZ\x90\x00" + b"\x00" * 64 + b"%PDF-1.4\n%%EOF\n", TZ)


def test_a_huge_png_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (5100, 5100)).save(out, "PNG")  # 26 MP in a few KB: decoded whole it would not be
    with pytest.raises(NotEvidence, match="尺寸过大"):
        check_file(out.getvalue(), TZ)


@pytest.mark.parametrize(("code", "name"), [("ZG-0003", "ZG-0003"), ("ZG/2024/001", "ZG_2024_001"), ("../../x", "x")])
def test_item_codes_become_file_names_inside_the_folder(code, name):
    from services.evidence import _safe_name

    assert _safe_name(code) == name


def test_a_database_that_knows_no_evidence_never_empties_the_folder(database, tmp_path):
    from services.evidence import remove_orphans

    kept = tmp_path / "2026-01" / f"{'0c' * 16}.jpg"  # the county's photo; this is another database
    kept.parent.mkdir()
    kept.write_bytes(photo(9))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    with database.transaction() as session:
        assert remove_orphans(session, tmp_path, later, "sqlite:///demo.db") == 0
    assert kept.is_file()


def test_only_the_folders_own_database_sweeps_it(tmp_path):
    from services.evidence import _owns

    assert _owns(tmp_path, "postgresql://gongjian@db/county")  # the first sweep names the owner
    assert _owns(tmp_path, "postgresql://gongjian@db/county")
    assert not _owns(tmp_path, "sqlite:////srv/gongjian/demo.db")
