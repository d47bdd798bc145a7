"""Celery tasks of the payments app: the simulator's asynchronous callbacks and refunds, order expiry."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic


@shared_task(name="payments.sim_notify", ignore_result=True, autoretry_for=(OSError,), retry_backoff=5,
             max_retries=5)
def sim_notify(body: str, headers: dict) -> None:
    from jiaoguan.payments.simulator import sim_deliver

    sim_deliver(body.encode("utf-8"), headers)


@shared_task(name="payments.sim_refund_process", ignore_result=True)
def sim_refund_process(refund_id: int) -> None:
    from jiaoguan.payments.simulator import sim_refund_complete

    sim_refund_complete(refund_id=refund_id)


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
