"""Functions the fault tests call in separate Django processes (tests.processes)."""
from __future__ import annotations

import time


def notice_emit(*, user_id: int, phone: str, code: str) -> dict:
    """Emit the workers' test notice in one transaction, as a service would; how long the commit (and its
    dispatch to the broker) took, and the event ids."""
    from django.db import transaction

    import tests.workers.handlers  # noqa: F401 - subscribes the handler
    from jiaoguan.core.outbox import event_emit

    started = time.monotonic()
    with transaction.atomic():
        events = event_emit(topic="test.workers.notice", payload={"user_id": user_id, "phone": phone, "code": code})
    return {"ids": [e.pk for e in events], "seconds": time.monotonic() - started}
