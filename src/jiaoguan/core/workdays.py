"""Working days (工作日) for time limits: one calendar for the whole platform.

Order of authority for a date: a HolidayOverride row (staff-edited) → the chinese-calendar data (statutory
holidays and make-up working days, 2004–2026 in version 1.11) → for years the data lacks, Monday–Friday less the
statutory holidays that fall on fixed days (全国年节及纪念日放假办法, 2024 revision: New Year's Day 1 January,
Labour Day 1–2 May, National Day 1–3 October, and Qingming, a solar term the library still computes). The lunar
holidays (Spring Festival, Dragon Boat, Mid-Autumn) and the make-up working days of such a year come from the State
Council's notice for it, entered as HolidayOverride rows (it is published each November for the next year).

Overrides are read from the database on every call (one indexed query per ``is_workday``, one range query per
``add_workdays``/``workdays_between``), never cached in the process: the web workers, Celery workers and the
scheduler are separate processes, and an edit made in the admin must hold in all of them at once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import chinese_calendar

from jiaoguan.core import clock
from jiaoguan.core.models import HolidayOverride

_ONE_DAY = dt.timedelta(days=1)


def calendar_covers(day: dt.date) -> bool:
    """Whether the chinese-calendar data knows this date's year (else the weekend rule applies)."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})  # (month, day)


def _is_qingming(day: dt.date) -> bool:
    return day.month == 4 and 3 <= day.day <= 6 and any(
        name == "清明" for _, name in chinese_calendar.get_solar_terms(day, day))


def _by_calendar(day: dt.date) -> bool:
    try:
        workday: bool = chinese_calendar.is_workday(day)
        return workday
    except NotImplementedError:
        if (day.month, day.day) in FIXED_HOLIDAYS or _is_qingming(day):
            return False
        return day.weekday() < 5


def _overrides_between(first: dt.date, last: dt.date) -> dict[dt.date, bool]:
    return dict(HolidayOverride.objects.filter(date__range=(first, last)).values_list("date", "is_workday"))


def _as_date(value: dt.date) -> dt.date:
    """A datetime counts as its local (Asia/Shanghai) date; a naive one is local wall-clock time already."""
    if isinstance(value, dt.datetime):
        return clock.localdate(value) if value.tzinfo is not None else value.replace(tzinfo=None).date()
    return value


def is_workday(day: dt.date) -> bool:
    day = _as_date(day)
    override = HolidayOverride.objects.filter(date=day).values_list("is_workday", flat=True).first()
    if override is not None:
        return override
    return _by_calendar(day)


class _Calendar:
    """Overrides for a window of dates, fetched in blocks as a walk over the days needs them."""

    BLOCK = dt.timedelta(days=120)

    def __init__(self) -> None:
        self._first: dt.date | None = None
        self._last: dt.date | None = None
        self._overrides: dict[dt.date, bool] = {}

    def _load(self, day: dt.date) -> None:
        first, last = day - self.BLOCK, day + self.BLOCK
        self._overrides.update(_overrides_between(first, last))
        self._first = first if self._first is None else min(first, self._first)
        self._last = last if self._last is None else max(last, self._last)

    def is_workday(self, day: dt.date) -> bool:
        if self._first is None or self._last is None or not (self._first <= day <= self._last):
            self._load(day)
        override = self._overrides.get(day)
        return _by_calendar(day) if override is None else override


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (start itself not counted). days=0 returns start if it is
    a working day, else the next working day. Negative counts go backwards."""
    cal = _Calendar()
    start = _as_date(start)
    if days == 0:
        day = start
        while not cal.is_workday(day):
            day += _ONE_DAY
        return day
    step = _ONE_DAY if days > 0 else -_ONE_DAY
    remaining = abs(days)
    day = start
    while remaining:
        day += step
        if cal.is_workday(day):
            remaining -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many working days have passed from start to end (negative if end is
    before start)."""
    start, end = _as_date(start), _as_date(end)
    if end < start:
        return -workdays_between(end, start)
    overrides = _overrides_between(start + _ONE_DAY, end) if end > start else {}
    count = 0
    day = start
    while day < end:
        day += _ONE_DAY
        override = overrides.get(day)
        if (_by_calendar(day) if override is None else override):
            count += 1
    return count


def workday_counter(first: dt.date, last: dt.date) -> Callable[[dt.date, dt.date], int]:
    """``workdays_between`` for many pairs of dates within [first, last] at once: one query for the overrides, then
    a running count; the returned function gives the working days in (a, b] as count[b] − count[a]."""
    overrides = _overrides_between(first, last)
    running: dict[dt.date, int] = {}
    count, day = 0, first
    while day <= last:
        override = overrides.get(day)
        if _by_calendar(day) if override is None else override:
            count += 1
        running[day] = count
        day += dt.timedelta(days=1)
    return lambda a, b: running[b] - running[a]
