"""Sliding-window rate limits kept in Django's cache (Redis in production; the database when embedded, see
core.cache), shared by every web process.

Why not django-ratelimit's ``is_ratelimited``/``get_usage``: they read ``time.time()`` (so neither tests nor a
demo can move time with ``core.clock``), use fixed windows (a "1/m" limit lets two codes out a second apart
across a window edge), and expect a request object, while our services take an IP string. The rate syntax is
the same ("5/h", "1/m"), so the settings read the same either way.

Each limited key holds the list of recent event times. A check-and-record of several keys (per phone per
minute, per phone per hour, per IP) is one ``locked`` read-modify-write, so concurrent requests on several web
processes cannot slip past a limit together; a refused request records nothing, and nothing is recorded unless
every limit admits the event. ``locked`` is atomic across processes with either cache:

- the embedded default, core.cache.DatabaseCache: one database transaction with the entries' rows locked
  (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite);
- Redis (REDIS_URL): short per-key locks taken with the cache's atomic ``add`` (SET NX), waited for up to two
  seconds.

A per-process cache (LocMemCache) would count per gunicorn worker: two workers would each admit "1 a minute".

When the cache cannot be reached (Redis down: a connection refused, a timeout), a limit cannot count. ``take``
then fails CLOSED by default: it raises ``core.errors.Unavailable`` (a 503 ``core.unavailable``, nothing recorded,
so nothing is sent) — every limit in front of an SMS, a login or a write. A caller whose limit only guards a read
of public data passes ``fail_open=True`` and the read is served unlimited while the cache is down (the public
verification of e-credentials). tests/faults/test_redis_down.py shows both.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from redis.exceptions import RedisError

from jiaoguan.core import clock
from jiaoguan.core.cache import DatabaseCache
from jiaoguan.core.errors import Unavailable
from jiaoguan.identity.rules import Rate, parse_rate, window_admits

_PREFIX = "jg:rl:"
_LOCK_SECONDS = 5
_LOCK_WAIT_SECONDS = 2.0
log = logging.getLogger(__name__)

# What a cache outage raises: Django's Redis cache lets redis-py's errors through (connection refused, timeout).
CACHE_OUTAGE: tuple[type[Exception], ...] = (RedisError,)


def unavailable() -> Unavailable:
    return Unavailable("core.unavailable", "服务暂时不可用，请稍后再试",
                       "This service is unavailable for a moment; try again shortly")


@dataclass(frozen=True)
class Limit:
    """One limit to check: ``scope`` names it ("sms.phone.min"), ``key`` is what is counted (a phone hash, an
    IP), ``rate`` a Rate or a rate string."""

    scope: str
    key: str
    rate: Rate | str

    @property
    def parsed(self) -> Rate:
        return self.rate if isinstance(self.rate, Rate) else parse_rate(self.rate)

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256(f"{self.scope}\x1f{self.key}".encode()).hexdigest()[:40]
        return f"{_PREFIX}{self.scope}:{digest}"


@dataclass(frozen=True)
class Throttle:
    """A limit that refused an event, and the seconds until it would admit one (not a domain refusal:
    core.errors.Refusal is that)."""

    limit: Limit
    retry_after: int


class Entries(Protocol):
    """The cache entries a ``locked`` block holds. ``held`` is False when the locks could not be had in time
    (Redis only): reads and writes then still work, unprotected."""

    held: bool

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: Any = ...) -> None: ...


class _CacheEntries:
    """Entries of a cache without transactions (Redis), under the per-key ``add`` locks of ``locked``."""

    def __init__(self, held: bool) -> None:
        self.held = held

    def get(self, key: str, default: Any = None) -> Any:
        return cache.get(key, default)

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        cache.set(key, value, timeout)


def _acquire(keys: Sequence[str]) -> list[tuple[str, str]] | None:
    held: list[tuple[str, str]] = []
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    for key in sorted(set(keys)):  # one order for everyone: no deadlock between two callers
        lock_key, token = f"{key}:lock", secrets.token_hex(8)
        while not cache.add(lock_key, token, _LOCK_SECONDS):
            if time.monotonic() > deadline:
                _release(held)
                return None
            time.sleep(0.005)
        held.append((lock_key, token))
    return held


def _release(held: list[tuple[str, str]]) -> None:
    for lock_key, token in held:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)


@contextmanager
def locked(keys: Sequence[str]) -> Iterator[Entries]:
    """Hold the cache entries ``keys`` for a read-modify-write that no other web process can interleave with
    (``take`` uses it; so does the lockout counter of logins without an account)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, DatabaseCache):
        with backend.locked(keys) as entries:
            yield entries
        return
    acquired = _acquire(keys)
    try:
        yield _CacheEntries(held=acquired is not None)
    finally:
        if acquired:
            _release(acquired)


def take(limits: Sequence[Limit], *, fail_open: bool = False) -> Throttle | None:
    """Record one event against every limit if all of them admit it; otherwise record nothing and return the
    refusal with the longest wait. Fails closed (refuses) if the locks cannot be had within two seconds. When the
    cache is down: raises Unavailable (503), or, with ``fail_open`` (reads of public data only), admits."""
    if not limits:
        return None
    try:
        return _take(limits)
    except CACHE_OUTAGE as exc:
        log.warning("rate limits %s: the cache is unreachable (%s); failing %s",
                    [lim.scope for lim in limits], exc, "open" if fail_open else "closed")
        if fail_open:
            return None
        raise unavailable() from exc


def _take(limits: Sequence[Limit]) -> Throttle | None:
    with locked([lim.cache_key for lim in limits]) as entries:
        if not entries.held:
            return Throttle(limits[0], 1)
        now = clock.now().timestamp()
        logs: dict[str, list[float]] = {}
        refusals: list[Throttle] = []
        for lim in limits:
            rate = lim.parsed
            events = [t for t in entries.get(lim.cache_key) or [] if now - rate.seconds < t <= now + 1]
            logs[lim.cache_key] = events
            ok, retry = window_admits(events=events, now=now, rate=rate)
            if not ok:
                refusals.append(Throttle(lim, retry))
        if refusals:
            return max(refusals, key=lambda r: r.retry_after)
        for lim in limits:
            rate = lim.parsed
            events = logs[lim.cache_key] + [now]
            # keep only what can still matter; expire a little after the window in real time
            entries.set(lim.cache_key, events[-max(rate.limit, 1):], rate.seconds + 60)
        return None


def usage(limit: Limit) -> int:
    """How many events count against ``limit`` now (for tests and the console)."""
    rate = limit.parsed
    now = clock.now().timestamp()
    return sum(1 for t in cache.get(limit.cache_key, []) if now - rate.seconds < t <= now + 1)
