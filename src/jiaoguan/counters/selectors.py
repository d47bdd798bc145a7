"""Reads of counter appointments. Free seats shown here are for display; booking counts again under the lock."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.core.ids import parse_id
from jiaoguan.counters.models import CounterService, EnterpriseBatch, Office, OfficeService
from jiaoguan.registry.selectors import vehicles_of_enterprise

KIND = "counter"  # the bookings resource kind of counter services

# The choices the pages show and offer (this app's models' reference data, read through here)
ServiceSubject = CounterService.Subject


def offices_with_services(*, active_only: bool = True) -> list[Office]:
    services = OfficeService.objects.select_related("service").order_by("service__sort", "service__code")
    offices = Office.objects.all()
    if active_only:
        services = services.filter(active=True, service__active=True)
        offices = offices.filter(active=True)
    return list(offices.prefetch_related(Prefetch("services", queryset=services)).order_by("code"))


def office_get(*, office_id: int, active_only: bool = True) -> Office:
    if parse_id(office_id) is None:
        raise not_found("办理网点", "office")
    qs = Office.objects.filter(pk=office_id)
    if active_only:
        qs = qs.filter(active=True)
    office = qs.first()
    if office is None:
        raise not_found("办理网点", "office")
    return office


def office_service_get(*, office: Office, service_code: str, active_only: bool = True) -> OfficeService:
    qs = OfficeService.objects.select_related("office", "service", "resource").filter(
        office=office, service__code=service_code)
    if active_only:
        qs = qs.filter(active=True, service__active=True)
    os_ = qs.first()
    if os_ is None:
        raise not_found("窗口业务", "counter service")
    return os_


def office_service_by_id(*, office_service_id: int) -> OfficeService:
    if parse_id(office_service_id) is None:
        raise not_found("窗口业务", "counter service")
    os_ = OfficeService.objects.select_related("office", "service", "resource").filter(pk=office_service_id).first()
    if os_ is None:
        raise not_found("窗口业务", "counter service")
    return os_


def office_services_all() -> QuerySet[OfficeService]:
    return OfficeService.objects.select_related("office", "service", "resource").order_by(
        "office__code", "service__sort", "service__code")


def services_catalogue() -> QuerySet[CounterService]:
    return CounterService.objects.filter(active=True).order_by("sort", "code")


@dataclass(frozen=True)
class SlotRow:
    slot: object  # bookings.Slot
    capacity: int
    taken: int
    bookable: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)


def day_slots(*, office_service: OfficeService, day: dt.date) -> list[SlotRow]:
    """The day's slots with seats and seats taken (bookings.selectors.slots_taken: two queries)."""
    start, end = clock.day_bounds(day)
    now = clock.now()
    slots = list(booking_selectors.slots_for_resource(resource=office_service.resource, start=start, end=end))
    figures = booking_selectors.slots_taken(slot_ids=[s.pk for s in slots])
    return [SlotRow(slot=s, capacity=figures[s.pk][0], taken=figures[s.pk][1],
                    bookable=booking_selectors.slot_bookable(slot=s, now=now))
            for s in slots]


def bookable_days(*, office_service: OfficeService, limit: int = 14) -> list[dt.date]:
    """The next days that have bookable slots (for the date picker)."""
    now = clock.now()
    starts = (booking_selectors.slots_for_resource(resource=office_service.resource, start=now, bookable_only=True)
              .values_list("starts_at", flat=True)[:2000])
    days: list[dt.date] = []
    for s in starts:
        d = timezone.localdate(s)
        if not days or days[-1] != d:
            days.append(d)
        if len(days) >= limit:
            break
    return days


def my_appointments(*, user, live_only: bool = False) -> QuerySet:
    return booking_selectors.my_bookings(user=user, kind=KIND, live_only=live_only)


def my_appointment(*, user, booking_id: int):
    b = booking_selectors.my_booking(user=user, booking_id=booking_id)
    if b.slot.resource.kind != KIND:
        raise not_found("预约", "appointment")
    return b


def office_service_of_resource(*, resource_ids) -> dict[int, OfficeService]:
    return {o.resource_id: o for o in OfficeService.objects.select_related("office", "service")
            .filter(resource_id__in=set(resource_ids))}


def day_appointments(*, office_service: OfficeService, day: dt.date) -> QuerySet:
    """Every appointment of the day (live and ended), for the console's day view."""
    return booking_selectors.resource_day_bookings(resource=office_service.resource, day=day)


def enterprise_vehicles(*, enterprise) -> list:
    """The registry's vehicles of an enterprise (owner USCC), still registered."""
    if not enterprise or not enterprise.uscc:
        return []
    return list(vehicles_of_enterprise(uscc=enterprise.uscc)[:500])


def enterprise_party(enterprise_id: int) -> str:
    """The party (bookings' "who answers for it") of an enterprise's batch bookings."""
    return f"enterprise:{enterprise_id}"


def enterprise_appointments(*, user, live_only: bool = False) -> QuerySet:
    """The counter appointments an enterprise account sees: those booked for its enterprise (批量预约 by any of the
    enterprise's accounts) and the account's own; newest first. Another enterprise's are never among them."""
    party = None
    if getattr(user, "role", None) == "enterprise" and getattr(user, "enterprise_id", None):
        party = enterprise_party(user.enterprise_id)
    return booking_selectors.party_bookings(user=user, party=party, kind=KIND, live_only=live_only)


def enterprise_batches(*, user) -> QuerySet[EnterpriseBatch]:
    if not getattr(user, "enterprise_id", None):
        return EnterpriseBatch.objects.none()
    return EnterpriseBatch.objects.filter(enterprise_id=user.enterprise_id).order_by("-created_at", "-id")


def appointment_of(*, booking_id, user=None):
    """A counter appointment by id (only the user's when ``user`` is given); 404 for any other booking."""
    b = booking_selectors.booking_of_kind(booking_id=booking_id, kind=KIND, user=user)
    if b is None:
        raise not_found("预约", "appointment")
    return b


def appointment_for_staff(*, booking_id: int):
    """A counter appointment by id, for staff pages (404 for any other booking)."""
    return appointment_of(booking_id=booking_id)
