"""Periodic work of the bookings app: end expired holds, close ranked windows, run the allocation."""
from celery import shared_task

from jiaoguan.bookings import rules, services
from jiaoguan.core.audit import Actor
from jiaoguan.core.scheduler import periodic


@periodic(seconds=30)
@shared_task(name="bookings.holds_expire", ignore_result=True)
def holds_expire() -> int:
    return services.holds_expire()


@periodic(seconds=rules.ALLOCATE_EVERY_SECONDS)
@shared_task(name="bookings.applications_allocate", ignore_result=True)
def applications_allocate() -> int:
    """Close ranked windows that have passed and allocate them (DOMAIN §6: results published at once)."""
    services.slots_close()
    return services.applications_allocate(actor=Actor.system("bookings.allocation")).allocated
