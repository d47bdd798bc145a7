"""One way to take locks (ARCHITECTURE §4), after pretix's ``lock_objects`` (base/services/locking.py).

A transaction that waits for a lock while holding another can deadlock with one that takes the same two in the
other order; PostgreSQL then aborts one of them (a 500 for a citizen). So locks go through this module (the
bookings engine, and the batch and revocation paths that lock across apps, do already; a plain
``select_for_update`` elsewhere is the next thing to move here), which

- refuses to run outside a transaction (a lock in autocommit mode is released at once and protects nothing);
- takes the rows (``lock_rows``) or named keys (``lock_keys``, transaction-scoped advisory locks) of one call
  in one sorted order, so two callers that lock overlapping sets cannot cross;
- bounds every wait with ``lock_timeout`` (``JIAOGUAN_LOCK_TIMEOUT``): a lock that is not granted in time is a
  clean 409 ``core.busy`` ("try again"), never an endless wait;

Appending to the audit log takes no lock at all (``core.audit``: an INSERT, sealed later by the sealer), so it
has no place in the order and an audit row may be written at any point of a transaction.

The global order (docs/architecture.md, "Lock order"): a domain app's own records (permit, station, area, ...)
→ bookings: slot → its quotas (by id) → exclusive keys (sorted) → the party (penalties).
Within one call, rows by primary key and keys by their 64-bit hash. SQLite serialises writers with
``BEGIN IMMEDIATE``: the checks run there too (so the test suite finds a lock taken too late on either
database), the locks themselves are no-ops.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, models

from jiaoguan.core.errors import Conflict

M = TypeVar("M", bound=models.Model)


def _busy() -> Conflict:
    return Conflict("core.busy", "系统繁忙，该业务正在另一处办理，请稍后再试",
                    "This is being handled elsewhere right now; please try again in a moment")


def _timeout() -> str:
    seconds = float(settings.JIAOGUAN_LOCK_TIMEOUT)
    return f"{int(seconds * 1000)}ms"


def in_transaction() -> bool:
    """Whether the code runs inside a transaction it (or its caller) opened — a test case's wrapping blocks do not
    count. A rule shared by a write and a read-only check locks only in the former."""
    return connection.in_atomic_block and not all(
        getattr(b, "_from_testcase", False) for b in connection.atomic_blocks)


def _check(what: str) -> None:
    """Refuse a lock outside a transaction (in autocommit it would be released at once)."""
    if not in_transaction():
        raise RuntimeError(f"{what}: locks are taken inside a transaction (transaction.atomic()), never outside")


@contextmanager
def bounded() -> Iterator[None]:
    """``lock_timeout`` (``JIAOGUAN_LOCK_TIMEOUT``) for the statements inside, the transaction's own setting restored
    afterwards; a lock not granted in time becomes ``core.busy``. ``lock_rows`` and ``lock_keys`` bound themselves;
    a caller that takes several locks one after another (``seat_book``: the quota, then the key) wraps them in one
    ``bounded()`` and pays the set/restore round trips once. Nested blocks set nothing more."""
    outer = not getattr(connection, "_jiaoguan_bounded", False)
    if outer and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [_timeout()])
            previous = cur.fetchone()[0]
    connection._jiaoguan_bounded = True  # type: ignore[attr-defined]
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise _busy() from None
        raise
    finally:
        if outer:
            connection._jiaoguan_bounded = False  # type: ignore[attr-defined]
    if outer and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def lock_rows(queryset: models.QuerySet[M] | type[M], pks: Iterable[int] | None = None, *,
              related: Iterable[str] = ()) -> list[M]:
    """Lock the rows of ``queryset`` (or the model's rows with these primary keys), only those rows
    (``FOR UPDATE OF`` the model's own table, never the joined ones), in ascending primary-key order; return
    them in that order, with ``related`` joined in (``select_related``)."""
    model = queryset if isinstance(queryset, type) else queryset.model
    label = model._meta.label_lower
    qs = model._default_manager.all() if isinstance(queryset, type) else queryset
    if pks is not None:
        qs = qs.filter(pk__in=sorted(set(pks)))
    qs = qs.select_related(*related).order_by("pk")
    _check(f"lock_rows({label})")
    if connection.vendor == "postgresql":
        with bounded():
            # ORDER BY below FOR UPDATE: PostgreSQL sorts first, then locks the rows in that order
            rows = list(qs.select_for_update(of=("self",)))
    else:
        rows = list(qs)
    return rows


def lock_id(model: type[models.Model], pk: int) -> bool:
    """Lock one row of ``model`` by primary key, without reading it (the caller has read it already, or reads it
    again after the lock): one hand-written ``SELECT … FOR UPDATE``, no query compilation. True if the row
    exists."""
    _check(f"lock_id({model._meta.label_lower})")
    qn = connection.ops.quote_name
    pk_field = model._meta.pk
    assert pk_field is not None and pk_field.column is not None
    table, column = qn(model._meta.db_table), qn(pk_field.column)
    suffix = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with bounded(), connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {table} WHERE {column} = %s{suffix}", [pk])
        return cur.fetchone() is not None


def lock_row(queryset: models.QuerySet[M] | type[M], pk: int, *, related: Iterable[str] = ()) -> M | None:
    """One row locked (``lock_rows`` for a single primary key); None when there is no such row."""
    rows = lock_rows(queryset, [pk], related=related)
    return rows[0] if rows else None


def key_hash(key: str) -> int:
    """A stable signed 64-bit number for a lock name ("bookings.party:粤B12345"), for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def lock_keys(keys: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on these names, in ascending order of their hash, in one statement.
    Names are namespaced by the caller ("bookings.key:…", "bookings.party:…")."""
    keys = set(keys)
    _check("lock_keys")
    hashes = sorted({key_hash(k) for k in keys})
    if not hashes or connection.vendor != "postgresql":
        return
    calls = ", ".join("pg_advisory_xact_lock(%s)" for _ in hashes)
    with bounded(), connection.cursor() as cur:
        cur.execute(f"SELECT {calls}", hashes)
