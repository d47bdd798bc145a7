"""Functions the audit fault tests run in a separate process (tests.processes)."""
from __future__ import annotations

import time
from pathlib import Path


def seal_and_hang(marker: str) -> int:
    """Seal one big batch, but stop in the middle of the transaction (seals inserted, nothing committed), write
    the marker file and hang there until the test kills the process."""
    from jiaoguan.core import audit
    from jiaoguan.core.models import AuditNode

    original = AuditNode.objects.bulk_create

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        Path(marker).write_text("mid-batch")
        time.sleep(120)
        return result

    AuditNode.objects.bulk_create = slow  # type: ignore[method-assign]
    return audit.audit_seal(batch=100_000).sealed
