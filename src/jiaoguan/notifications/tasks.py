"""Celery tasks of the notifications app: deliver one SMS, and the periodic sweep that re-dispatches."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.notifications.selectors import messages_due
from jiaoguan.notifications.services import message_deliver


@shared_task(name="notifications.message_deliver", ignore_result=True)
def message_deliver_task(message_id: int) -> str:
    # Idempotent: message_deliver locks the row and does nothing unless the message is due.
    return message_deliver(message_id=message_id)


@periodic(seconds=30)
@shared_task(name="notifications.messages_redispatch", ignore_result=True)
def messages_redispatch() -> int:
    """Hand every SMS whose time has come (a retry after backoff, a lost dispatch, an attempt stuck in
    "sending" after a worker crash) to the delivery task again."""
    due = messages_due()
    for message_id in due:
        message_deliver_task.delay(message_id)
    return len(due)
