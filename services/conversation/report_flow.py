"""Reports and new issues: parse -> the issue meant, within the sender's scope -> apply or ask.

The engine asks (inline buttons, a PendingAction per question) whenever it is not sure:
the parser wants confirmation, several places or issues fit, the category is missing, or
no issue fits (then it offers to record a new one). A confident report that fits exactly
one issue is applied at once. Every answer re-checks the sender's rights.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from db.models import Issue
from services.conversation import evidence_flow, pending
from services.conversation.context import CommandContext
from services.conversation.messages import Reply
from services.conversation.turn import (
    actor_from,
    answering_button,
    may_show_household,
    origin_of,
    scope_of,
    target_label,
    villages_of,
)
from services.errors import Forbidden, NotFound
from services.formatting import change_line, short_date
from services.issue_events import latest_change_id
from services.issues import (
    Target,
    closed_issues_for,
    issue_with_place,
    open_issues_for,
    target_of_issue,
    targets_from_parse,
)
from services.reports import (
    PARSE_FROM_STATUS,
    STATUS_FROM_PARSE,
    Change,
    apply_report,
    record_issue,
)
from services.reading_examples import keep_reading_example
from services.scope import WRITING_ROLES, may_close, may_write, write_refusal
from vocab import CATEGORIES, IssueStatus

if TYPE_CHECKING:
    from nlp.parser import Parse

KIND = "report"
ORDER_NOTED = "这是一条要求，台账状态不变。"
JUST_INFO = "好的，只是说明情况，未修改台账。"
STATUS_CHOICES = (("已整改", IssueStatus.RECTIFIED.value), ("整改中", IssueStatus.IN_PROGRESS.value),
                  ("还没解决", IssueStatus.OPEN.value))
UNKNOWN_PLACE = "没看出是哪个村或哪一户（台账里没找到）。请写明村名，例如：东台村饮水问题已解决。"


@dataclass(frozen=True)
class Draft:
    """What the sender wants written, carried through questions as JSON."""

    intent: str  # report | new_issue
    category: str | None
    status: str | None  # ledger word: 未整改 / 整改中 / 已整改
    deadline: str | None  # ISO date
    confirmed: bool  # the sender has settled every doubt the parser had
    origin: dict[str, Any]
    evidence: dict[str, Any] | None = None
    reading: dict[str, Any] | None = None  # what the parser read, kept to learn from the answer
    reasons: tuple[str, ...] = ()  # why the parser asks, shown with the question
    problem: str = ""  # the problem phrase: a new item's description (never the whole message)
    status_guessed: bool = False  # the rules read no status; it is the statistical reader's guess
    order: bool = False  # an order or request: never changes the status
    category_choices: tuple[str, ...] = ()  # a new item's category is in doubt: offered first

    @property
    def deadline_date(self) -> dt.date | None:
        return dt.date.fromisoformat(self.deadline) if self.deadline else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        data = dict(data)
        data["reasons"] = tuple(data.get("reasons") or ())
        data["category_choices"] = tuple(data.get("category_choices") or ())
        return cls(**data)


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)).isoformat()


def _status_word(parse_status: str | None) -> str | None:
    status = STATUS_FROM_PARSE.get(parse_status) if parse_status else None
    return status.value if status else None


def draft_from_parse(ctx: CommandContext, parse: Parse, text: str) -> Draft:
    """What the parse says should be written, before any question. A new item whose category
    is in doubt gets no category: the sender picks it, the likely ones offered first."""
    order = "order" in parse.flags
    choices = parse.category_choices
    doubted = parse.intent == "new_issue" and (len(choices) > 1 or not parse.category and bool(choices))
    return Draft(
        intent=parse.intent,
        category=None if doubted else parse.category,
        category_choices=choices if doubted else (),
        status=None if order else _status_word(parse.status or parse.offered_status),
        deadline=_iso(parse.deadline),
        confirmed=not parse.needs_confirmation,
        origin=origin_of(ctx, text),
        reading=_reading_of(parse),
        reasons=tuple(dict.fromkeys(parse.reasons)),
        order=order,
        status_guessed="reader_status" in parse.flags,
        problem=parse.problem,
    )


def _reading_of(parse: Parse) -> dict[str, Any]:
    return {
        "intent": parse.intent, "status": parse.status, "category": parse.category,
        "township": parse.township, "village": parse.village, "household": parse.household,
        "flags": sorted(parse.flags),
    }


def handle_report(ctx: CommandContext, parse: Parse, text: str) -> list[Reply]:
    """A report or a new issue from a message (or a photo's caption)."""
    ctx.intent = parse.intent
    flags = parse.flags
    if {"close", "reopen"} & flags and may_close(ctx.user) and not parse.facts:
        from services.conversation.issue_commands import ask_close_or_reopen

        return ask_close_or_reopen(ctx, parse, text, reopen="reopen" in flags)
    draft = draft_from_parse(ctx, parse, text)
    if ctx.incoming.forwarded_from:
        relayed = f"转述 {ctx.incoming.forwarded_from} 的报告？"
        draft = replace(draft, confirmed=False, reasons=(relayed, *draft.reasons))
    ordering = draft.order and bool(draft.deadline) and may_close(ctx.user)
    if ctx.user.role not in WRITING_ROLES and not ordering:
        raise Forbidden(write_refusal(ctx.user))
    if parse.facts:
        return [_ask_facts(ctx, parse, text)]
    if draft.order and not ordering:
        ctx.outcome = "order"
        return [Reply(ORDER_NOTED)]
    targets = targets_from_parse(ctx.session, parse, villages_of(ctx))
    if not targets:
        ctx.outcome = "unclear"
        return [Reply(UNKNOWN_PLACE)]
    writable = [t for t in targets if _may_write_at(ctx, t, draft.category, draft.order)]
    if not writable:
        raise Forbidden(write_refusal(ctx.user))
    draft = replace(draft, evidence=evidence_flow.stash(ctx))
    if len(writable) > 1:
        return [_ask_target(ctx, draft, writable)]
    return continue_with_target(ctx, draft, writable[0])


def _may_write_at(ctx: CommandContext, target: Target, category: str | None, order: bool = False) -> bool:
    if order and may_close(ctx.user):
        return True  # a supervisor's dated order: the deadline, county-wide
    if category:
        return may_write(ctx.user, target.township, target.village, category)
    scope = scope_of(ctx)
    return scope.covers_place(target.township, target.village) or bool(scope.categories)


def _payload(draft: Draft, target: Target | None) -> dict[str, Any]:
    return {"draft": draft.to_json(), "target": target.to_json() if target else None}


def _ask_target(ctx: CommandContext, draft: Draft, targets: list[Target]) -> Reply:
    options = [(target_label(ctx, t), {"do": "target", "target": t.to_json()}) for t in targets[:8]]
    return pending.ask(ctx, "您说的是哪一个？", KIND, _payload(draft, None), options)


def continue_with_target(ctx: CommandContext, draft: Draft, target: Target) -> list[Reply]:
    """The place is settled: find the issue(s) meant and apply, ask, or offer a new issue."""
    if draft.intent == "new_issue" and not draft.category:
        return [offer_new(ctx, draft, target)]  # "a new problem" never means an existing one
    issues = [
        issue for issue in open_issues_for(ctx.session, target, draft.category)
        if _may_write_at(ctx, target, issue.category, draft.order)
    ]
    if not issues:
        return _no_match(ctx, draft, target)
    if draft.intent == "new_issue":
        # The sender speaks of a new problem, yet the ledger has one like it: never merge
        # the two without asking.
        what = f"{draft.category}问题" if draft.category else "问题"
        header = f"{target_label(ctx, target)}已有未销号的{what}，是同一个问题吗？"
        return [_ask_issue(ctx, draft, target, issues, header=header)]
    if len(issues) > 1:
        return [_ask_issue(ctx, draft, target, issues)]
    issue = issues[0]
    if (draft.intent == "report" and (draft.status is None or draft.status_guessed)
            and not draft.deadline and not draft.order):
        return [_ask_status(ctx, draft, target, issue)]
    # A village named without a household, meeting only a household's issue, is a guess.
    guessed_household = target.household_id is None and issue.household_id is not None
    # Pushing a rectification deadline later is how problems get "covered up": never
    # apply it from one message without the sender seeing old and new dates first.
    extends_deadline = bool(
        draft.deadline_date and issue.deadline and draft.deadline_date > issue.deadline
    )
    # Undoing progress (整改中/已整改 back to 未整改) is as consequential as a close-out
    # and easy to misread ("明天停水" is a notice, not a relapse): the sender confirms it.
    sets_back = draft.status == IssueStatus.OPEN and issue.status != IssueStatus.OPEN
    if not draft.confirmed or not draft.category or guessed_household or extends_deadline or sets_back:
        return [_ask_confirm(ctx, draft, target, issue)]
    return apply(ctx, draft, issue.id, None, loaded=issue)


def _issue_option_label(ctx: CommandContext, issue: Issue) -> str:
    target = target_of_issue(issue)
    if issue.household_id is not None and not may_show_household(ctx, target.township, target.village):
        return f"{issue.code} {issue.category}（户级问题）"
    return f"{issue.code} {issue.category} {issue.description[:14]}"


def _ask_issue(
    ctx: CommandContext, draft: Draft, target: Target, issues: list[Issue], *, header: str | None = None
) -> Reply:
    what = f"{draft.category}问题" if draft.category else "未销号问题"
    lines = [header or f"{target_label(ctx, target)}有 {len(issues)} 个{what}，您说的是哪一个？"]
    lines += [f"· {_issue_option_label(ctx, issue)} · {issue.status}" for issue in issues[:10]]
    options = [
        (_issue_option_label(ctx, issue), {"do": "apply", "issue_id": issue.id, "version": issue.version})
        for issue in issues[:10]
    ]
    if draft.intent == "new_issue" or (draft.category and draft.status != IssueStatus.RECTIFIED):
        options.append(("都不是，登记为新问题", {"do": "new_offer"}))
    return pending.ask(ctx, "\n".join(lines), KIND, _payload(draft, target), options)


def _preview(ctx: CommandContext, draft: Draft, issue: Issue) -> str:
    fields: list[tuple[str, str | None, str | None]] = []
    if draft.status and draft.status != issue.status:
        fields.append(("status", issue.status, draft.status))
    if draft.deadline and draft.deadline_date != issue.deadline:
        fields.append(("deadline", issue.deadline.isoformat() if issue.deadline else None, draft.deadline))
    if not fields:
        return f"{_issue_place(ctx, issue)} · {issue.category}：保持{issue.status}"
    line = change_line(_issue_place(ctx, issue), issue.category, fields, issue.deadline, ctx.today, mark="")
    return line.strip()


def _ask_confirm(ctx: CommandContext, draft: Draft, target: Target, issue: Issue) -> Reply:
    why = f"{draft.reasons[0]}。" if draft.reasons else ""
    text = f"{why}请确认：{_preview(ctx, draft, issue)}（{issue.code} {_issue_description(ctx, issue)}）"
    options = [("确认", {"do": "apply", "issue_id": issue.id, "version": issue.version})]
    return pending.ask(ctx, text, KIND, _payload(draft, target), options)


def _ask_status(ctx: CommandContext, draft: Draft, target: Target, issue: Issue) -> Reply:
    """Never a dead end: the place and problem are clear, the status is not."""
    why = f"{draft.reasons[0]}。" if draft.reasons else ""
    text = (f"{why}{_issue_place(ctx, issue)} · {issue.category}（{issue.code} {_issue_description(ctx, issue)}，"
            f"现为{issue.status}）：您说的是？")
    # the statistical reader's guess, if any, first
    choices = sorted(STATUS_CHOICES, key=lambda choice: choice[1] != draft.status)
    options = [(label, {"do": "apply_status", "status": status, "issue_id": issue.id, "version": issue.version})
               for label, status in choices]
    options.append(("只是说明情况", {"do": "just_info"}))
    return pending.ask(ctx, text, KIND, _payload(draft, target), options, columns=2)


def _ask_facts(ctx: CommandContext, parse: Parse, text: str) -> Reply:
    """Several facts in one message: one question that lists each; confirm all or one."""
    items: list[dict[str, Any]] = []
    lines = [f"这条消息里有 {len(parse.facts)} 件事："]
    for number, fact in enumerate(parse.facts, 1):
        draft = replace(draft_from_parse(ctx, fact, text), reasons=())
        targets = [t for t in targets_from_parse(ctx.session, fact, villages_of(ctx))
                   if _may_write_at(ctx, t, draft.category)]
        target = targets[0] if len(targets) == 1 else None
        lines.append(f"{number}. {_fact_line(ctx, draft, target, fact)}")
        items.append({"draft": draft.to_json(), "target": target.to_json() if target else None})
    lines.append("全部确认，还是只记其中一件？")
    options = [("全部确认", {"do": "facts_all"})]
    options += [(f"只记第{n}件", {"do": "facts_one", "n": n - 1}) for n in range(1, len(items) + 1)]
    payload = {"draft": items[0]["draft"], "target": items[0]["target"], "facts": items}
    return pending.ask(ctx, "\n".join(lines), KIND, payload, options, columns=2)


def _fact_line(ctx: CommandContext, draft: Draft, target: Target | None, fact: Parse) -> str:
    what = draft.category or "问题"
    if target is None:
        where = fact.village or fact.household or "地方不明"
        return f"{where} · {what}（没找到唯一的村或户，确认后再问）"
    change = f" → {draft.status}" if draft.status else ""
    if draft.intent == "new_issue":
        change = f"：新问题，{draft.status or IssueStatus.OPEN.value}"
    return f"{target_label(ctx, target)} · {what}{change}"


def _confirm_facts(ctx: CommandContext, payload: dict[str, Any], chosen: list[int]) -> list[Reply]:
    """The chosen facts, each through the one-fact flow (applied, or asked about further)."""
    replies: list[Reply] = []
    for index in chosen:
        item = payload["facts"][index]
        draft = replace(Draft.from_json(item["draft"]), confirmed=True)
        if item["target"] is None:
            replies.append(Reply(f"第{index + 1}件没找到唯一的村或户，请单独发送。"))
            continue
        replies += continue_with_target(ctx, draft, Target.from_json(item["target"]))
    return [replace(reply, edit=False) for reply in replies] if len(replies) > 1 else replies


def record_example(ctx: CommandContext, draft: Draft, choice: str, *, issue: Issue | None = None,
                   final: dict[str, Any] | None = None) -> None:
    """Keep the person's answer to a reading as a labelled example (scoped like the issue)."""
    if draft.reading is None:
        return
    target = target_of_issue(issue) if issue is not None else None
    keep_reading_example(
        ctx.session, at=ctx.now, user_id=ctx.user.id, text=str(draft.origin.get("text") or ""),
        reading=draft.reading, final=final or {"intent": "none"}, choice=choice,
        issue_id=issue.id if issue is not None else None,
        township=target.township if target else draft.reading.get("township"),
        village=target.village if target else draft.reading.get("village"),
    )


def _final_of(draft: Draft, issue: Issue) -> dict[str, Any]:
    return {"intent": draft.intent, "status": PARSE_FROM_STATUS.get(draft.status) if draft.status else None,
            "category": issue.category, "issue": issue.code}


def _learned(ctx: CommandContext, draft: Draft, issue: Issue) -> None:
    final = _final_of(draft, issue)
    reading = draft.reading or {}
    same = (reading.get("status"), reading.get("category")) == (final["status"], final["category"])
    record_example(ctx, draft, "confirmed" if same else "corrected", issue=issue, final=final)


def _issue_description(ctx: CommandContext, issue: Issue) -> str:
    target = target_of_issue(issue)
    if issue.household_id is not None and not may_show_household(ctx, target.township, target.village):
        return "户级问题"
    return issue.description[:20]


def _issue_place(ctx: CommandContext, issue: Issue) -> str:
    """东光镇东台村 for a village issue; with the head's name (or the code) for a household's."""
    target = target_of_issue(issue)
    if issue.household_id is None:
        return target.place
    if may_show_household(ctx, target.township, target.village):
        return f"{target.place} {target.household}"
    return f"{target.place} {issue.code}"


def apply(
    ctx: CommandContext, draft: Draft, issue_id: int, version: int | None, *, loaded: Issue | None = None
) -> list[Reply]:
    """Apply the draft to one issue and say exactly what changed (``loaded``: the issue,
    already read in this turn with its place, so it is not read again)."""
    issue = loaded if loaded is not None else issue_with_place(ctx.session, issue_id)
    if issue is None:
        raise NotFound("这个问题已不在台账里。")
    status = draft.status
    if status is None and draft.deadline is None and draft.intent == "new_issue":
        status = IssueStatus.OPEN.value
    change = apply_report(
        ctx.session, issue,
        status=status,
        deadline=draft.deadline_date,
        actor=actor_from(ctx, draft.origin),
        now=ctx.now,
        duplicate_window_minutes=ctx.settings.policy.duplicate_window_minutes,
        expected_version=version,
    )
    place = _issue_place(ctx, issue)
    edit = answering_button(ctx)
    if change.duplicate:
        ctx.outcome = "duplicate"
        who = f"（{change.previous_actor} 已报告）" if change.previous_actor else ""
        note = evidence_flow.link(ctx, draft.evidence, change.change_id, issue, earlier=True)
        return [Reply(f"已记录过：{place} · {issue.category}{who}，未重复修改。{note}", edit=edit)]
    evidence_note = _link_evidence(ctx, draft, change)
    if not change.changed:
        ctx.outcome = "unchanged"
        if draft.intent == "new_issue":
            text = f"{place}已有未销号的{issue.category}问题 {issue.code}（{issue.status}），未重复登记。"
        else:
            text = f"{place} · {issue.category} 已是{issue.status}，未修改。"
        return [Reply(text + evidence_note, edit=edit)]
    ctx.outcome = "applied"
    if edit:
        _learned(ctx, draft, issue)
    line = change_line(place, issue.category, change.fields, issue.deadline, ctx.today)
    return [Reply(line + evidence_note, edit=edit)]


def _link_evidence(ctx: CommandContext, draft: Draft, change: Change) -> str:
    """Link the kept file to the change (or, when nothing changed, to the issue's latest
    change, which the photo supports); return a note for the reply."""
    if not draft.evidence:
        return ""
    change_id = change.change_id or latest_change_id(ctx.session, change.issue.id) or ""
    return evidence_flow.link(ctx, draft.evidence, change_id, change.issue, earlier=not change.change_id)


def _no_match(ctx: CommandContext, draft: Draft, target: Target) -> list[Reply]:
    closed = closed_issues_for(ctx.session, target, draft.category)
    note = f"（{closed[-1].code} 已销号）" if closed else ""
    what = f"{draft.category}问题" if draft.category else "问题"
    prefix = f"{target_label(ctx, target)}没有未销号的{what}{note}"
    resolved = draft.status == IssueStatus.RECTIFIED
    if resolved or (draft.intent == "report" and draft.status is None):
        ctx.outcome = "no_match"
        return [Reply(f"{prefix}，未修改。", edit=answering_button(ctx))]
    return [offer_new(ctx, draft, target, prefix=prefix + "。")]


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=month_calendar.monthrange(day.year, day.month)[1])


