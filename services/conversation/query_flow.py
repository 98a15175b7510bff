"""Questions about the ledger: a household, an area, what is due, what is overdue.

Each answer is limited to the asker's scope; household details appear only in private
chats to users whose scope covers the household, and group answers never name a household
head. Long answers are paged: page buttons carry the query (``pg:...``), and pressing one
re-runs it as the presser, within the presser's own scope.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from services.conversation import pending
from services.conversation.admin_commands import users_page
from services.conversation.paging import PAGE_PREFIX, paged
from services.conversation.context import CommandContext
from services.conversation.messages import Reply
from services.conversation.turn import answering_button, marker_of, scope_of, villages_of
from services.errors import Forbidden, InvalidInput, NotFound
from services.formatting import (
    HIDDEN_NOTE,
    HIDDEN_OUT_OF_SCOPE,
    render_area,
    render_due,
    render_household,
    render_overdue,
)
from services.issues import targets_from_parse
from services.places import township_by_id, township_id, village_by_id, village_id
from services.queries import (
    Area,
    area_issues,
    area_summary,
    area_visible,
    due_issues,
    household_view,
    overdue_by_unit,
    overdue_issues,
)
from services.scope import may_see_household
from vocab import CATEGORIES

if TYPE_CHECKING:
    from nlp.parser import Parse

KIND = "query"
GROUP_HOUSEHOLD = "户的情况只在私聊中查看，请私聊我。"


# ---- areas and page tokens ------------------------------------------------------------

STALE_PAGE = "这个按钮已失效，请重新查询。"

def area_token(ctx: CommandContext, area: Area) -> str:
    """c (county), t<id> (township) or v<id> (village): short enough for callback data."""
    if not area.township:
        return "c"
    if not area.village:
        return f"t{township_id(ctx.session, area.township)}"
    return f"v{village_id(ctx.session, area.township, area.village)}"


def area_from_token(ctx: CommandContext, token: str) -> Area:
    """The area a page token names."""
    if token == "c":
        return Area()
    if token.startswith("t") and token[1:].isdigit():
        township = township_by_id(ctx.session, int(token[1:]))
        if township is not None:
            return Area(township)
    if token.startswith("v") and token[1:].isdigit():
        place = village_by_id(ctx.session, int(token[1:]))
        if place is not None:
            return Area(*place)
    raise NotFound(STALE_PAGE)


def _category_token(category: str | None) -> str:
    return str(CATEGORIES.index(category)) if category in CATEGORIES else "-"


def _category_from_token(token: str) -> str | None:
    return CATEGORIES[int(token)] if token.isdigit() and int(token) < len(CATEGORIES) else None


def default_area(ctx: CommandContext) -> Area:
    """The county, or the asker's one township / village when that is all they cover."""
    scope = scope_of(ctx)
    if scope.county_wide or scope.categories:
        return Area()
    if len(scope.villages) == 1 and not scope.townships:
        township, village = next(iter(scope.villages))
        return Area(township, village)
    if len(scope.townships) == 1 and not scope.villages:
        return Area(next(iter(scope.townships)))
    return Area()


def area_label(ctx: CommandContext, area: Area, category: str | None = None) -> str:
    """The area's name, saying so when the asker sees only part of it (their scope)."""
    scope = scope_of(ctx)
    whole = (
        scope.county_wide
        or (area.township in scope.townships)
        or (area.village is not None and (area.township, area.village) in scope.villages)
    )
    label = area.label
    if category:
        label += f" · {category}"
    if not whole and not (category and category in scope.categories):  # 饮水 asked by 水利局: all of it
        label += f"（{'、'.join(sorted(scope.categories))}）" if scope.categories else "（您负责的部分）"
    return label


def _hidden_note(ctx: CommandContext) -> str:
    return HIDDEN_NOTE if ctx.in_group else HIDDEN_OUT_OF_SCOPE


def _can_show(ctx: CommandContext):
    """Per issue row: may its household's name and description be shown here?"""
    scope = scope_of(ctx)
    private = not ctx.in_group

    def check(row) -> bool:
        return private and scope.covers_place(row.township, row.village)

    return check


# ---- the four questions -----------------------------------------------------------------

