"""Periodic work of the postal app (declared with core.scheduler.periodic), and the simulator's callbacks."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic


@shared_task(name="postal.sim_notify", ignore_result=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def sim_notify(body: str, headers: dict) -> None:
    from jiaoguan.postal.simulator import sim_deliver

    sim_deliver(body.encode("utf-8"), headers)


@periodic(seconds=120)
@shared_task(name="postal.bookings_retry", ignore_result=True)
def bookings_retry() -> int:
    """Bookings the carrier has not accepted: query / book again with backoff, ending "failed"."""
    from jiaoguan.postal.services import shipments_booking_retry_due

    return shipments_booking_retry_due()


@periodic(seconds=3600)
@shared_task(name="postal.callback_nonces_purge", ignore_result=True)
def callback_nonces_purge() -> int:
    from jiaoguan.postal.services import callback_nonces_purge as run

    return run()
