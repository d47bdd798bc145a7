"""Every "now" in Jiaoguan comes from here, so tests (and demos) can move time.

``clock.now()`` is timezone-aware; ``clock.today()`` is the date in Asia/Shanghai. Tests use
``clock.frozen(dt)`` or ``clock.travel(timedelta)`` (or the ``clock`` pytest fixture).
"""
from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from collections.abc import Iterator

from django.utils import timezone

_lock = threading.Lock()
_frozen: dt.datetime | None = None
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


def today() -> dt.date:
    return timezone.localdate(now())


def _aware(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(9, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


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
