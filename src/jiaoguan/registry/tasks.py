"""registry's periodic work: licences move to expired / cancelled when their dates pass."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic


@periodic(seconds=3600)
@shared_task(name="registry.licence_expiry_sweep", ignore_result=True)
def licence_expiry_sweep() -> dict[str, int]:
    """Hourly (the dates change once a day; hourly keeps a restarted scheduler from missing a day)."""
    from jiaoguan.registry.services import licences_apply_dates

    return licences_apply_dates()
