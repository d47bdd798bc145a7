"""Periodic work of the postal app (declared with core.scheduler.periodic). (The simulator's own task lives in
simulator.py.)"""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.postal import services


@periodic(seconds=120)
@shared_task(name="postal.bookings_retry", ignore_result=True)
def bookings_retry() -> int:
    """Bookings the carrier has not accepted: query / book again with backoff, ending "failed"."""
    return services.shipments_booking_retry_due()


@periodic(seconds=3600)
@shared_task(name="postal.callback_nonces_purge", ignore_result=True)
def callback_nonces_purge() -> int:
    return services.callback_nonces_purge()
