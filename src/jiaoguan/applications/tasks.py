"""Periodic work of the applications app: time-limit warnings, the overdue sweep (idempotent: an application
is warned once and escalated once) and closing applications whose fee was not paid in time."""
from celery import shared_task

from jiaoguan.applications import services
from jiaoguan.core.scheduler import periodic


@periodic(seconds=900)
@shared_task(name="applications.warn_due_soon", ignore_result=True)
def warn_due_soon() -> int:
    return services.applications_warn_due_soon()


@periodic(seconds=900)
@shared_task(name="applications.escalate_overdue", ignore_result=True)
def escalate_overdue() -> int:
    return services.applications_escalate_overdue()


@periodic(seconds=900)
@shared_task(name="applications.lapse_unpaid", ignore_result=True)
def lapse_unpaid() -> int:
    return services.applications_lapse_unpaid()
