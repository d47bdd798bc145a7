"""Periodic work of the violations app."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.violations import services, signing


@periodic(seconds=3600)
@shared_task(name="violations.points_cycles_open", ignore_result=True)
def points_cycles_open() -> int:
    """At each scoring cycle's end, open the next cycle's points account with what carries over."""
    return services.points_cycles_open()


@periodic(seconds=3600)
@shared_task(name="violations.device_nonces_purge", ignore_result=True)
def device_nonces_purge() -> int:
    return signing.device_nonces_purge()


@periodic(seconds=86400)
@shared_task(name="violations.probation_review", ignore_result=True)
def probation_review() -> int:
    """实习期延长: A/B drivers whose probation year ended with 6–11 points get one more year."""
    return services.probation_review()
