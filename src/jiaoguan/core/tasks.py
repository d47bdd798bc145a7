"""core's Celery tasks: outbox delivery and its periodic re-dispatch sweep; the audit log's sealer."""
import logging
import time

from celery import shared_task
from django.conf import settings

from jiaoguan.core.audit import audit_health, audit_seal
from jiaoguan.core.outbox import event_deliver, events_due
from jiaoguan.core.scheduler import periodic

log = logging.getLogger("jiaoguan.audit")


@shared_task(name="core.outbox_deliver", ignore_result=True)
def outbox_deliver(event_id: int) -> str:
    return event_deliver(event_id)


@periodic(seconds=30)
@shared_task(name="core.outbox_redispatch", ignore_result=True)
def outbox_redispatch() -> int:
    """Hand every pending event whose time has come to the delivery task again (crash, broker outage, retry)."""
    due = events_due()
    for event_id in due:
        outbox_deliver.delay(event_id)
    return len(due)


@periodic(seconds=1)
@shared_task(name="core.audit_seal", ignore_result=True)
def audit_seal_task() -> int:
    """Seal the committed audit entries (one sealer at a time: a second one returns at once); keep going while
    whole batches come back, for up to ~5 seconds, so a rush is sealed within seconds."""
    started, total = time.monotonic(), 0
    while True:
        result = audit_seal()
        total += result.sealed
        if result.busy or result.sealed < settings.JIAOGUAN_AUDIT_SEAL_BATCH or time.monotonic() - started > 5:
            break
    health = audit_health()
    if not health.ok:
        log.error("audit: %s entries unsealed, the oldest for %.0f s (alarm above %s s)", health.unsealed,
                  health.oldest_unsealed_seconds, health.threshold_seconds)
    return total
