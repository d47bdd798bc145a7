"""Periodic work of the plates app (declared with core.scheduler.periodic)."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.plates import services


@periodic(seconds=60)
@shared_task(name="plates.release_expired_holds", ignore_result=True)
def release_expired_holds() -> int:
    """Numbers held past their expiry go back to the pool (each exactly once, even with two sweeps at once)."""
    return services.plates_release_expired()
