"""佐证材料: which files are kept (images and PDFs, checked by content), where, and what they
show about themselves (a perceptual hash that catches a recycled photo, the EXIF capture time).

A file is checked before it is written: images must open and verify with Pillow (JPEG, PNG,
WebP), PDFs must start with ``%PDF-`` and end with ``%%EOF``. Anything else is refused with a
Chinese sentence, and nothing is written. A kept file is named by its real type under
``evidence_dir/YYYY-MM/``; its row (db.models.Evidence) holds the path relative to that
folder, so the folder can be backed up and restored elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from db.models import Evidence, Issue, User

# Pillow format -> the extension the file is kept under.
IMAGE_SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp"}
PDF_SUFFIX = ".pdf"
MAX_PIXELS = 80_000_000  # a 12,000 x 6,000 JPEG panorama passes (it is hashed from a small draft)
# PNG and WebP are decoded whole (4 bytes a pixel): a 3 KB WebP of 8,900 x 8,900 took 1.3 GB
MAX_PIXELS_DECODED = 25_000_000
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 36867
DATE_TIME = 306

_MONTH = re.compile(r"^\d{4}-\d{2}$")
_STORED_NAME = re.compile(r"^\.?[0-9a-f]{32}\.[A-Za-z0-9]{1,10}(\.partial)?$")

TOO_LARGE = "📎 文件超过 20 MB，机器人无法下载，佐证未保存。请压缩后重发，或作为照片发送。"
NOT_EVIDENCE = "📎 只收照片（JPG、PNG、WebP）或 PDF 作为佐证，这个文件未保存。"
EMPTY_FILE = "📎 文件是空的，佐证未保存。请重新发送。"


class NotEvidence(Exception):
    """The file cannot be kept as evidence; the message says why and what to do."""


@dataclass(frozen=True)
class CheckedFile:
    """A file that may be kept: its real type, content hashes and capture time."""

    suffix: str  # .jpg / .png / .webp / .pdf
    sha256: str
    phash: str | None  # images only: 64-bit perceptual hash as 16 hex digits
    taken_at: dt.datetime | None  # EXIF DateTimeOriginal, in the county's time zone


def check_file(data: bytes | None, tz: ZoneInfo) -> CheckedFile:
    """What ``data`` is, by its content; NotEvidence when it is not an image or a PDF
    (``data`` None: the transport could not download it, i.e. it is over 20 MB)."""
    if data is None:
        raise NotEvidence(TOO_LARGE)
    if not data:
        raise NotEvidence(EMPTY_FILE)
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith(b"%PDF-"):  # only a file that is a PDF from its first byte (not MZ…%PDF-)
        if b"%%EOF" not in data[-2048:]:
            raise NotEvidence("📎 这个 PDF 不完整（可能没传完），佐证未保存。请重新发送。")
        return CheckedFile(PDF_SUFFIX, digest, None, None)
    suffix, phash, taken_at = _check_image(data, tz)
    return CheckedFile(suffix, digest, phash, taken_at)


def _check_image(data: bytes, tz: ZoneInfo) -> tuple[str, str, dt.datetime | None]:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            suffix = IMAGE_SUFFIXES.get(image.format or "")
            if suffix is None:
                raise NotEvidence(NOT_EVIDENCE)
            limit = MAX_PIXELS if image.format == "JPEG" else MAX_PIXELS_DECODED
            if image.width * image.height > limit:
                raise NotEvidence("📎 图片尺寸过大，佐证未保存。请作为照片发送（Telegram 会压缩）。")
            image.verify()  # the whole file is read and checked; the image is unusable afterwards
        with Image.open(io.BytesIO(data)) as image:
            taken_at = _taken_at(image, tz)
            phash = perceptual_hash(image)
    except NotEvidence:
        raise
    except Exception:  # Pillow raises many kinds for a broken or foreign file
        raise NotEvidence(NOT_EVIDENCE) from None
    return suffix, phash, taken_at


def perceptual_hash(image) -> str:
    """The image's pHash (imagehash) as 16 hex digits."""
    import imagehash

    image.draft("L", (256, 256))  # JPEG: decode at a small size, enough for a 32x32 hash
    return str(imagehash.phash(image))


