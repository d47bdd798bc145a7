"""Working days (工作日) for time limits: one calendar for the whole platform.

Order of authority for a date: a HolidayOverride row (staff-edited) → the chinese-calendar data (statutory
holidays and make-up working days, 2004–2026 in version 1.11) → for years the data lacks, Monday–Friday.
"""
from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar
from django.db.models.signals import post_delete, post_save

from jiaoguan.core.models import HolidayOverride


@functools.lru_cache(maxsize=1)
def _overrides() -> dict[dt.date, bool]:
    return dict(HolidayOverride.objects.values_list("date", "is_workday"))


def _invalidate(**kwargs) -> None:
    _overrides.cache_clear()


post_save.connect(_invalidate, sender=HolidayOverride, dispatch_uid="workdays-override-save")
post_delete.connect(_invalidate, sender=HolidayOverride, dispatch_uid="workdays-override-delete")


def calendar_covers(day: dt.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(day: dt.date) -> bool:
    override = _overrides().get(day)
    if override is not None:
        return override
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (start itself not counted). days=0 returns start if it is
    a working day, else the next working day. Negative counts go backwards."""
    if days == 0:
        day = start
        while not is_workday(day):
            day += dt.timedelta(days=1)
        return day
    step = dt.timedelta(days=1 if days > 0 else -1)
    remaining = abs(days)
    day = start
    while remaining:
        day += step
        if is_workday(day):
            remaining -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many working days have passed from start to end."""
    if end <= start:
        return -workdays_between(end, start) if end < start else 0
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count
