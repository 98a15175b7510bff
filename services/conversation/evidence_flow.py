"""佐证材料 in the conversation: keeping a report's file, saying what became of it, showing it
on an item's card and sending it back to those who may see it.

Who sees evidence: supervisors, admins and leaders, and the person who sent it, in a private
chat. Groups never get a file, a count or a button (services/disclosure.py).
A file is checked and written when the report arrives (its bytes are not carried through
questions); if the turn ends without a row pointing to it (refused, cancelled, nothing to
attach it to), it is removed at once, and the reply says 佐证未保存. Files of questions left
unanswered are removed by housekeeping (handlers/housekeeping.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from db.models import Issue
from services.conversation.context import CommandContext
from services.conversation.messages import Button, OutgoingFile, Reply
from services.conversation.turn import marker_of, scope_of
from services.errors import Forbidden, NotFound
from services.evidence import (
    EvidenceItem,
    NotEvidence,
    check_file,
    evidence_by_id,
    evidence_of,
    evidence_path,
    find_reused,
    remove_file,
    store_file,
)
from services.issue_events import latest_change_id
from services.issues import issue_with_place, target_of_issue
from services.reports import link_evidence
from vocab import IssueStatus

VIEW_PREFIX = "ev"
VIEWERS = ("supervisor", "admin", "leader")
CARD_BUTTONS = 4  # evidence buttons on one card, newest changes first
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # sendPhoto's limit; larger images go back as documents
SAVED = "📎 佐证材料已保存。"
ATTACHED_TO_EARLIER = "📎 佐证已附到原记录。"
NOT_SAVED = "📎 佐证未保存。"
NOT_KEPT = "（照片只在报告进展时作为佐证保存，这次未保存。）"
_VIEW_DATA = re.compile(rf"^{VIEW_PREFIX}:(\d+)$")


# -- keeping the file --------------------------------------------------------------------


def stash(ctx: CommandContext) -> dict[str, Any] | None:
    """Check the attached file and write it now; what a draft carries (or the refusal)."""
    attachment = ctx.incoming.attachment
    if attachment is None:
        return None
    try:
        checked = check_file(attachment.data, ctx.settings.county.tz)
    except NotEvidence as refusal:
        return {"refused": str(refusal)}
    path = store_file(ctx.settings.storage.evidence_dir, attachment.data, checked, ctx.now)
    ctx.evidence_files.append(path)
    return {
        "kind": attachment.kind, "file_id": attachment.file_id, "file_name": attachment.file_name, "path": path,
        "sha256": checked.sha256, "phash": checked.phash,
        "taken_at": checked.taken_at.isoformat() if checked.taken_at else None,
    }


def in_play(ctx: CommandContext, evidence: dict[str, Any] | None) -> None:
    """A draft's file from an earlier turn's question: this turn links it, or (when the
    question ends without a change) removes it."""
    if evidence and evidence.get("path") and evidence["path"] not in ctx.evidence_carried:
        ctx.evidence_carried.append(evidence["path"])


def link(ctx: CommandContext, evidence: dict[str, Any] | None, change_id: str, issue: Issue,
         *, earlier: bool = False) -> str:
    """Tie the kept file to the change (``earlier``: to a change recorded before, the report
    being a repeat); return the lines the reply gets."""
    if not evidence:
        return ""
    ctx.evidence_settled = True
    if evidence.get("refused"):
        return "\n" + evidence["refused"]
    taken_at = dt.datetime.fromisoformat(evidence["taken_at"]) if evidence.get("taken_at") else None
    reused = find_reused(ctx.session, evidence, issue_id=issue.id, user_id=ctx.user.id,
                         max_bits=ctx.settings.policy.evidence_similar_bits)
    link_evidence(
        ctx.session, change_id=change_id, issue_id=issue.id, kind=evidence["kind"],
        file_id=evidence.get("file_id"), stored_path=evidence.get("path"), file_name=evidence.get("file_name"),
        now=ctx.now, user_id=ctx.user.id, sha256=evidence.get("sha256"), phash=evidence.get("phash"),
        taken_at=taken_at, reused_of=reused.id if reused else None,
    )
    for files in (ctx.evidence_files, ctx.evidence_carried):
        if evidence.get("path") in files:
            files.remove(evidence["path"])
    lines = [ATTACHED_TO_EARLIER if earlier else SAVED]
    if reused is not None:
        if reused.issue_id != issue.id:
            lines.append("⚠️ 这张照片与其他问题的佐证相同或几乎相同，已标注，督巡办可见。")
        else:
            lines.append("⚠️ 这张照片别人已提交过，已标注，督巡办可见。")
    days = ctx.settings.policy.evidence_old_days
    if taken_at is not None and taken_at < ctx.now - dt.timedelta(days=days):
        lines.append(f"📷 照片拍摄于 {taken_at.date().isoformat()}，早于报告 {days} 天以上，已标注。")
    return "\n" + "\n".join(lines)


def settle(ctx: CommandContext, replies: list[Reply]) -> list[Reply]:
    """After a turn: remove files no row points to, and make sure the reply says what
    became of the attachment (a question asked keeps its file for the answer)."""
    if ctx.outcome == "asked":
        return replies  # the question carries the file (or the refusal) to its answer
    note = ""
    if ctx.evidence_files or ctx.evidence_carried:
        discard(ctx)
        for path in ctx.evidence_carried:
            remove_file(ctx.settings.storage.evidence_dir, path)
        ctx.evidence_carried.clear()
        note = NOT_SAVED
    elif ctx.incoming.attachment is not None and not ctx.evidence_settled and ctx.intent != "empty":
        note = NOT_KEPT
    if not note or not replies:
        return replies
    last = replies[-1]
    return [*replies[:-1], replace(last, text=f"{last.text}\n{note}")]


def discard(ctx: CommandContext) -> None:
    """Remove the files this turn wrote (an earlier question's file stays with its question,
    which a refused answer leaves open)."""
    for path in ctx.evidence_files:
        remove_file(ctx.settings.storage.evidence_dir, path)
    ctx.evidence_files.clear()


def refused(ctx: CommandContext, replies: list[Reply]) -> list[Reply]:
    """A refused turn: its files are removed, and the refusal says so."""
    had_file = ctx.incoming.attachment is not None
    discard(ctx)
    if not had_file or not replies:
        return replies
    last = replies[-1]
    return [*replies[:-1], replace(last, text=f"{last.text}\n{NOT_SAVED}")]


# -- who sees it -----------------------------------------------------------------------


def may_see(ctx: CommandContext, item: EvidenceItem) -> bool:
    """Supervisors, admins and leaders, and the sender; in private only."""
    if ctx.in_group or not ctx.user.active:
        return False
    return ctx.user.role in VIEWERS or (item.user_id is not None and item.user_id == ctx.user.id)


def visible_evidence(ctx: CommandContext, issue_id: int, change_id: str | None = None) -> list[EvidenceItem]:
    """The item's (or one change's) evidence this viewer may see, oldest first."""
    if ctx.in_group:
        return []
    return [item for item in evidence_of(ctx.session, issue_id=issue_id, change_id=change_id) if may_see(ctx, item)]


def by_change(items: list[EvidenceItem]) -> dict[str, list[EvidenceItem]]:
    """Evidence grouped by the change it supports, oldest change first."""
    grouped: dict[str, list[EvidenceItem]] = {}
    for item in items:
        grouped.setdefault(item.change_id, []).append(item)
    return grouped


def _flags(ctx: CommandContext, items: list[EvidenceItem]) -> str:
    marks = ""
    if any(item.reused_code is not None for item in items):
        marks += "⚠️"
    if any(item.old_photo(ctx.settings.policy.evidence_old_days) for item in items):
        marks += "📷"
    return marks


def card_marks(ctx: CommandContext, items: list[EvidenceItem]) -> dict[str, str]:
    """Change id -> "📎2⚠️" for the history lines of a card."""
    return {change_id: f"📎{len(group)}{_flags(ctx, group)}" for change_id, group in by_change(items).items()}


def card_notes(ctx: CommandContext, items: list[EvidenceItem]) -> list[str]:
    """The card's lines about evidence: how many, and each one that is flagged."""
    if not items:
        return []
    marker = marker_of(ctx)
    lines = [f"佐证 {len(items)} 件（📎）"]
    for item in items:
        when = marker.moment(item.at)
        if item.reused_code is not None:
            if ctx.user.role in VIEWERS:  # the supervisor sees where else it was used, and by whom
                where = f"{item.reused_code} 的佐证" if item.reused_code else f"{item.reused_sender or '他人'}此前提交的佐证"
            else:  # the reporter: no other cadre's name, no item outside their scope
                where = "别处的佐证"
            lines.append(f"⚠️ {when} 的佐证与{where}相同或几乎相同")
        if item.old_photo(ctx.settings.policy.evidence_old_days):
            lines.append(f"📷 {when} 的照片拍摄于 {_taken_day(ctx, item)}")
    return lines