def _taken_at(image, tz: ZoneInfo) -> dt.datetime | None:
    """EXIF DateTimeOriginal (else DateTime), read as the county's local time."""
    exif = image.getexif()
    raw = exif.get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL) or exif.get(DATE_TIME)
    if not isinstance(raw, str):
        return None
    try:
        return dt.datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=tz)
    except ValueError:
        return None


def hash_distance(first: str, second: str) -> int:
    """Bits in which two perceptual hashes differ."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def store_file(evidence_dir: str | Path, data: bytes, checked: CheckedFile, now: dt.datetime) -> str:
    """Write the bytes under ``evidence_dir``/YYYY-MM/ named by their type; return the path
    relative to ``evidence_dir`` (written to a temporary name first: never half a file)."""
    relative = Path(now.strftime("%Y-%m")) / f"{uuid.uuid4().hex}{checked.suffix}"
    path = Path(evidence_dir) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return relative.as_posix()


def evidence_path(evidence_dir: str | Path, stored: str) -> Path:
    """Where a stored path points (rows from before issue 17 hold absolute paths)."""
    return Path(evidence_dir) / stored


def remove_file(evidence_dir: str | Path, stored: str | None) -> None:
    """Remove a file written this turn that no row will point to."""
    if stored:
        evidence_path(evidence_dir, stored).unlink(missing_ok=True)


def find_reused(
    session: Session, checked: dict, *, issue_id: int, user_id: int | None, max_bits: int
) -> Evidence | None:
    """The earliest evidence with the same bytes or a near-identical image (within
    ``max_bits``) that was offered for another item or by another person."""
    sha256, phash = checked.get("sha256"), checked.get("phash")
    if not sha256 and not phash:
        return None
    others = or_(Evidence.issue_id != issue_id, Evidence.user_id != user_id) if user_id else Evidence.issue_id != issue_id
    matches = [Evidence.sha256 == sha256] if sha256 else []
    if phash:
        matches.append(Evidence.phash.is_not(None))
    rows = session.execute(
        select(Evidence.id, Evidence.sha256, Evidence.phash).where(others, or_(*matches)).order_by(Evidence.id)
    ).all()
    for row in rows:
        if sha256 and row.sha256 == sha256:
            return session.get(Evidence, row.id)
        if phash and row.phash and hash_distance(phash, row.phash) <= max_bits:
            return session.get(Evidence, row.id)
    return None


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence as the card and the viewer show it."""

    id: int
    change_id: str
    issue_id: int
    kind: str
    stored_path: str | None
    file_id: str | None
    file_name: str | None
    at: dt.datetime
    sender: str | None
    user_id: int | None
    taken_at: dt.datetime | None
    reused_code: str | None  # the item whose evidence this repeats ("" when the same item)
    reused_sender: str | None

    @property
    def suffix(self) -> str:
        if self.stored_path:
            return Path(self.stored_path).suffix.lower()
        return ".jpg" if self.kind == "photo" else ""

    def old_photo(self, days: int) -> bool:
        """Taken ``days`` or more before it was sent."""
        return self.taken_at is not None and self.taken_at < self.at - dt.timedelta(days=days)


def evidence_by_id(session: Session, evidence_id: int) -> Evidence | None:
    """One evidence row (a 查看佐证 button names the first of its change)."""
    return session.get(Evidence, evidence_id)


def evidence_of(session: Session, *, issue_id: int | None = None, change_id: str | None = None) -> list[EvidenceItem]:
    """The evidence of an item or of one change, oldest first."""
    earlier = Evidence.__table__.alias("earlier")
    earlier_issue = Issue.__table__.alias("earlier_issue")
    earlier_user = User.__table__.alias("earlier_user")
    query = (
        select(Evidence, User.name, earlier_issue.c.code, earlier_issue.c.id, earlier_user.c.name)
        .outerjoin(User, Evidence.user_id == User.id)
        .outerjoin(earlier, Evidence.reused_of == earlier.c.id)
        .outerjoin(earlier_issue, earlier.c.issue_id == earlier_issue.c.id)
        .outerjoin(earlier_user, earlier.c.user_id == earlier_user.c.id)
        .order_by(Evidence.at, Evidence.id)
    )
    if issue_id is not None:
        query = query.where(Evidence.issue_id == issue_id)
    if change_id is not None:
        query = query.where(Evidence.change_id == change_id)
    return [
        EvidenceItem(
            e.id, e.change_id, e.issue_id, e.kind, e.stored_path, e.telegram_file_id, e.file_name, e.at,
            sender, e.user_id, e.taken_at,
            (code if reused_issue != e.issue_id else "") if e.reused_of else None, reused_sender,
        )
        for e, sender, code, reused_issue, reused_sender in session.execute(query)
    ]


