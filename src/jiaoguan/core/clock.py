"""Every "now" in Jiaoguan comes from here, so tests (and demos) can move time; and the one notion of "today".

``clock.now()`` is timezone-aware and in UTC (as the database gives datetimes back). A calendar date is always
the *local* date of the deployment's ``TIME_ZONE`` (the city's, Asia/Shanghai): between 00:00 and 08:00 Beijing
time the UTC date is still yesterday, so never take ``.date()`` of an aware datetime (tests/core/
test_local_dates_lint.py fails on it). Ask here instead:

- ``today()``: the local date now; ``localdate(at)``: the local date of an aware datetime;
- ``localtime(at)``: the datetime in local time (for display, ``%Y%m%d`` in numbers, API output via ``isoformat``);
- ``local_datetime(day, time)``: the aware instant of a local wall-clock time; ``local_midnight(day)`` its start;
- ``day_bounds(day)``: ``(start, end)`` of a local day, for ``start <= at < end`` filters.

Tests use ``clock.freeze(dt)`` or ``clock.advance(timedelta)`` (or the ``clock`` pytest fixture); a frozen
instant is kept in UTC like the real one, so a test at 00:30 Beijing time meets the same UTC date as production.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_lock = threading.Lock()
_frozen: dt.datetime | None = None
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


def zone() -> dt.tzinfo:
    """The deployment's time zone (settings.TIME_ZONE), whatever zone a request may have activated."""
    return timezone.get_default_timezone()


def today() -> dt.date:
    return localdate(now())


def localtime(value: dt.datetime | None = None) -> dt.datetime:
    """``value`` (default: now) in the deployment's time zone. A naive value is refused: it has no instant."""
    value = now() if value is None else value
    if timezone.is_naive(value):
        raise ValueError(f"naive datetime {value!r}: make it aware (clock.local_datetime) before asking its local time")
    return value.astimezone(zone())


def localdate(value: dt.datetime | None = None) -> dt.date:
    """The local calendar date of an aware datetime (default: now)."""
    return localtime(value).date()


def local_datetime(day: dt.date, time: dt.time = dt.time.min) -> dt.datetime:
    """The aware instant at wall-clock ``time`` on local ``day``."""
    return timezone.make_aware(dt.datetime.combine(day, time), zone())


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant a local day begins."""
    return local_datetime(day)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)`` of local ``day``: the instants with ``start <= at < end`` fall on it."""
    return local_midnight(day), local_midnight(day + dt.timedelta(days=1))


def isoformat(value: dt.datetime | dt.date | None) -> str | None:
    """API output: a datetime with the local offset (+08:00), a date as YYYY-MM-DD, None as None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return localtime(value).isoformat()
    return value.isoformat()


def _aware(value: dt.datetime | dt.date) -> dt.datetime:
    """A date means 09:00 on it, a naive datetime local wall-clock time."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(9, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone())
    return value.astimezone(dt.UTC)  # as timezone.now() gives it: a frozen clock is no kinder than the real one


def freeze(at: dt.datetime | dt.date) -> None:
    global _frozen
    with _lock:
        _frozen = _aware(at)


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward (frozen or not)."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def reset() -> None:
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = dt.timedelta(0)


@contextmanager
def frozen(at: dt.datetime | dt.date) -> Iterator[None]:
    freeze(at)
    try:
        yield
    finally:
        reset()
