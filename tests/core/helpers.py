"""Helpers for core's tests: reading raw columns and lifting the audit table's guard to simulate tampering."""
from __future__ import annotations

import importlib
from contextlib import contextmanager

from django.db import connection

_guard = importlib.import_module("jiaoguan.core.migrations.0002_audit_guard")
_sealed = importlib.import_module("jiaoguan.core.migrations.0006_audit_sealed_log")


def raw_columns(model, pk, *columns: str) -> tuple:
    """The stored values of ``columns`` for one row, bypassing the ORM (and its decryption)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)} = %s",
            [pk],
        )
        return cur.fetchone()


def raw_execute(sql: str, params=None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.rowcount


def audit_triggers(table: str = "core_auditentry") -> set[str]:
    """Names of the triggers now present (and enabled) on one of the audit tables."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
            return {r[0] for r in cur.fetchall()}
        cur.execute(
            f"SELECT tgname FROM pg_trigger WHERE tgrelid = '{table}'::regclass AND NOT tgisinternal "
            "AND tgenabled <> 'D'"
        )
        return {r[0] for r in cur.fetchall()}


@contextmanager
def audit_guard_lifted():
    """What an attacker with database access could do: switch off the append-only guards of the audit tables
    (entries, seals, subtree roots, signed heads), then restore them."""
    tables = ("core_auditentry", *_sealed.GUARDED)
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            for name in ("core_auditentry_no_update", "core_auditentry_no_delete", *_sealed.SQLITE_TRIGGERS):
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            for table in tables:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_change")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                for sql in [*_guard.SQLITE_GUARD, *_sealed.SQLITE_GUARDS]:
                    cur.execute(sql)
            else:
                for table in tables:
                    cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_change")