def offer_new(ctx: CommandContext, draft: Draft, target: Target, *, prefix: str = "") -> Reply:
    """Offer to record a new issue, asking first for what is missing (category, deadline)."""
    status = draft.status or IssueStatus.OPEN.value
    label = target_label(ctx, target)
    lead = f"{prefix}\n" if prefix else ""
    payload = _payload(replace(draft, confirmed=True), target)
    if not draft.category:
        likely = [c for c in draft.category_choices if c in CATEGORIES]
        ordered = [*likely, *(c for c in CATEGORIES if c not in likely)]
        if len(likely) > 1 and not prefix:
            lead = f"类别拿不准：{'还是'.join(likely[:2])}？\n"
        options = [(category, {"do": "new_cat", "category": category}) for category in ordered]
        return pending.ask(ctx, f"{lead}要登记为新问题吗？请选类别：", KIND, payload, options, columns=2)
    summary = f"登记新问题：{label} · {draft.category} · {status}"
    if not draft.deadline:
        today = ctx.today
        choices = [
            ("一周内", today + dt.timedelta(days=7)),
            ("两周内", today + dt.timedelta(days=14)),
            ("月底前", _month_end(today)),
            ("暂不设期限", None),
        ]
        options = [(name, {"do": "new", "deadline": _iso(day)}) for name, day in choices]
        return pending.ask(ctx, f"{lead}{summary}\n整改期限？", KIND, payload, options, columns=2)
    text = f"{lead}{summary} · 期限 {short_date(draft.deadline_date, ctx.today)}？"
    return pending.ask(ctx, text, KIND, payload, [("登记", {"do": "new", "deadline": draft.deadline})])


