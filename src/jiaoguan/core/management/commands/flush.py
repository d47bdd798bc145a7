"""``manage.py flush`` that still works with the append-only audit table on SQLite.

On PostgreSQL, flush empties tables with TRUNCATE, which does not fire the audit table's row triggers. SQLite has
no TRUNCATE: flush runs ``DELETE FROM core_auditentry``, which the guard triggers refuse, so emptying a database
(and every transactional test or live-server browser test, which flush between tests) failed as soon as one
audit row existed. Flushing destroys every table on purpose, so here the SQLite guard is lifted for the flush
and put back right after it, whatever the outcome.
"""
from __future__ import annotations

import importlib
from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

_guard = importlib.import_module("jiaoguan.core.migrations.0002_audit_guard")
_sealed = importlib.import_module("jiaoguan.core.migrations.0006_audit_sealed_log")
SQLITE_TRIGGERS = ("core_auditentry_no_update", "core_auditentry_no_delete", *_sealed.SQLITE_TRIGGERS)


def _audit_table_exists(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return "core_auditentry" in connection.introspection.table_names(cursor)


class Command(DjangoFlushCommand):
    help = DjangoFlushCommand.help + " (The audit table's append-only guard is lifted on SQLite for the flush only.)"

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite" or not _audit_table_exists(connection):
            return super().handle(**options)
        with connection.cursor() as cursor:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                for sql in [*_guard.SQLITE_GUARD, *_sealed.SQLITE_GUARDS]:
                    cursor.execute(sql)
