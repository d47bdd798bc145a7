"""Today's hash chain carried into the sealed log (core migration 0006) stays verifiable."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jiaoguan.core import audit
from jiaoguan.core.models import AuditEntry, AuditSeal
from tests.core.helpers import audit_guard_lifted, raw_execute

BEFORE = [("core", "0005_cache_entry")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _legacy_rows(n: int) -> list[str]:
    """Rows as the old ``_append`` wrote them: id from the head, hash over the previous hash and the row."""
    prev, hashes = audit.GENESIS, []
    at = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    for i in range(1, n + 1):
        entry = AuditEntry(id=i, at=at + dt.timedelta(minutes=i), kind="change", actor_id=7, actor_label="窗口 王芳",
                           actor_role="clerk", action="licence.suspend", object_type="registry.drivinglicence",
                           object_id=str(i), subject_person_id=None, old={"status": "valid"},
                           new={"status": "suspended", "i": i}, reason=f"满分 {i}", ip="10.0.0.8")
        digest = audit._legacy_digest(prev, audit._hashed_fields(entry))
        raw_execute(
            "INSERT INTO core_auditentry (id, at, kind, actor_id, actor_label, actor_role, action, object_type, "
            "object_id, subject_person_id, old, new, reason, ip, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s, %s, %s)",
            [i, entry.at, entry.kind, 7, entry.actor_label, "clerk", entry.action, entry.object_type, str(i),
             json.dumps(entry.old), json.dumps(entry.new, ensure_ascii=False), entry.reason, entry.ip, prev, digest])
        hashes.append(digest)
        prev = digest
    raw_execute("UPDATE core_audithead SET last_id = %s, last_hash = %s WHERE id = 1", [n, prev])
    return hashes


@pytest.mark.django_db(transaction=True)
def test_the_old_chain_is_sealed_in_its_order_and_still_verifies():
    latest = _latest()
    try:
        _migrate(BEFORE)
        raw_execute("INSERT INTO core_audithead (id, last_id, last_hash) VALUES (1, 0, %s)", [audit.GENESIS])
        hashes = _legacy_rows(4)
        _migrate(latest)
        rows = list(AuditEntry.objects.order_by("id"))
        assert [r.digest for r in rows] == hashes and [r.hash for r in rows] == hashes
        report = audit.audit_verify()
        assert report.ok and (report.sealed, report.unsealed) == (0, 4)
        new = audit.audit_record(actor=audit.Actor.system(), action="after.migration", object_type="t", object_id=1)
        assert audit.audit_seal().sealed == 5
        assert list(AuditSeal.objects.order_by("seq").values_list("entry_id", flat=True)) == [1, 2, 3, 4, new.id]
        report = audit.audit_verify()
        assert report.ok and report.sealed == 5 and report.heads == 1
        # the old rule still catches a changed old row
        with audit_guard_lifted():
            raw_execute("UPDATE core_auditentry SET reason = 'x' WHERE id = 2")
        report = audit.audit_verify()
        assert (report.ok, report.first_broken_id) == (False, 2) and "hash" in report.problem
    finally:
        _migrate(latest)
