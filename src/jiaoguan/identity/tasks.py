"""Periodic work of the identity app: changes of the phone on file whose cooling-off period is over take effect
(or lapse), one transaction each; idempotent (a change is applied once, from the cooling state only)."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.identity import services


@periodic(seconds=300)
@shared_task(name="identity.phone_file_apply", ignore_result=True)
def phone_file_apply() -> int:
    return services.phone_on_file_changes_apply()
