"""Commands on one issue or on one's own last change: card, close out, reopen, undo."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from db.models import Issue
from services.conversation import evidence_flow, pending
from services.conversation.context import CommandContext
from services.conversation.messages import Reply
from services.conversation.turn import (
    actor_from,
    marker_of,
    may_show_household,
    origin_of,
    scope_of,
    villages_of,
)
from services.errors import Forbidden, InvalidInput, NotFound
from services.formatting import change_line, render_issue_card
from services.issues import (
    Target,
    closed_issues_for,
    code_in_text,
    issue_by_code,
    issue_with_place,
    open_issues_for,
    target_of_issue,
    targets_from_parse,
)
from services.queries import issue_history, issue_row
from services.reports import Change, close_issue, reopen_issue, undo_last_change
from services.scope import may_close
from vocab import IssueStatus

if TYPE_CHECKING:
    from nlp.parser import Parse

KIND = "card"


def _place(ctx: CommandContext, issue: Issue) -> str:
    target = target_of_issue(issue)
    if issue.household_id is None:
        return f"{issue.code} {target.place}"
    if may_show_household(ctx, target.township, target.village):
        return f"{issue.code} {target.place} {target.household}"
    return f"{issue.code} {target.place}"


def _changed(ctx: CommandContext, change: Change, *, edit: bool = False) -> Reply:
    issue = change.issue
    line = change_line(_place(ctx, issue), issue.category, change.fields, issue.deadline, ctx.today)
    return Reply(line, edit=edit)


def _visible_issue(ctx: CommandContext, code: str) -> Issue:
    issue = issue_by_code(ctx.session, code)
    target = target_of_issue(issue)
    if not scope_of(ctx).covers_issue(target.township, target.village, issue.category):
        raise Forbidden(f"{issue.code} 不在您的查看范围（{scope_of(ctx).describe()}）内。")
    return issue


def issue_card(ctx: CommandContext, code: str) -> list[Reply]:
    """/status ZG-0001: the issue in full, with its evidence (📎, in private to those who may
    see it) and a 销号 button for those who may close it."""
    ctx.intent = "query_issue"
    issue = _visible_issue(ctx, code)
    row = issue_row(ctx.session, issue.id)
    show = may_show_household(ctx, row.township, row.village)
    evidence = evidence_flow.visible_evidence(ctx, issue.id)
    text = render_issue_card(row, issue_history(ctx.session, issue.id), marker_of(ctx), show_household=show,
                             change_marks=evidence_flow.card_marks(ctx, evidence))
    text = "\n".join([text, *evidence_flow.card_notes(ctx, evidence)])
    buttons = evidence_flow.view_buttons(ctx, evidence)
    if may_close(ctx.user) and issue.status == IssueStatus.RECTIFIED:
        closing = evidence_flow.close_evidence(ctx, issue)
        note = _close_note(ctx, closing, issue)
        text = f"{text}\n{note}" if note else text
        if closing.missing:
            return [Reply(text, buttons=buttons)]
        option = {"do": "close", "issue_id": issue.id, "version": issue.version}
        payload = {"origin": origin_of(ctx, f"/close {issue.code}")}
        reply = pending.ask(ctx, text, KIND, payload, [("销号", option)], cancel=False)
        ctx.outcome = "answered"
        return [replace(reply, buttons=buttons + reply.buttons)]
    return [Reply(text, buttons=buttons)]


def _close_note(ctx: CommandContext, closing: evidence_flow.CloseEvidence, issue: Issue) -> str:
    """What a closer reads about the evidence first (in a group: only that it is missing)."""
    if ctx.in_group and not closing.missing:
        return ""
    return closing.note(issue.code)


def _close_buttons(ctx: CommandContext, closing: evidence_flow.CloseEvidence) -> tuple:
    return () if ctx.in_group else evidence_flow.view_buttons(ctx, closing.items)


def _closed(ctx: CommandContext, change: Change, closing: evidence_flow.CloseEvidence, reason: str,
            *, edit: bool = False) -> Reply:
    """The close-out's result, with what it rests on: its evidence, or the reason without."""
    reply = _changed(ctx, change, edit=edit)
    if closing.items and not ctx.in_group:
        note = f"📎 佐证 {len(closing.items)} 件"
    elif closing.items:
        note = ""
    elif reason:
        note = f"无佐证，理由：{reason}"
    else:
        note = "（这次整改没有佐证材料）"
    text = f"{reply.text}\n{note}" if note else reply.text
    return replace(reply, text=text, buttons=_close_buttons(ctx, closing))


