"""Idempotency keys (ARCHITECTURE §4): a repeated POST with the same key returns the first result.

    result = idempotent(scope=f"user:{user.pk}:bindings", key=request.headers["Idempotency-Key"],
                        fingerprint=body_bytes, run=lambda: (201, {...}))

``run`` returns (status_code, json-able body) and must do its writes inside the same transaction. A concurrent
duplicate waits on the unique key and then replays the stored result. The same key with a different request
body is refused with 422.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from django.db import connection, transaction

from jiaoguan.core import clock, rows
from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.core.models import IdempotencyKey

Result = tuple[int, Any]


def _fingerprint(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def validate_key(key: str | None) -> str:
    key = (key or "").strip()
    if not (8 <= len(key) <= 120) or not key.isascii() or not key.isprintable():
        raise InvalidInput("core.idempotency_key", "请求缺少有效的 Idempotency-Key（8–120个字符）",
                           "A valid Idempotency-Key header (8–120 characters) is required",
                           field="Idempotency-Key")
    return key


def _mismatch() -> InvalidInput:
    return InvalidInput("core.idempotency_mismatch", "同一个 Idempotency-Key 不能用于不同的请求",
                        "This Idempotency-Key was already used for a different request")


def _claim(*, scope: str, key: str, fingerprint: str) -> int | None:
    """Insert the key row, or nothing when (scope, key) exists: one statement, no savepoint (PostgreSQL and
    SQLite ≥ 3.35: ``ON CONFLICT DO NOTHING RETURNING``). PostgreSQL makes a concurrent duplicate wait here for
    the first request's transaction, as a plain insert would. Returns the new row's id, or None for a repeat."""
    qn = connection.ops.quote_name
    meta = IdempotencyKey._meta
    created_at = meta.get_field("created_at").get_db_prep_value(clock.now(), connection)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {qn(meta.db_table)} ({qn('scope')}, {qn('key')}, {qn('fingerprint')}, {qn('created_at')}) "
            f"VALUES (%s, %s, %s, %s) ON CONFLICT ({qn('scope')}, {qn('key')}) DO NOTHING RETURNING {qn('id')}",
            [scope, key, fingerprint, created_at])
        row = cur.fetchone()
    return row[0] if row else None


@cache
def _stored_sql() -> str:
    qn = connection.ops.quote_name
    return (f"SELECT {qn('fingerprint')}, {qn('status_code')}, {qn('response')} "
            f"FROM {qn(IdempotencyKey._meta.db_table)} WHERE {qn('scope')} = %s AND {qn('key')} = %s")


def _stored(*, scope: str, key: str) -> tuple[str, int | None, Any] | None:
    """The stored (fingerprint, status, answer) of a committed request with this key, or None: one prepared
    read (``core.rows``)."""
    row = rows.fetchone(_stored_sql(), [scope, key])
    if row is None:
        return None
    return row[0], row[1], rows.convert(IdempotencyKey, "response", row[2])


def idempotent(*, scope: str, key: str, fingerprint: bytes | str, run: Callable[[], Result],
               precheck: Callable[[], object] | None = None) -> Result:
    """Run once per (scope, key). A refusal (DomainError) rolls back and stores nothing, so a retry is
    evaluated afresh; a success is stored with the writes it made, atomically.

    ``precheck``: the refusals that need no write (plain reads, no transaction), asked before the key is claimed,
    so the commonest answer of a rush ("full") costs reads only. When it refuses, a request already stored under
    this key (a retry of one that succeeded, and has since made the check fail — "already booked") gets its stored
    answer, as a repeat always does; otherwise the refusal stands and nothing is written."""
    key = validate_key(key)
    fp = _fingerprint(fingerprint)
    if precheck is not None:
        try:
            precheck()
        except DomainError:
            stored = _stored(scope=scope, key=key)
            if stored is None:
                raise
            if stored[0] != fp:
                raise _mismatch() from None
            return cast(int, stored[1]), stored[2]
    with transaction.atomic():
        row_id = _claim(scope=scope, key=key, fingerprint=fp)
        if row_id is None:
            # A repeat, or a concurrent duplicate that has now committed (PostgreSQL made us wait for it).
            row = IdempotencyKey.objects.get(scope=scope, key=key)
            if row.fingerprint != fp:
                raise _mismatch()
            # committed with its result: the first request's transaction wrote both before it committed
            return cast(int, row.status_code), row.response
        status, body = run()
        IdempotencyKey.objects.filter(pk=row_id).update(status_code=status, response=body,
                                                        completed_at=clock.now())
        return status, body


def seen(scope: str, key: str) -> bool:
    """True once a request with this (scope, key) has been stored: a caller that checks something before entering
    ``idempotent`` (whose transaction would roll a counted check back) skips the check on a replay."""
    return IdempotencyKey.objects.filter(scope=scope, key=key).exists()


def user_scope(user: Any, action: str) -> str:
    """The idempotency scope of one user's action: a key is only ever replayed to the user who sent it."""
    return f"user:{user.pk}:{action}"


def once_for(user: Any, action: str, *, key: str | None, fingerprint: bytes | str,
             run: Callable[[], Result], precheck: Callable[[], object] | None = None) -> Result:
    """``idempotent`` scoped to ``user`` and ``action``: the one call pages make for a form's hidden key."""
    return idempotent(scope=user_scope(user, action), key=key or "", fingerprint=fingerprint, run=run,
                      precheck=precheck)


def api_once(request: Any, user: Any, action: str, *, fingerprint: bytes | str, run: Callable[[], Result],
             precheck: Callable[[], object] | None = None) -> Any:
    """The idempotent-endpoint wrapper of the API: the request's ``Idempotency-Key`` header, scoped to ``user``
    and ``action``, answered as a ninja ``Status`` (the first result again on a repeat)."""
    from ninja import Status  # the API layer's response type; core's other modules do not need ninja

    return Status(*once_for(user, action, key=request.headers.get("Idempotency-Key"), fingerprint=fingerprint,
                            run=run, precheck=precheck))
