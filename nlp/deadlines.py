"""Deadline grammar: "下周五前", "月底前", "三个工作日内", "春节前" ... -> a date.

Every expression resolves to the last day of the span it names, against a given today:
"本周内" is Sunday of this week (weeks run Monday to Sunday), "月底前" the last day of the
month, "3天内" today + 3, "三个工作日内" the third working day after today (holidays skipped,
make-up working days counted, by the WorkCalendar), "元旦前" December 31, "春节前" the day
before the Spring Festival, "下月初" the 5th of next month, "12月15日前" December 15 (of next
year when this year's has passed).
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from lunardate import LunarDate

from nlp.numerals import parse_number
from nlp.workdays import WorkCalendar

QINGMING = {
    2025: dt.date(2025, 4, 4), 2026: dt.date(2026, 4, 5), 2027: dt.date(2027, 4, 5),
    2028: dt.date(2028, 4, 4), 2029: dt.date(2029, 4, 4), 2030: dt.date(2030, 4, 5),
}

NUM = r"(?:\d{1,4}|[零〇一二两三四五六七八九十百]{1,4})"
FEW = r"(?:一两|两三|三两|三四|三五|四五|五六|七八|几)"  # 两三天: the upper bound counts
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
BY = r"(?:前|之前|以前|内|之内|以内|为止|截止|底前)"
WEEK = r"(?:周|星期|礼拜)"


@dataclass(frozen=True)
class Deadline:
    """A resolved deadline and where it was said."""

    date: dt.date
    start: int
    end: int
    text: str
    bounded: bool  # said with 前/内/底… (a deadline), not just a day mentioned in passing


@dataclass(frozen=True)
class _Context:
    today: dt.date
    calendar: WorkCalendar


Handler = Callable[[re.Match[str], _Context], dt.date | None]


def find_deadline(text: str, today: dt.date, calendar: WorkCalendar) -> Deadline | None:
    """The deadline said in ``text`` (normalised), or None. The leftmost one said with
    前/内/底… wins over days merely mentioned (今天, 明天)."""
    found = find_deadlines(text, today, calendar)
    if not found:
        return None
    bounded = [d for d in found if d.bounded]
    return (bounded or found)[0]


def find_deadlines(text: str, today: dt.date, calendar: WorkCalendar) -> list[Deadline]:
    """Every deadline expression in ``text``, left to right, without overlaps."""
    context = _Context(today, calendar)
    matches: list[tuple[int, int, re.Match[str], Handler]] = []
    for pattern, handler in _RULES:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                matches.append((match.start(), -(match.end() - match.start()), match, handler))
    matches.sort(key=lambda item: (item[0], item[1]))
    result: list[Deadline] = []
    cursor = 0
    for start, _neg_len, match, handler in matches:
        if start < cursor:
            continue
        try:
            date = handler(match, context)
        except (ValueError, OverflowError):
            date = None  # 2月30日 and the like: not a date
        if date is None:
            continue
        said = match.group(0)
        bounded = bool(re.search(r"前|内|底|末|为止|截止|初|旬|后", said)) or not _is_bare_day(said)
        result.append(Deadline(date, start, match.end(), said, bounded))
        cursor = match.end()
    return result


def resolve_deadline(text: str, today: dt.date, calendar: WorkCalendar) -> dt.date | None:
    """Just the date of :func:`find_deadline`."""
    found = find_deadline(text, today, calendar)
    return found.date if found else None


def next_spring_festival(after: dt.date) -> dt.date | None:
    """The first Spring Festival whose eve is on or after ``after``."""
    for year in (after.year, after.year + 1):
        festival = _lunar_to_solar(year, 1, 1)
        if festival is not None and festival - dt.timedelta(days=1) >= after:
            return festival
    return None


def _lunar_to_solar(year: int, month: int, day: int) -> dt.date | None:
    """A Chinese lunar date of lunar ``year`` as a Gregorian date (None if it does not exist)."""
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:
        return None


def next_lunar_date(month: int, day: int, today: dt.date) -> dt.date | None:
    """The first lunar month/day on or after ``today`` (腊月十五 said in December is this winter's)."""
    lunar_year = LunarDate.from_solar_date(today.year, today.month, today.day).year
    for year in (lunar_year, lunar_year + 1):
        date = _lunar_to_solar(year, month, day)
        if date is not None and date >= today:
            return date
    return None


# --- helpers ------------------------------------------------------------------------------

def _is_bare_day(said: str) -> bool:
    return said in ("今天", "今日", "当天", "今晚", "今儿", "明天", "明日", "明儿", "后天", "大后天", "明后天")


def _num(text: str | None) -> int | None:
    if text is None:
        return None
    few = {"一两": 2, "两三": 3, "三两": 3, "三四": 4, "三五": 5, "四五": 5, "五六": 6, "七八": 8, "几": 3}
    if text in few:
        return few[text]
    if text == "半":
        return None
    return parse_number(text)


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, month_calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


def _month_part(year: int, month: int, part: str | None) -> dt.date:
    """A named part of a month, as its last day: 初 -> 5th, 上旬 -> 10th, 中 -> 15th,
    中旬 -> 20th, 底/末/下旬/内/份/none -> last day."""
    if part == "初":
        return dt.date(year, month, 5)
    if part == "上旬":
        return dt.date(year, month, 10)
    if part == "中":
        return dt.date(year, month, 15)
    if part == "中旬":
        return dt.date(year, month, 20)
    return _last_day(year, month)


def _not_past(make: Callable[[int], dt.date], today: dt.date, bounded: bool = True) -> dt.date:
    """This year's date, or next year's when this year's is already past. A date said as a
    limit (12月15日前) is always ahead; a bare date (12月2号到村里开了会, said on the 4th)
    a few days or months ago is the past, so it is never taken as a deadline."""
    date = make(today.year)
    if date >= today:
        return date
    later = make(today.year + 1)
    return later if bounded or (later - today).days <= _NEXT_YEAR_REACH else date


_NEXT_YEAR_REACH = 200  # days: a bare month-day this far ahead in next year is meant as next year


def _week_monday(today: dt.date, weeks_ahead: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)


def _weeks_ahead(rel: str | None) -> int | None:
    if rel in (None, "", "本", "这", "这个", "这一", "当"):
        return 0
    if rel in ("下", "下个", "下一", "下一个"):
        return 1
    if rel == "下下":
        return 2
    if rel in ("上", "上个"):
        return -1
    return None


# --- rules --------------------------------------------------------------------------------

def _full_date(match: re.Match[str], ctx: _Context) -> dt.date | None:
    year, month, day = (_num(match.group(name)) for name in ("y", "m", "d"))
    if year is None or month is None or day is None:
        return None
    return dt.date(year, month, day)


def _month_day(match: re.Match[str], ctx: _Context) -> dt.date | None:
    month, day = _num(match.group("m")), _num(match.group("d"))
    if month is None or day is None or not 1 <= month <= 12:
        return None
    return _not_past(lambda year: dt.date(year, month, day), ctx.today, _said_as_limit(match))


def _said_as_limit(match: re.Match[str]) -> bool:
    return re.search(BY + "$", match.group(0).rstrip()) is not None


def _month_with_part(match: re.Match[str], ctx: _Context) -> dt.date | None:
    month = _num(match.group("m"))
    if month is None or not 1 <= month <= 12:
        return None
    part = match.group("part")
    if part == "前":  # 3月前: before March begins
        return _not_past(lambda year: dt.date(year, month, 1) - dt.timedelta(days=1), ctx.today)
    return _not_past(lambda year: _month_part(year, month, _part_name(part)), ctx.today)


def _part_name(part: str | None) -> str | None:
    if part in ("初", "上旬", "中", "中旬"):
        return part
    return None


def _this_month(match: re.Match[str], ctx: _Context) -> dt.date:
    said = match.group(0)
    part = next((name for name in ("上旬", "中旬", "初", "中") if name in said), None)
    today = ctx.today
    date = _month_part(today.year, today.month, part)
    if date < today:  # 月初 said on the 20th: next month's
        year, month = _add_months(today.year, today.month, 1)
        date = _month_part(year, month, part)
    return date


def _next_month(match: re.Match[str], ctx: _Context) -> dt.date:
    ahead = 2 if match.group("rel") == "下下" else 1
    year, month = _add_months(ctx.today.year, ctx.today.month, ahead)
    return _month_part(year, month, _part_name(match.group("part")))


def _year_end(match: re.Match[str], ctx: _Context) -> dt.date:
    said = match.group(0)
    year = ctx.today.year + (1 if said.startswith("明年") else 0)
    if "上半年" in said:
        return dt.date(year, 6, 30)
    return dt.date(year, 12, 31)


def _next_year_month(match: re.Match[str], ctx: _Context) -> dt.date | None:
    month = _num(match.group("m"))
    if month is None or not 1 <= month <= 12:
        return None
    day = _num(match.group("d")) if match.group("d") else None
    year = ctx.today.year + 1
    if day is not None:
        return dt.date(year, month, day)
    return _month_part(year, month, _part_name(match.group("part")))


def _new_year(match: re.Match[str], ctx: _Context) -> dt.date:
    said = match.group(0)
    if said.endswith(("前", "之前", "以前")):
        return dt.date(ctx.today.year, 12, 31)
    return dt.date(ctx.today.year + 1, 1, 1)


def _spring_festival(match: re.Match[str], ctx: _Context) -> dt.date | None:
    festival = next_spring_festival(ctx.today)
    if festival is None:
        return None
    said = match.group(0)
    if said.startswith("春节") and not said.endswith(("前", "之前", "以前")):
        return festival
    return festival - dt.timedelta(days=1)  # 春节前, 过年前, 年前, 除夕


def _table_festival(table: dict[int, dt.date]) -> Handler:
    def handler(match: re.Match[str], ctx: _Context) -> dt.date | None:
        before = match.group(0).endswith(("前", "之前", "以前"))
        for year in (ctx.today.year, ctx.today.year + 1):
            day = table.get(year)
            if day is None:
                continue
            date = day - dt.timedelta(days=1) if before else day
            if date >= ctx.today:
                return date
        return None

    return handler


def _lunar_festival(month: int, day: int) -> Handler:
    """端午 (五月初五), 中秋 (八月十五): the festival, or its eve when said with 前."""

    def handler(match: re.Match[str], ctx: _Context) -> dt.date | None:
        before = match.group(0).endswith(("前", "之前", "以前"))
        offset = dt.timedelta(days=1 if before else 0)
        date = next_lunar_date(month, day, ctx.today + offset)
        return date - offset if date is not None else None

    return handler


_LUNAR_MONTHS = {"正": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
                 "十": 10, "冬": 11, "十一": 11, "腊": 12, "十二": 12}
_LUNAR_DAY = r"(?P<d>初[一二三四五六七八九十]|十[一二三四五六七八九]?|二十[一二三四五六七八九]?|廿[一二三四五六七八九]?|三十)"


def _lunar_day(said: str) -> int | None:
    if said.startswith("初"):
        return parse_number(said[1:])
    if said.startswith("廿"):
        return 20 + (parse_number(said[1:]) or 0)
    return parse_number(said)


def _lunar(match: re.Match[str], ctx: _Context) -> dt.date | None:
    """腊月十五前, 正月初十: the next such lunar date."""
    month = _LUNAR_MONTHS.get(match.group("m"))
    day = _lunar_day(match.group("d"))
    if month is None or day is None or not 1 <= day <= 30:
        return None
    return next_lunar_date(month, day, ctx.today)


def _day_this_month(match: re.Match[str], ctx: _Context) -> dt.date | None:
    """本月20号前: that day of this month (as said, even if it has passed)."""
    day = _num(match.group("d"))
    if day is None or not 1 <= day <= month_calendar.monthrange(ctx.today.year, ctx.today.month)[1]:
        return None
    return ctx.today.replace(day=day)


def _day_next_month(match: re.Match[str], ctx: _Context) -> dt.date | None:
    """下月5号前: that day of next month."""
    day = _num(match.group("d"))
    year, month = _add_months(ctx.today.year, ctx.today.month, 1)
    if day is None or not 1 <= day <= month_calendar.monthrange(year, month)[1]:
        return None
    return dt.date(year, month, day)


def _fixed_holiday(month: int, day: int) -> Handler:
    """国庆前 -> Sep 30, 五一前 -> Apr 30; the holiday itself when said without 前."""

    def handler(match: re.Match[str], ctx: _Context) -> dt.date:
        before = match.group(0).endswith(("前", "之前", "以前"))
        offset = dt.timedelta(days=1 if before else 0)
        return _not_past(lambda year: dt.date(year, month, day) - offset, ctx.today)

    return handler


def _weekday(match: re.Match[str], ctx: _Context) -> dt.date | None:
    rel = match.group("rel")
    weekday = WEEKDAYS[match.group("wd")]
    if rel in (None, ""):
        date = _week_monday(ctx.today, 0) + dt.timedelta(days=weekday)
        return date if date >= ctx.today else date + dt.timedelta(weeks=1)
    ahead = _weeks_ahead(rel)
    if ahead is None:
        return None
    return _week_monday(ctx.today, ahead) + dt.timedelta(days=weekday)


def _week(match: re.Match[str], ctx: _Context) -> dt.date | None:
    ahead = _weeks_ahead(match.group("rel"))
    if ahead is None:
        return None
    return _week_monday(ctx.today, ahead) + dt.timedelta(days=6)


def _relative_day(match: re.Match[str], ctx: _Context) -> dt.date:
    said = match.group("day")
    offsets = {"今天": 0, "今日": 0, "当天": 0, "今晚": 0, "今儿": 0, "明天": 1, "明日": 1,
               "明儿": 1, "后天": 2, "大后天": 3, "明后天": 2}
    return ctx.today + dt.timedelta(days=offsets[said])


def _n_days(match: re.Match[str], ctx: _Context) -> dt.date | None:
    count = _num(match.group("n"))
    if count is None or count > 3660:
        return None
    return ctx.today + dt.timedelta(days=count)


def _n_workdays(match: re.Match[str], ctx: _Context) -> dt.date | None:
    count = _num(match.group("n"))
    if count is None or count > 1000:
        return None
    return ctx.calendar.add_workdays(ctx.today, count)


def _n_weeks(match: re.Match[str], ctx: _Context) -> dt.date | None:
    if match.group("n") == "半":
        return ctx.today + dt.timedelta(days=3)
    count = _num(match.group("n"))
    if count is None or count > 520:
        return None
    return ctx.today + dt.timedelta(weeks=count)


def _n_months(match: re.Match[str], ctx: _Context) -> dt.date | None:
    said = match.group("n")
    if said == "半":
        return ctx.today + dt.timedelta(days=15)
    count = _num(said)
    if count is None or count > 120:
        return None
    if match.group("half"):
        return _n_months_date(ctx.today, count) + dt.timedelta(days=15)
    return _n_months_date(ctx.today, count)


def _n_months_date(today: dt.date, count: int) -> dt.date:
    year, month = _add_months(today.year, today.month, count)
    return dt.date(year, month, min(today.day, month_calendar.monthrange(year, month)[1]))


def _day_of_month(match: re.Match[str], ctx: _Context) -> dt.date | None:
    day = _num(match.group("d"))
    if day is None or not 1 <= day <= 31:
        return None
    today = ctx.today
    for ahead in range(3):
        year, month = _add_months(today.year, today.month, ahead)
        if day <= month_calendar.monthrange(year, month)[1]:
            date = dt.date(year, month, day)
            if date >= today:
                return date
    return None


def _quarter(match: re.Match[str], ctx: _Context) -> dt.date:
    ahead = 1 if match.group("rel") in ("下", "下个", "下一个") else 0
    quarter_end_month = ((ctx.today.month - 1) // 3 + 1 + ahead) * 3
    year, month = _add_months(ctx.today.year, quarter_end_month, 0)
    if quarter_end_month > 12:
        year, month = ctx.today.year + 1, quarter_end_month - 12
    return _last_day(year, month)


_MONTH_PART = r"(?P<part>底|末|初|上旬|中旬|下旬|中|份|内)"

_RULES: tuple[tuple[re.Pattern[str], Handler], ...] = tuple(
    (re.compile(pattern), handler)
    for pattern, handler in (
        (rf"(?P<y>\d{{4}})\s*[年.\-/]\s*(?P<m>{NUM})\s*[月.\-/]\s*(?P<d>{NUM})\s*[日号]?{BY}?", _full_date),
        (rf"(?<![\d.])(?P<m>{NUM})\s*月\s*(?P<d>{NUM})\s*[日号]{BY}?", _month_day),
        (rf"(?<![\d.])(?P<m>{NUM})\s*月\s*(?P<d>{NUM})(?![\d个天日号周月年])\s*{BY}?", _month_day),
        (rf"(?<![\d./])(?P<m>\d{{1,2}})[./](?P<d>\d{{1,2}})(?![\d.%万元米月])\s*[日号]?{BY}?", _month_day),
        (rf"(?<![\d.年])(?P<m>{NUM})\s*月\s*(?:(?P<part>底|末|初|上旬|中旬|下旬|中|份|前|内)(?:前|之前|以前|内)?|(?:之前|以前))", _month_with_part),
        (rf"(?:本|这个?|当)月(?P<d>{NUM})\s*[日号](?:前|之前|以前|为止|截止)?", _day_this_month),
        (rf"下个?月(?P<d>{NUM})\s*[日号](?:前|之前|以前|为止|截止)?", _day_next_month),
        (rf"(?P<m>正|冬|腊)月{_LUNAR_DAY}(?:前|之前|以前|为止|截止)?", _lunar),
        (rf"(?:(?:本|这个?|当)月{_MONTH_PART}?|(?<![\d下个本这当年])月(?=[底末初上中下内份])(?:底|末|初|上旬|中旬|下旬|中|份|内))(?:前|之前|以前)?", _this_month),
        (rf"(?P<rel>下下|下)个?月{_MONTH_PART}?(?:前|之前|以前)?", _next_month),
        (rf"明年\s*(?P<m>{NUM})\s*月\s*(?:(?P<d>{NUM})\s*[日号]|{_MONTH_PART})?(?:前|之前|以前)?", _next_year_month),
        (r"(?:今年|本年度?)(?:底|末|内|年底|年内|上半年|下半年)(?:前|之前|以前)?|明年(?:底|末|内|上半年|下半年)?(?:前|之前|以前)?|年底(?:前|之前|以前)?|年末|年内|年终|(?<!明)上半年|(?<!明)下半年", _year_end),
        (r"元旦(?:节)?(?:前|之前|以前)?", _new_year),
        (r"(?:春节|过年|除夕|大年三十)(?:前|之前|以前)?|(?<![\d零〇一二两三四五六七八九十百几今明去前后多每半历])年前", _spring_festival),
        (r"(?:国庆节?|十一)(?:假期|长假|节)?(?:前|之前|以前)|国庆节?", _fixed_holiday(10, 1)),
        (r"五一(?:假期|长假|节)?(?:前|之前|以前)|劳动节(?:前|之前|以前)?", _fixed_holiday(5, 1)),
        (r"中秋节?(?:前|之前|以前)?", _lunar_festival(8, 15)),
        (r"端午节?(?:前|之前|以前)?", _lunar_festival(5, 5)),
        (r"清明节?(?:前|之前|以前)?", _table_festival(QINGMING)),
        (rf"(?P<rel>下下|下个?|下一个?|本|这个?|这一|上个?)?{WEEK}(?P<wd>[一二三四五六日天1-7])(?:前|之前|以前|为止|截止)?", _weekday),
        (rf"(?P<rel>下下|下个?|下一个?|本|这个?|这一)(?:个)?{WEEK}(?:内|之内|以内|末|底)?(?:前|之前|以前)?", _week),
        (r"(?P<rel>)周末(?:前|之前|以前)?", _week),
        (rf"(?P<n>{FEW}|{NUM})\s*个?\s*工作日\s*(?:内|之内|以内|后|之后|以后)?", _n_workdays),
        (rf"(?P<n>{FEW}|{NUM})\s*个?\s*(?:天|日)\s*(?:内|之内|以内|后|之后|以后|左右|里)", _n_days),
        (rf"(?<![不没])过(?P<n>{NUM})\s*(?:天|日)", _n_days),  # 过两天就到: in two days
        (rf"(?P<n>{FEW}|{NUM}|半)\s*个?\s*{WEEK}\s*(?:内|之内|以内|后|之后|以后|左右)", _n_weeks),
        (rf"(?P<n>{FEW}|{NUM}|半)\s*个(?P<half>半)?\s*月\s*(?:内|之内|以内|后|之后|以后|左右)", _n_months),
        (r"(?P<n>半)\s*月\s*(?:内|之内|以内)", _n_months),
        (rf"(?:近|最近)(?P<n>{FEW}|{NUM})\s*(?:天|日)", _n_days),
        (rf"(?:近|最近)(?P<n>{FEW}|{NUM}|半)\s*个?\s*{WEEK}", _n_weeks),
        (rf"(?<![月\d.])(?P<d>{NUM})\s*(?:号|日)(?!内|之内|以内)(?:前|之前|以前|截止|为止)?", _day_of_month),
        (r"(?P<rel>下个?|本|这个?)?季度(?:末|底|内)?(?:前|之前|以前)?", _quarter),
        (r"(?P<day>大后天|明后天|今天|今日|当天|今晚|今儿|明天|明日|明儿|后天)(?:之内|以内|内|前|之前)?", _relative_day),
    )
)