def referenced_paths(session: Session, evidence_dir: str | Path) -> set[Path]:
    """Every file some evidence row points to, resolved."""
    stored = session.scalars(select(Evidence.stored_path).where(Evidence.stored_path.is_not(None)))
    return {evidence_path(evidence_dir, path).resolve() for path in stored}


def files_under(evidence_dir: str | Path) -> Iterator[Path]:
    """The files under the evidence folder that the bot wrote (YYYY-MM/<uuid hex>.<ext>, or
    such a file's temporary name): a folder configured by mistake as a shared one loses
    nothing else."""
    root = Path(evidence_dir)
    if not root.is_dir():
        return
    for month in root.iterdir():
        if month.is_dir() and _MONTH.match(month.name):
            yield from (path for path in month.iterdir() if path.is_file() and _STORED_NAME.match(path.name))


OWNER_FILE = ".owner"  # which database the folder's files belong to


def remove_orphans(session: Session, evidence_dir: str | Path, older_than: dt.datetime, owner: str) -> int:
    """Delete files under the folder that no row points to and that were written before
    ``older_than`` (younger ones may belong to a question still open); return how many.

    Nothing is deleted when the database is not the folder's own: a database that knows no
    evidence at all (the demo, a new or wrong DATABASE_URL), or one other than the database
    named in the folder's .owner file (written by the first sweep)."""
    referenced = referenced_paths(session, evidence_dir)
    if not referenced or not _owns(Path(evidence_dir), owner):
        return 0
    cutoff = older_than.timestamp()
    removed = 0
    for path in files_under(evidence_dir):
        if path.resolve() in referenced or path.stat().st_mtime >= cutoff:
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _safe_name(code: str) -> str:
    """An item code as part of a file name: no folder separators, no leading dots, nothing a
    file system refuses (ZG/2024/001 → ZG_2024_001, ../../x → x)."""
    return _UNSAFE_IN_NAME.sub("_", code).lstrip("._") or "问题"


_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]|\.\.')


def copy_for_inspection(items: list[tuple[str, EvidenceItem]], evidence_dir: str | Path, out_dir: Path,
                        tz: ZoneInfo) -> tuple[int, list[str]]:
    """Copy each (item code, evidence) as ``<code>_<YYYY-MM-DD>_<n>.<ext>`` into ``out_dir``;
    return (files written, names of those whose stored copy is missing)."""
    written, missing = 0, []
    numbers: dict[tuple[str, dt.date], int] = {}
    for code, item in items:
        day = item.at.astimezone(tz).date()
        number = numbers[(code, day)] = numbers.get((code, day), 0) + 1
        name = f"{_safe_name(code)}_{day.isoformat()}_{number}{item.suffix or '.bin'}"
        source = evidence_path(evidence_dir, item.stored_path) if item.stored_path else None
        if source is None or not source.is_file():
            missing.append(name)
            continue
        shutil.copyfile(source, out_dir / name)
        written += 1
    return written, missing


def _owns(root: Path, owner: str) -> bool:
    """True when ``owner`` (a database, password hidden) is the folder's: the one named in its
    .owner file, or the first to sweep it."""
    marker = root / OWNER_FILE
    try:
        return marker.read_text(encoding="utf-8").strip() == owner
    except FileNotFoundError:
        marker.write_text(owner + "\n", encoding="utf-8")
        return True


def database_owner(url: str) -> str:
    """How a database names itself in the evidence folder's .owner file (no password)."""
    return make_url(url).render_as_string(hide_password=True)


def prune_orphans(database, settings, now: dt.datetime) -> int:
    """Housekeeping: remove evidence files no row points to, once older than the grace
    period (longer than a question stays open, so a question's file is never taken)."""
    hours = max(settings.policy.evidence_orphan_hours, settings.policy.question_valid_hours + 1)
    with database.transaction() as session:
        return remove_orphans(session, settings.storage.evidence_dir, now - dt.timedelta(hours=hours),
                              database_owner(settings.database.url))