def close_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/close ZG-0001 (or 销号 ZG-0001)."""
    ctx.intent = "close"
    code = code_in_text(args)
    reason = args.replace(code, "", 1).strip() if code else ""
    if code is None:
        code, _, reason = args.strip().partition(" ")
    if not code:
        raise InvalidInput("请写明问题编号，例如：/close ZG-0001")
    if not may_close(ctx.user):
        raise Forbidden("只有督巡办或管理员可以销号。")
    issue = _visible_issue(ctx, code)
    closing = evidence_flow.close_evidence(ctx, issue)
    if closing.missing and not reason.strip() and issue.status == IssueStatus.RECTIFIED:
        ctx.outcome = "unclear"
        return [Reply(closing.note(issue.code))]
    actor = actor_from(ctx, origin_of(ctx, ctx.incoming.text))
    reason = reason.strip() if not closing.items else ""
    change = close_issue(ctx.session, issue, actor=actor, now=ctx.now, reason=reason or None)
    ctx.outcome = "applied"
    return [_closed(ctx, change, closing, reason)]


def reopen_command(ctx: CommandContext, args: str) -> list[Reply]:
    """/reopen ZG-0001 原因."""
    ctx.intent = "reopen"
    parts = args.strip().split(maxsplit=1)
    if not parts:
        raise InvalidInput("请写明编号和原因，例如：/reopen ZG-0001 复查发现仍未解决")
    if not may_close(ctx.user):
        raise Forbidden("只有督巡办或管理员可以重新打开问题。")
    issue = _visible_issue(ctx, parts[0])
    reason = parts[1] if len(parts) > 1 else ""
    change = reopen_issue(
        ctx.session, issue, reason, actor=actor_from(ctx, origin_of(ctx, ctx.incoming.text)), now=ctx.now
    )
    ctx.outcome = "applied"
    reply = _changed(ctx, change)
    return [Reply(f"{reply.text}\n原因：{reason.strip()}")]


REOPEN_REASON = re.compile(r"(?:原因|理由|因为|因)[:：是为]?\s*(.+)$")
NEEDS_REASON = "请说明重新打开的原因，例如：东台村饮水问题重新打开，原因：复查仍无水。"


def ask_close_or_reopen(ctx: CommandContext, parse: Parse, text: str, *, reopen: bool) -> list[Reply]:
    """A supervisor's plain words (东台村饮水问题销号 / …重新打开，原因…): the item, then a question."""
    ctx.intent = "reopen" if reopen else "close"
    targets = targets_from_parse(ctx.session, parse, villages_of(ctx))
    issues = _closable(ctx, targets[0], parse.category, reopen) if targets else []
    if len(issues) != 1:
        what = "已整改或已销号" if reopen else "已整改、可以销号"
        ctx.outcome = "unclear"
        return [Reply(f"没找到唯一一个{what}的问题，请用编号：/{'reopen' if reopen else 'close'} ZG-0001"
                      + (" 原因" if reopen else ""))]
    issue = issues[0]
    reason = ""
    if reopen:
        found = REOPEN_REASON.search(text)
        reason = found.group(1).strip() if found else ""
        if not reason:
            ctx.outcome = "unclear"
            return [Reply(NEEDS_REASON)]
    action = "重新打开" if reopen else "销号"
    question = f"{action}：{_place(ctx, issue)} · {issue.category}（现为{issue.status}）？"
    if reopen:
        question += f"\n原因：{reason}"
    option = {"do": "reopen" if reopen else "close", "issue_id": issue.id, "version": issue.version, "reason": reason}
    payload = {"origin": origin_of(ctx, text)}
    if reopen:
        return [pending.ask(ctx, question, KIND, payload, [(action, option)])]
    closing = evidence_flow.close_evidence(ctx, issue)
    note = _close_note(ctx, closing, issue)
    question = f"{question}\n{note}" if note else question
    if closing.missing:
        ctx.outcome = "unclear"
        return [Reply(question)]
    reply = pending.ask(ctx, question, KIND, payload, [(action, option)])
    return [replace(reply, buttons=_close_buttons(ctx, closing) + reply.buttons)]


def _closable(ctx: CommandContext, target: Target, category: str | None, reopen: bool) -> list[Issue]:
    """The target's items that can be closed out (已整改), or reopened (已整改 or 已销号)."""
    rectified = [i for i in open_issues_for(ctx.session, target, category) if i.status == IssueStatus.RECTIFIED]
    return rectified + closed_issues_for(ctx.session, target, category) if reopen else rectified


def undo_command(ctx: CommandContext, args: str = "") -> list[Reply]:
    """/undo or 撤销: revert one's own last change within the undo window."""
    ctx.intent = "undo"
    change = undo_last_change(
        ctx.session,
        actor=actor_from(ctx, origin_of(ctx, ctx.incoming.text or "/undo")),
        now=ctx.now,
        undo_minutes=ctx.settings.policy.undo_minutes,
    )
    ctx.outcome = "applied"
    issue = change.issue
    line = change_line(_place(ctx, issue), issue.category, change.fields, issue.deadline, ctx.today, mark="↩️")
    return [Reply(f"已撤销：{line.removeprefix('↩️ ')}")]


def on_answer(ctx: CommandContext, payload: dict[str, Any], option: dict[str, Any]) -> list[Reply]:
    """The 销号 button on an issue card, or 销号 / 重新打开 asked after a supervisor's words."""
    action = option.get("do")
    if action == "cancel":
        ctx.outcome = "cancelled"
        return [Reply("已取消，未修改台账。", edit=True)]
    ctx.intent = "reopen" if action == "reopen" else "close"
    if action not in ("close", "reopen"):
        raise NotFound("这个按钮已失效。")
    issue = issue_with_place(ctx.session, int(option["issue_id"]))
    if issue is None:
        raise NotFound("这个问题已不在台账里。")
    if issue.version != option.get("version"):
        raise InvalidInput(f"{issue.code} 在此期间已被修改，请重新查看（/status {issue.code}）。")
    origin = payload.get("origin") or origin_of(ctx, f"/close {issue.code}")
    if action == "reopen":
        change = reopen_issue(ctx.session, issue, option.get("reason") or "", actor=actor_from(ctx, origin), now=ctx.now)
        ctx.outcome = "applied"
        return [_changed(ctx, change, edit=True)]
    closing = evidence_flow.close_evidence(ctx, issue)
    if closing.missing and issue.status == IssueStatus.RECTIFIED:
        ctx.outcome = "unclear"
        return [Reply(closing.note(issue.code))]
    change = close_issue(ctx.session, issue, actor=actor_from(ctx, origin), now=ctx.now)
    ctx.outcome = "applied"
    return [_closed(ctx, change, closing, "", edit=True)]
