"""Periodic work of the payments app: order expiry, refund retries, late-fee notices. (The simulator's own tasks
live in simulator.py.)"""
from celery import shared_task

from jiaoguan.core.scheduler import periodic


@periodic(seconds=300)
@shared_task(name="payments.orders_expire", ignore_result=True)
def orders_expire() -> int:
    from jiaoguan.payments.services import orders_expire as run

    return run()


@periodic(seconds=600)
@shared_task(name="payments.refunds_retry", ignore_result=True)
def refunds_retry() -> int:
    from jiaoguan.payments.services import refunds_retry_due

    return refunds_retry_due()


@periodic(seconds=3600)
@shared_task(name="payments.late_fee_notices", ignore_result=True)
def late_fee_notices() -> int:
    """Tell payers, once per item, that the late fee on an unpaid fine has started (within the hour after local
    midnight of its first late day)."""
    from jiaoguan.payments.services import late_fee_notices_send

    return late_fee_notices_send()