def household_reply(ctx: CommandContext, household_id: int, page: int = 0) -> list[Reply]:
    """A household's card, if the asker may see it here."""
    ctx.intent = "query_household"
    if ctx.in_group:
        ctx.outcome = "refused"
        return [Reply(GROUP_HOUSEHOLD, edit=answering_button(ctx))]
    view = household_view(ctx.session, household_id)
    if not may_see_household(ctx.user, view.township, view.village, ctx.incoming.chat_type):
        raise Forbidden(f"该户不在您的查看范围（{scope_of(ctx).describe()}）内。")
    header, lines = render_household(view, marker_of(ctx))
    return [paged(ctx, header, lines, page, f"{PAGE_PREFIX}:h:{household_id}")]


def area_reply(ctx: CommandContext, area: Area, category: str | None = None, page: int = 0) -> list[Reply]:
    """Open issues of an area by category with counts and nearest deadlines."""
    ctx.intent = "query_area"
    scope = scope_of(ctx)
    summary = area_summary(ctx.session, scope, area, ctx.today, category)
    list_items = area.village is not None or category is not None
    rows = area_issues(ctx.session, scope, area, category) if list_items else []
    check = _can_show(ctx)
    header, lines = render_area(
        summary, rows, marker_of(ctx), can_show=check, list_items=list_items,
        label=area_label(ctx, area, category), hidden_note=_hidden_note(ctx),
    )
    footer = "" if list_items or not summary.total else "发村名（如“东台村”）看一个村的问题。"
    prefix = f"{PAGE_PREFIX}:a:{area_token(ctx, area)}:{_category_token(category)}"
    return [paged(ctx, header, lines, page, prefix, footer)]


def _week_end(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=6 - day.weekday())


def default_due_until(ctx: CommandContext) -> dt.date:
    """This week's Sunday, but at least the 🟡 window (so Saturday asks still look ahead)."""
    window = ctx.calendar.add_workdays(ctx.today, ctx.settings.digest.due_soon_working_days)
    return max(_week_end(ctx.today), window)


def _due_title(today: dt.date, until: dt.date) -> str:
    if until == _week_end(today):
        return "本周到期"
    days = (until - today).days
    return f"{days} 天内到期" if days <= 7 else "近期到期"


def due_reply(
    ctx: CommandContext, area: Area, until: dt.date, category: str | None = None, page: int = 0
) -> list[Reply]:
    """Unresolved issues due between today and ``until``, soonest first."""
    ctx.intent = "query_due"
    scope = scope_of(ctx)
    if until < ctx.today:
        raise InvalidInput("到期日期已过，逾期问题请发 /overdue 查看。")
    rows = due_issues(ctx.session, scope, area, ctx.today, until, category)
    title = _due_title(ctx.today, until)
    label = area_label(ctx, area, category)
    if label != "全县":
        title = f"{label} {title}"
    header, lines = render_due(
        rows, until, marker_of(ctx), title=title, can_show=_can_show(ctx), hidden_note=_hidden_note(ctx)
    )
    overdue = sum(u.count for u in overdue_by_unit(ctx.session, scope, area, ctx.today, category))
    footer = f"另有逾期 {overdue} 个 🔴，发 /overdue 查看。" if overdue else ""
    prefix = f"{PAGE_PREFIX}:d:{area_token(ctx, area)}:{_category_token(category)}:{until:%Y%m%d}"
    return [paged(ctx, header, lines, page, prefix, footer)]


def overdue_reply(ctx: CommandContext, area: Area, category: str | None = None, page: int = 0) -> list[Reply]:
    """Overdue issues by 责任单位 with days overdue."""
    ctx.intent = "query_overdue"
    scope = scope_of(ctx)
    rows = overdue_issues(ctx.session, scope, area, ctx.today, category)
    units = overdue_by_unit(ctx.session, scope, area, ctx.today, category)
    header, lines = render_overdue(
        rows, units, marker_of(ctx), can_show=_can_show(ctx), hidden_note=_hidden_note(ctx)
    )
    label = area_label(ctx, area, category)
    if label != "全县":
        header = f"{label} {header}"
    prefix = f"{PAGE_PREFIX}:o:{area_token(ctx, area)}:{_category_token(category)}"
    return [paged(ctx, header, lines, page, prefix)]


# ---- from a parse -------------------------------------------------------------------------

def handle_query(ctx: CommandContext, parse: Parse) -> list[Reply]:
    """Answer a query_* parse."""
    intent = parse.intent
    ctx.intent = intent
    if intent == "query_household":
        return household_from_parse(ctx, parse)
    area = area_from_parse(ctx, parse)
    if isinstance(area, Reply):
        return [area]
    if intent == "query_due":
        until = _date(parse.deadline) or default_due_until(ctx)
        if until == ctx.today and ctx.today.weekday() == 6 and _THIS_WEEK.search(ctx.incoming.text or ""):
            until = ctx.today + dt.timedelta(days=7)  # 本周到期 asked on a Sunday: the week ahead too
        return due_reply(ctx, area, until, parse.category)
    if intent == "query_overdue":
        return overdue_reply(ctx, area, parse.category)
    return area_reply(ctx, area, parse.category)