def _taken_day(ctx: CommandContext, item: EvidenceItem) -> str:
    """The capture date as the camera's clock read it (kept in UTC, read in the county)."""
    return item.taken_at.astimezone(ctx.settings.county.tz).date().isoformat()


def view_buttons(ctx: CommandContext, items: list[EvidenceItem]) -> tuple[tuple[Button, ...], ...]:
    """One "📎 查看佐证（N）" button per change with evidence, newest first."""
    marker = marker_of(ctx)
    groups = list(by_change(items).values())[::-1][:CARD_BUTTONS]
    return tuple(
        (Button(f"📎 查看佐证（{len(group)}）· {marker.moment(group[0].at)}", f"{VIEW_PREFIX}:{group[0].id}"),)
        for group in groups
    )


def is_view_data(data: str) -> bool:
    """True for the data of a 查看佐证 button."""
    return data.startswith(f"{VIEW_PREFIX}:")


def on_view(ctx: CommandContext, data: str) -> list[Reply]:
    """查看佐证: the change's files, sent back in this private chat (rights checked again)."""
    ctx.intent = "evidence"
    match = _VIEW_DATA.match(data)
    first = evidence_by_id(ctx.session, int(match.group(1))) if match else None
    if first is None:
        raise NotFound("这个按钮已失效，请重新查看问题卡片。")
    if ctx.in_group:
        raise Forbidden("佐证材料只在私聊中查看。")
    issue = issue_with_place(ctx.session, first.issue_id)
    target = target_of_issue(issue)
    if not scope_of(ctx).covers_issue(target.township, target.village, issue.category):
        raise Forbidden(f"{issue.code} 不在您的查看范围（{scope_of(ctx).describe()}）内。")
    items = visible_evidence(ctx, issue.id, first.change_id)
    if not items:
        raise Forbidden("佐证材料只有督巡办、管理员、县领导和报告人可以查看。")
    ctx.outcome = "answered"
    return [Reply(_view_header(ctx, issue, items))] + [
        _file_reply(ctx, issue, item, number, len(items)) for number, item in enumerate(items, 1)
    ]


