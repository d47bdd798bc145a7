"""Helpers for core's tests: reading raw columns and lifting the audit table's guard to simulate tampering."""
from __future__ import annotations

import importlib
from contextlib import contextmanager

from django.db import connection

_guard = importlib.import_module("jiaoguan.core.migrations.0002_audit_guard")


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


def audit_triggers() -> set[str]:
    """Names of the append-only triggers now present on core_auditentry."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditentry'")
            return {r[0] for r in cur.fetchall()}
        cur.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditentry'::regclass AND NOT tgisinternal "
            "AND tgenabled <> 'D'"
        )
        return {r[0] for r in cur.fetchall()}


@contextmanager
def audit_guard_lifted():
    """What an attacker with database access could do: switch off the append-only guard, then restore it."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
            cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
        else:
            cur.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_change")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                for sql in _guard.SQLITE_GUARD:
                    cur.execute(sql)
            else:
                cur.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_change")
