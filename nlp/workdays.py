"""Working days by the Chinese holiday calendar, with make-up working days (调休).

chinese-calendar knows the years up to its latest release; later years come from
config.yaml (``calendar.holidays`` / ``calendar.workdays``). A year that neither knows
falls back to Monday–Friday, with one warning in the log per year.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        self._configured_years = {d.year for d in self._holidays | self._workdays}
        self._warned_years: set[int] = set()

    def knows_year(self, year: int) -> bool:
        """True when holidays for ``year`` come from data rather than the Mon–Fri fallback."""
        return year in self._configured_years or _library_knows(year)

    def is_workday(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if day.year not in self._configured_years:
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                if day.year not in self._warned_years:
                    self._warned_years.add(day.year)
                    log.warning(
                        "no holiday data for %s: using Monday-Friday; add calendar.holidays "
                        "and calendar.workdays for %s to config.yaml", day.year, day.year,
                    )
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.workdays_between(end, start)
        return sum(
            self.is_workday(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )

    def previous_workday(self, day: dt.date) -> dt.date:
        day -= dt.timedelta(days=1)
        while not self.is_workday(day):
            day -= dt.timedelta(days=1)
        return day


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar_from_settings(settings) -> WorkCalendar:
    return WorkCalendar(settings.calendar.holidays, settings.calendar.workdays)