def record(ctx: CommandContext, draft: Draft, target: Target) -> list[Reply]:
    """Record the new issue the sender confirmed."""
    new_statuses = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)
    status = draft.status if draft.status in new_statuses else IssueStatus.OPEN.value
    change = record_issue(
        ctx.session,
        target=target,
        category=draft.category or "",
        status=status,
        deadline=draft.deadline_date,
        # the problem, not the message: the message (which may hold names and numbers) stays
        # in the audit trail (issue_event.message_text), shown only in private
        description=draft.problem or f"{draft.category or ''}问题",
        actor=actor_from(ctx, draft.origin),
        now=ctx.now,
        duplicate_window_minutes=ctx.settings.policy.duplicate_window_minutes,
    )
    issue = change.issue
    place = _issue_place(ctx, issue)
    if change.duplicate:
        ctx.outcome = "duplicate"
        note = evidence_flow.link(ctx, draft.evidence, change.change_id, issue, earlier=True)
        text = f"已记录过：{issue.code} {place} · {issue.category}，未重复登记。{note}"
        return [Reply(text, edit=answering_button(ctx))]
    ctx.outcome = "recorded"
    if answering_button(ctx):
        _learned(ctx, draft, issue)
    evidence_note = _link_evidence(ctx, draft, change)
    deadline = short_date(issue.deadline, ctx.today)
    text = f"🆕 已登记 {issue.code}：{place} · {issue.category} · {issue.status}（期限 {deadline}）"
    return [Reply(text + evidence_note, edit=answering_button(ctx))]


