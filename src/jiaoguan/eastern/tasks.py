"""Periodic work of the eastern app (declared with core.scheduler.periodic)."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.eastern import services


@periodic(seconds=600)
@shared_task(name="eastern.no_shows_mark", ignore_result=True)
def no_shows_mark() -> int:
    """Bookings whose entry window has ended without an entry become no-shows (the engine's penalty rules:
    3 no-shows in a year blacklist the plate for the year)."""
    return services.no_shows_mark()
