"""The sealer killed with SIGKILL in the middle of a batch: nothing is half sealed, nothing lost or sealed twice."""
from __future__ import annotations

import os
import signal
import time

import pytest

from jiaoguan.core import audit
from jiaoguan.core.models import AuditEntry, AuditPending, AuditSeal, AuditSealer
from tests.processes import django_processes


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_sealer_killed_mid_batch_leaves_the_log_as_it_was(tmp_path):
    actor = audit.Actor.system("fault test")
    audit.audit_records(actor=actor, changes=[audit.Change(action="x.y", object_type="t", object_id=i)
                                              for i in range(5000)])
    assert audit.audit_seal(batch=1000).sealed == 1000  # a log that already has a sealed part and a head
    marker = tmp_path / "mid-batch"
    with django_processes(1) as (proc,):
        proc.send("tests.core.procs_audit:seal_and_hang", {"marker": str(marker)})
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the sealer never reached the middle of its batch"
            time.sleep(0.05)
        os.kill(proc.proc.pid, signal.SIGKILL)
        proc.proc.wait(30)
    # PostgreSQL rolled the sealer's transaction back when its connection died; its advisory lock went with it
    assert AuditSeal.objects.count() == 1000 and AuditPending.objects.count() == 4000
    assert AuditSealer.objects.get(id=1).tree_size == 1000
    deadline = time.monotonic() + 30
    while (result := audit.audit_seal(batch=100_000)).busy:  # until the server has noticed the dead client
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert result.sealed == 4000
    report = audit.audit_verify()
    assert report.ok and report.sealed == AuditEntry.objects.count() == 5000
    assert AuditSeal.objects.values("entry_id").distinct().count() == 5000