def on_answer(ctx: CommandContext, payload: dict[str, Any], option: dict[str, Any]) -> list[Reply]:
    """A button of a report question was pressed."""
    ctx.intent = "report"
    draft = Draft.from_json(payload["draft"])
    evidence_flow.in_play(ctx, draft.evidence)
    target = Target.from_json(payload["target"]) if payload.get("target") else None
    action = option.get("do")
    if action == "cancel":
        ctx.outcome = "cancelled"
        record_example(ctx, draft, "declined")
        return [Reply("已取消，未修改台账。", edit=True)]
    if action == "just_info":
        ctx.outcome = "noted"
        record_example(ctx, draft, "declined")
        return [Reply(JUST_INFO, edit=True)]
    if action == "facts_all":
        return _confirm_facts(ctx, payload, list(range(len(payload["facts"]))))
    if action == "facts_one":
        return _confirm_facts(ctx, payload, [int(option["n"])])
    if action == "target":
        return continue_with_target(ctx, replace(draft, confirmed=True), Target.from_json(option["target"]))
    if target is None:
        raise NotFound("这个按钮已失效，请重新发送。")
    if action == "apply":
        return apply(ctx, replace(draft, confirmed=True), int(option["issue_id"]), option.get("version"))
    if action == "apply_status":
        chosen = replace(draft, confirmed=True, status=option["status"])
        return apply(ctx, chosen, int(option["issue_id"]), option.get("version"))
    if action == "new_cat":
        return continue_with_target(ctx, replace(draft, category=option["category"], confirmed=True), target)
    if action == "new_offer":
        return [offer_new(ctx, draft, target)]
    if action == "new":
        return record(ctx, replace(draft, deadline=option.get("deadline")), target)
    raise NotFound("这个按钮已失效，请重新发送。")
