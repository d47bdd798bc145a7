"""Periodic work of the payments app: order expiry, refund retries, late-fee notices. (The simulator's own tasks
live in simulator.py.)"""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.payments import services


@periodic(seconds=300)
@shared_task(name="payments.orders_expire", ignore_result=True)
def orders_expire() -> int:
    return services.orders_expire()


@periodic(seconds=600)
@shared_task(name="payments.refunds_retry", ignore_result=True)
def refunds_retry() -> int:
    return services.refunds_retry_due()


@periodic(seconds=3600)
@shared_task(name="payments.late_fee_notices", ignore_result=True)
def late_fee_notices() -> int:
    """Tell payers, once per item, that the late fee on an unpaid fine has started (within the hour after local
    midnight of its first late day)."""
    return services.late_fee_notices_send()


@periodic(seconds=600)
@shared_task(name="payments.callback_replays_purge", ignore_result=True)
def callback_replays_purge() -> int:
    return services.callback_replays_purge()
