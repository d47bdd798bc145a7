"""core's Celery tasks: outbox delivery and its periodic re-dispatch sweep."""
from celery import shared_task

from jiaoguan.core.outbox import event_deliver, events_due
from jiaoguan.core.scheduler import periodic


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
