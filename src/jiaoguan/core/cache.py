"""The embedded default's cache (no REDIS_URL): Django's database cache, so every process of the host sees the
same entries, plus ``locked(keys)``, a read-modify-write of several entries that is atomic across processes.
identity.ratelimit keeps its sliding windows and the login-failure counters of logins without an account in it.

Why not Django's DatabaseCache as it is: its ``incr`` is a get then a set, and its ``add`` of a key whose row has
expired is a SELECT then an UPDATE, so two processes can both "win"; neither is a lock or an exact counter. Its
``get`` deletes the expired rows it reads, which can delete a row another process has just brought back to life,
and once the table is over MAX_ENTRIES it culls live rows too (a rate limit would forget its events). A file-based
cache has the same non-atomic ``add``/``incr`` and no transactions at all.

``locked(keys)`` runs one transaction that gives each key a row (INSERT ... ON CONFLICT DO NOTHING) and then locks the
rows, both in key order, so two callers never wait for each other in a cycle: SELECT ... FOR UPDATE on PostgreSQL; on
SQLite the transaction starts with BEGIN IMMEDIATE (settings), which serialises writers. ``add`` and ``incr`` go
through it, so both are atomic here. Reads never delete; expired rows are purged, at most once a minute per
process, after a write commits, skipping rows another transaction holds (FOR UPDATE SKIP LOCKED on PostgreSQL);
live rows are never culled. With REDIS_URL (production) Redis is the cache instead and ``add`` (SET NX) is the lock.
"""
from __future__ import annotations

import base64
import datetime as dt
import pickle
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone

from jiaoguan.core.models import CacheEntry

_FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
_NEVER_LIVE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a row made only to be locked: absent until set
_PURGE_INTERVAL_SECONDS = 60.0
_KEEP = object()  # Held.set(..., timeout=_KEEP): keep the entry's expiry (incr)


def _encode(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)).decode("latin1")


def _decode(text: str) -> Any:
    return pickle.loads(base64.b64decode(text.encode()))  # noqa: S301 - our own rows, written by _encode


class Held:
    """The entries of the keys a ``locked`` block holds: read with ``get``/``in``, change with ``set``; the changes
    are written when the block ends (and dropped if it raises)."""

    held = True  # the same attribute as identity.ratelimit's view of a Redis cache, whose locks may time out

    def __init__(self, values: dict[str, Any], keys: Iterable[str]) -> None:
        self._values = values
        self._keys = set(keys)
        self.changes: dict[str, tuple[Any, Any]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> None:
        if key not in self._keys:
            raise KeyError(f"{key!r} is not held by this block")
        self._values[key] = value
        self.changes[key] = (value, timeout)


class DatabaseCache(DjangoDatabaseCache):
    """settings.CACHES["default"] without REDIS_URL: {"BACKEND": "jiaoguan.core.cache.DatabaseCache",
    "LOCATION": "jiaoguan_cache"} (the table of core.models.CacheEntry)."""

    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(table, params)
        self._table_name = table
        self._next_purge = 0.0

    @contextmanager
    def locked(self, keys: Iterable[str], version: int | None = None) -> Iterator[Held]:
        """Hold ``keys`` for a read-modify-write that no other process or thread can interleave with."""
        keys = list(dict.fromkeys(keys))
        names = {self.make_and_validate_key(key, version=version): key for key in keys}
        db = router.db_for_write(self.cache_model_class)
        with transaction.atomic(using=db):
            rows = self._lock_rows(db, sorted(names))
            now = timezone.now()
            held = Held({names[row.cache_key]: _decode(row.value) for row in rows if row.expires > now}, keys)
            yield held
            by_key = {key: name for name, key in names.items()}
            for key, (value, timeout) in held.changes.items():
                fields: dict[str, Any] = {"value": _encode(value)}
                if timeout is not _KEEP:
                    fields["expires"] = self._expiry(timeout)
                CacheEntry.objects.using(db).filter(pk=by_key[key]).update(**fields)
        if held.changes:
            self._purge_later(db)

    def _lock_rows(self, db: str, names: list[str]) -> list[CacheEntry]:
        """Insert the missing rows, then lock them all, each pass in key order (an insert waits only for another
        transaction's uncommitted insert of the same key): no two callers can wait for each other in a cycle."""
        entries = CacheEntry.objects.using(db)
        for _ in range(5):  # a row purged between our insert and our lock is inserted again
            entries.bulk_create([CacheEntry(cache_key=name, value=_encode(None), expires=_NEVER_LIVE)
                                 for name in names], ignore_conflicts=True)
            rows = list(entries.select_for_update().filter(cache_key__in=names).order_by("cache_key"))
            if len(rows) == len(names):
                return rows
        raise RuntimeError("could not lock the cache rows")

    def _expiry(self, timeout: Any) -> dt.datetime:
        at = self.get_backend_timeout(timeout)
        return _FOREVER if at is None else dt.datetime.fromtimestamp(at, tz=dt.UTC)

    # --- the cache API: reads never delete; add and incr are atomic -------------------------------------------

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        names = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not names:
            return {}
        db = router.db_for_read(self.cache_model_class)
        rows = CacheEntry.objects.using(db).filter(cache_key__in=list(names), expires__gt=timezone.now())
        return {names[name]: _decode(value) for name, value in rows.values_list("cache_key", "value")}

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        with self.locked([key], version=version) as held:
            if key in held:
                return False
            held.set(key, value, timeout)
            return True

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        with self.locked([key], version=version) as held:
            if key not in held:
                raise ValueError(f"Key '{key}' not found")
            value = held.get(key) + delta
            held.set(key, value, _KEEP)
            return value

    # --- expired rows ---------------------------------------------------------------------------------------------

    def _cull(self, db: str, cursor: Any, now: dt.datetime, num: int) -> None:
        """Django's DatabaseCache culls when the table has over MAX_ENTRIES rows: here only expired ones go."""
        self._purge(db)

    def _purge_later(self, db: str) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + _PURGE_INTERVAL_SECONDS
        transaction.on_commit(lambda: self._purge(db), using=db)

    def _purge(self, db: str) -> None:
        connection = connections[db]
        quote = connection.ops.quote_name
        table, key, expires = quote(self._table_name), quote("cache_key"), quote("expires")
        if connection.features.has_select_for_update_skip_locked:
            sql = (f"DELETE FROM {table} WHERE {key} IN "  # noqa: S608 - quoted names, no user input
                   f"(SELECT {key} FROM {table} WHERE {expires} < %s FOR UPDATE SKIP LOCKED)")
        else:
            sql = f"DELETE FROM {table} WHERE {expires} < %s"  # noqa: S608 - quoted names, no user input
        with connection.cursor() as cursor:
            cursor.execute(sql, [connection.ops.adapt_datetimefield_value(timezone.now())])
