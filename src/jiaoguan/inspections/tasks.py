"""Periodic work of the inspections app: 永不脱检, the daily sweep that issues exempt-year vehicles' marks and posts
them (idempotent: one mark per vehicle and due point)."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.inspections import services


@periodic(seconds=86400)
@shared_task(name="inspections.marks_auto", ignore_result=True)
def marks_auto() -> int:
    return services.marks_auto_issue()