_THIS_WEEK = re.compile(r"本周|这周|这个?星期|这礼拜|本星期")


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def household_from_parse(ctx: CommandContext, parse: Parse) -> list[Reply]:
    """A household query: refuse in groups, ask among same-name heads, else answer."""
    if ctx.in_group:
        ctx.outcome = "refused"
        return [Reply(GROUP_HOUSEHOLD)]
    targets = [t for t in targets_from_parse(ctx.session, parse, villages_of(ctx)) if t.household_id is not None]
    if not targets:
        raise NotFound("台账里没找到这一户，请写户主姓名，例如：李兆满家情况。")
    visible = [t for t in targets if may_see_household(ctx.user, t.township, t.village, "private")]
    if not visible:
        raise Forbidden(f"该户不在您的查看范围（{scope_of(ctx).describe()}）内。")
    if len(visible) > 1:
        options = [
            (f"{t.place} {t.household}（{t.household_code}）", {"do": "household", "household_id": t.household_id})
            for t in visible[:8]
        ]
        return [pending.ask(ctx, "台账里有几户同名，您要查哪一户？", KIND, {}, options)]
    return household_reply(ctx, visible[0].household_id)


def area_from_parse(ctx: CommandContext, parse: Parse) -> Area | Reply:
    """The area a query names (asking when a village name is ambiguous), else the default."""
    scope = scope_of(ctx)
    if parse.village:
        targets = [
            t for t in targets_from_parse(ctx.session, parse, villages_of(ctx))
            if t.household_id is None or not parse.household
        ]
        areas: list[Area] = []
        for target in targets:
            area = Area(target.township, target.village)
            if area not in areas:
                areas.append(area)
        visible = [area for area in areas if area_visible(scope, area)]
        if areas and not visible:
            raise Forbidden(f"{areas[0].label}不在您的查看范围（{scope.describe()}）内。")
        if len(visible) > 1:
            options = [
                (area.label, {"do": "area", "township": area.township, "village": area.village,
                              "intent": parse.intent, "category": parse.category,
                              "until": str(parse.deadline) if parse.deadline else None})
                for area in visible[:8]
            ]
            return pending.ask(ctx, "有几个同名的村，您问的是哪一个？", KIND, {}, options)
        if visible:
            return visible[0]
    if parse.township:
        return Area(parse.township)
    return default_area(ctx)


def on_answer(ctx: CommandContext, payload: dict[str, Any], option: dict[str, Any]) -> list[Reply]:
    """A choice between same-name households or villages was made."""
    action = option.get("do")
    if action == "cancel":
        ctx.outcome = "cancelled"
        return [Reply("已取消。", edit=True)]
    if action == "household":
        return household_reply(ctx, int(option["household_id"]))
    if action == "area":
        area = Area(option["township"], option.get("village"))
        intent = option.get("intent")
        if intent == "query_due":
            until = _date(option.get("until")) or default_due_until(ctx)
            return due_reply(ctx, area, until, option.get("category"))
        if intent == "query_overdue":
            return overdue_reply(ctx, area, option.get("category"))
        return area_reply(ctx, area, option.get("category"))
    raise NotFound(STALE_PAGE)


def on_page(ctx: CommandContext, data: str) -> list[Reply]:
    """A page button: re-run the query as the presser and show the asked page."""
    parts = data.split(":")
    try:
        kind, page = parts[1], int(parts[-1])
        if kind == "u":
            return users_page(ctx, page)
        if kind == "h":
            return household_reply(ctx, int(parts[2]), page)
        area = area_from_token(ctx, parts[2])
        category = _category_from_token(parts[3])
        if kind == "a":
            return area_reply(ctx, area, category, page)
        if kind == "o":
            return overdue_reply(ctx, area, category, page)
        if kind == "d":
            until = dt.datetime.strptime(parts[4], "%Y%m%d").date()
            return due_reply(ctx, area, until, category, page)
    except (IndexError, ValueError) as exc:  # data we never issued, or from an old version
        raise NotFound(STALE_PAGE) from exc
    raise NotFound(STALE_PAGE)