def _view_header(ctx: CommandContext, issue: Issue, items: list[EvidenceItem]) -> str:
    first = items[0]
    who = f" {first.sender}" if first.sender else ""
    return f"{issue.code} · {marker_of(ctx).moment(first.at)}{who} 的佐证 {len(items)} 件："


def _file_reply(ctx: CommandContext, issue: Issue, item: EvidenceItem, number: int, total: int) -> Reply:
    caption = f"{issue.code} 佐证 {number}/{total}"
    if item.reused_code is not None:
        caption += f" ⚠️与{item.reused_code or '他人此前提交'}的佐证相同"
    if item.old_photo(ctx.settings.policy.evidence_old_days):
        caption += f" 📷拍摄于 {_taken_day(ctx, item)}"
    path = evidence_path(ctx.settings.storage.evidence_dir, item.stored_path) if item.stored_path else None
    if path is not None and path.is_file():
        size = path.stat().st_size
        kind = "photo" if item.suffix in (".jpg", ".png", ".webp") and size <= PHOTO_MAX_BYTES else "document"
        name = f"{issue.code}_{number}{item.suffix}"
        return Reply(caption, file=OutgoingFile(kind, name, path=str(Path(path).resolve())))
    if item.file_id:
        return Reply(caption, file=OutgoingFile(item.kind, item.file_name or f"{issue.code}_{number}",
                                                file_id=item.file_id))
    return Reply(f"{caption}：文件已丢失。")


# -- at 销号 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseEvidence:
    """The evidence of the change being closed out, and what the category's policy asks."""

    items: list[EvidenceItem]
    required: bool  # the category's 销号 needs evidence (or a written reason)
    category: str
    flagged: bool = False  # some of it is marked ⚠️ (reused) or 📷 (taken long before)

    @property
    def missing(self) -> bool:
        return self.required and not self.items

    def note(self, code: str) -> str:
        """What the supervisor reads before closing out."""
        if self.items:
            first = self.items[0]
            who = f"{first.sender} " if first.sender else ""
            flagged = "，其中有标注，请核对" if self.flagged else ""
            return f"📎 这次整改有佐证 {len(self.items)} 件（{who}提交{flagged}），销号前请查看。"
        if self.required:
            return (f"⚠️ 这次整改没有佐证材料（{self.category}类销号须有佐证）。"
                    f"如确需销号，请写明理由：/close {code} 理由")
        return "（这次整改没有佐证材料）"


def close_evidence(ctx: CommandContext, issue: Issue) -> CloseEvidence:
    """The evidence of the change that made the item 已整改."""
    change_id = latest_change_id(ctx.session, issue.id, field="status", new_value=IssueStatus.RECTIFIED.value)
    items = evidence_of(ctx.session, issue_id=issue.id, change_id=change_id) if change_id else []
    required = issue.category in ctx.settings.policy.evidence_required
    return CloseEvidence(items, required, issue.category, bool(_flags(ctx, items)))
