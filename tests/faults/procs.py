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


def write_load(*, stop_file: str, limit: int = 2000) -> dict:
    """Audited writes, each with an outbox event, until ``stop_file`` exists: a user, a bookings resource (audited)
    and the workers' test notice to the user, in one transaction each, as a service writes them."""
    import os
    from pathlib import Path

    from django.db import transaction

    import tests.workers.handlers  # noqa: F401 - subscribes the handler
    from jiaoguan.bookings import services
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.outbox import event_emit
    from jiaoguan.identity.models import User

    actor, tag, n = Actor.system("test.load"), f"ld{os.getpid()}", 0
    while n < limit and not Path(stop_file).exists():
        n += 1
        with transaction.atomic():
            u = User.objects.create_user(username=f"{tag}-{n}", role="citizen")
            services.resource_create(kind="counter", code=f"{tag}-{n}", name_zh=f"负载{n}", name_en=f"Load {n}",
                                     actor=actor)
            event_emit(topic="test.workers.notice", payload={"user_id": u.pk, "phone": "13900009999",
                                                             "code": f"{n % 1000000:06d}"})
    return {"writes": n}
