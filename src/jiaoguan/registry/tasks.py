"""registry's periodic work: licences move to expired / cancelled when their dates pass, and points move on when
a scoring cycle ends."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic


@periodic(seconds=3600)
@shared_task(name="registry.licence_expiry_sweep", ignore_result=True)
def licence_expiry_sweep() -> dict[str, int]:
    """Hourly (the dates change once a day; hourly keeps a restarted scheduler from missing a day)."""
    from jiaoguan.registry.services import licences_apply_dates

    return licences_apply_dates()


@periodic(seconds=3600)
@shared_task(name="registry.points_cycle_rollover", ignore_result=True)
def points_cycle_rollover() -> dict[str, int]:
    """Hourly, like the expiry sweep: clear (or carry over) the points of scoring cycles that have ended. With no
    fines in the platform yet no point is tied to an unpaid fine (see ``no_unpaid_fine_points``)."""
    from jiaoguan.registry.services import licences_points_rollover

    return licences_points_rollover()
