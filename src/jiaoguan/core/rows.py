"""Hand-written reads for the hottest paths: one statement, no query compilation per request.

The ORM compiles a queryset into SQL on every call: 0.3–1 ms of Python for a join with ``select_related``, which
is most of the cost of a request that reads one row (docs/performance.md §9). A hot read whose shape never
changes may write its SQL once instead, with ``columns()`` for the select list, bind its parameters with
``param()`` and build the model instances with ``instance()``: the same values, the same converters (an
EncryptedField decrypted, SQLite's datetimes parsed) and the same ``_state`` as the ORM would give, so the
objects behave exactly like queried ones (saving, related access, equality).

Use it only where a profile shows the compilation matters; everywhere else the ORM is the one way to read.

On PostgreSQL ``fetchone()`` runs such a statement as a server-side prepared statement: PostgreSQL plans a
three-table join in ~0.27 ms and runs it in ~0.1 ms, so planning it once per connection (persistent connections,
CONN_MAX_AGE) removes most of its cost. Django leaves prepared statements off for the ORM (connection poolers in
transaction mode do not keep them); these few fixed statements are prepared explicitly, through Django's cursor
wrapper (query log, error wrapping). Behind PgBouncer in transaction mode set
``JIAOGUAN_DB_PREPARED_STATEMENTS=0``.

    sql = f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')} FROM … WHERE t.token_hash = %s"
    values = rows.fetchone(sql, [digest])
    token = rows.instance(ApiToken, values, start=0)
    user = rows.instance(User, values, start=rows.width(ApiToken))
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)


@cache
def _fields(model: type[models.Model]) -> tuple[Any, ...]:
    return tuple(model._meta.concrete_fields)


@cache
def _names(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in _fields(model))


def width(model: type[models.Model]) -> int:
    """How many columns ``columns(model, …)`` selects."""
    return len(_fields(model))


@cache
def columns(model: type[models.Model], alias: str) -> str:
    """The select list of every concrete column of ``model`` under the table alias ``alias``, in the order
    ``instance()`` reads them."""
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return ", ".join(f"{alias}.{qn(f.column)}" for f in _fields(model))


@cache
def _converters(model: type[models.Model], using: str) -> tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]:
    """Per column that needs any: (position, converters, expression), as the ORM's compiler would apply them
    (the backend's first, then the field's own ``from_db_value``)."""
    connection = connections[using]
    out = []
    for i, field in enumerate(_fields(model)):
        col = field.get_col(model._meta.db_table)
        found = tuple(connection.ops.get_db_converters(col)) + tuple(field.get_db_converters(connection))
        if found:
            out.append((i, found, col))
    return tuple(out)


def instance(model: type[M], values: Sequence[Any], *, start: int = 0, using: str = DEFAULT_DB_ALIAS) -> M:
    """The ``model`` instance whose columns are ``values[start:start + width(model)]`` (as ``columns()`` selected
    them), converted as the ORM converts them."""
    row = list(values[start:start + len(_fields(model))])
    connection = connections[using]
    for i, converters, col in _converters(model, using):
        value = row[i]
        for convert in converters:
            value = convert(value, col, connection)
        row[i] = value
    return model.from_db(using, list(_names(model)), row)


def param(model: type[models.Model], field_name: str, value: Any, *, using: str = DEFAULT_DB_ALIAS) -> Any:
    """``value`` as the database takes it for ``model.field_name`` (a datetime for SQLite's text column, say)."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.Field), f"{model.__name__}.{field_name} is not a column"
    return field.get_db_prep_value(value, connections[using])


def convert(model: type[models.Model], field_name: str, value: Any, *, using: str = DEFAULT_DB_ALIAS) -> Any:
    """One column's value as read by a hand-written statement, converted as the ORM converts ``model.field_name``
    (a datetime from SQLite's text, an EncryptedField decrypted)."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.Field), f"{model.__name__}.{field_name} is not a column"
    connection = connections[using]
    col = field.get_col(model._meta.db_table)
    for conv in tuple(connection.ops.get_db_converters(col)) + tuple(field.get_db_converters(connection)):
        value = conv(value, col, connection)
    return value


@cache
def _prepared_class() -> type:
    import psycopg

    class Prepared(psycopg.Cursor):
        """A server-side-binding cursor whose every statement is prepared (once per connection)."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True)

    return Prepared


def _prepared_cursor(connection: Any) -> Any:
    """Django's plain cursor wrapper (execute wrappers, error wrapping) around a preparing psycopg cursor; the query
    log is written by fetchone (Django's debug wrapper cannot show a prepared statement's text)."""
    from django.db.backends.utils import CursorWrapper

    connection.close_if_health_check_failed()  # as Django's own cursor(): a connection a restart killed is replaced
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparation off; prepare=True alone does not override that.
        raw.prepare_threshold = 2**31 - 1  # only prepare=True prepares (Django's own cursors bind client-side)
    with connection.wrap_database_errors:
        connection.validate_thread_sharing()
        return CursorWrapper(_prepared_class()(raw), connection)


def _logged(connection: Any, sql: str, params: Sequence[Any], started: float) -> None:
    """What Django's debug cursor records (connection.queries, CaptureQueriesContext), for a prepared statement."""
    if not connection.queries_logged:
        return
    try:
        text = connection.ops.compose_sql(sql, params)
    except Exception:  # noqa: BLE001 - only the log's copy of the text: never fail the read for it
        text = sql
    connection.queries_log.append({"sql": text, "time": f"{time.monotonic() - started:.3f}"})


def _run(sql: str, params: Sequence[Any], using: str, fetch: Callable[[Any], Any]) -> Any:
    connection = connections[using]
    if connection.vendor == "postgresql" and getattr(settings, "JIAOGUAN_DB_PREPARED_STATEMENTS", True):
        started = time.monotonic()
        with _prepared_cursor(connection) as cur:
            cur.execute(sql, params)
            found = fetch(cur)
        _logged(connection, sql, params, started)
        return found
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return fetch(cur)


def fetchone(sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> tuple[Any, ...] | None:
    """Run one fixed hand-written statement (``%s`` placeholders) and return its first row: on PostgreSQL as a
    prepared statement (planned once per connection), elsewhere through Django's ordinary cursor."""
    return _run(sql, params, using, lambda cur: cur.fetchone())  # type: ignore[no-any-return]


def fetchall(sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
    """``fetchone``'s every row (a statement with a LIMIT: the hot reads are small)."""
    return _run(sql, params, using, lambda cur: cur.fetchall())  # type: ignore[no-any-return]
