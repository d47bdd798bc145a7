"""Reads of counter appointments. Free seats shown here are for display; booking counts again under the lock."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.bookings.models import LIVE_BOOKING, Booking, Resource, Slot
from jiaoguan.bookings.rules import parse_id
from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.counters.models import CounterService, EnterpriseBatch, Office, OfficeService


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
    slot: Slot
    capacity: int
    taken: int
    bookable: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)


_day_bounds = clock.day_bounds


def day_slots(*, office_service: OfficeService, day: dt.date) -> list[SlotRow]:
    """The day's slots with seats taken (one query, counted per slot)."""
    start, end = _day_bounds(day)
    now = clock.now()
    slots = list(booking_selectors.slots_for_resource(resource=office_service.resource, start=start, end=end)
                 .prefetch_related("quotas"))
    taken = dict(Booking.objects.filter(slot__in=[s.pk for s in slots]).filter(
        Q(status__in=("confirmed", "attended")) | Q(status="held", hold_expires_at__gt=now))
        .values("slot_id").annotate(n=Count("id")).values_list("slot_id", "n"))
    rows = []
    for s in slots:
        capacity = sum(q.capacity for q in s.quotas.all())
        rows.append(SlotRow(slot=s, capacity=capacity, taken=taken.get(s.pk, 0),
                            bookable=(s.status == Slot.Status.OPEN and s.opens_at <= now < s.closes_at
                                      and s.starts_at > now)))
    return rows


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


def my_appointments(*, user, live_only: bool = False) -> QuerySet[Booking]:
    return booking_selectors.my_bookings(user=user, kind=Resource.Kind.COUNTER, live_only=live_only)


def my_appointment(*, user, booking_id: int) -> Booking:
    b = booking_selectors.my_booking(user=user, booking_id=booking_id)
    if b.slot.resource.kind != Resource.Kind.COUNTER:
        raise not_found("预约", "appointment")
    return b


def office_service_of_resource(*, resource_ids) -> dict[int, OfficeService]:
    return {o.resource_id: o for o in OfficeService.objects.select_related("office", "service")
            .filter(resource_id__in=set(resource_ids))}


def slot_appointments(*, slot: Slot) -> QuerySet[Booking]:
    return booking_selectors.slot_bookings(slot=slot)


def day_appointments(*, office_service: OfficeService, day: dt.date) -> QuerySet[Booking]:
    """Every appointment of the day (live and ended), for the console's day view."""
    start, end = _day_bounds(day)
    return (Booking.objects.filter(slot__resource=office_service.resource, slot__starts_at__gte=start,
                                   slot__starts_at__lt=end)
            .select_related("slot", "user").order_by("slot__starts_at", "created_at", "id"))


def live_count(*, slot: Slot) -> int:
    return Booking.objects.filter(slot=slot, status__in=LIVE_BOOKING).count()


def enterprise_vehicles(*, enterprise) -> list:
    """The registry's vehicles of an enterprise (owner USCC), still registered."""
    from jiaoguan.registry.selectors import vehicles_of_enterprise

    if not enterprise or not enterprise.uscc:
        return []
    return list(vehicles_of_enterprise(uscc=enterprise.uscc)[:500])


def enterprise_party(enterprise_id: int) -> str:
    """The party (bookings' "who answers for it") of an enterprise's batch bookings."""
    return f"enterprise:{enterprise_id}"


def enterprise_appointments(*, user, live_only: bool = False) -> QuerySet[Booking]:
    """The counter appointments an enterprise account sees: those booked for its enterprise (批量预约 by any of the
    enterprise's accounts) and the account's own; newest first. Another enterprise's are never among them."""
    if getattr(user, "pk", None) is None:
        return Booking.objects.none()
    mine = Q(user=user)
    if getattr(user, "role", None) == "enterprise" and getattr(user, "enterprise_id", None):
        mine |= Q(party=enterprise_party(user.enterprise_id))
    qs = (Booking.objects.filter(mine, slot__resource__kind=Resource.Kind.COUNTER)
          .select_related("slot__resource", "quota"))
    if live_only:
        qs = qs.filter(status__in=LIVE_BOOKING)
    return qs.order_by("-created_at", "-id")


def enterprise_batches(*, user) -> QuerySet[EnterpriseBatch]:
    if not getattr(user, "enterprise_id", None):
        return EnterpriseBatch.objects.none()
    return EnterpriseBatch.objects.filter(enterprise_id=user.enterprise_id).order_by("-created_at", "-id")


def appointment_for_staff(*, booking_id: int) -> Booking:
    """A counter appointment by id, for staff pages (404 for any other booking)."""
    if parse_id(booking_id) is None:
        raise not_found("预约", "appointment")
    b = (Booking.objects.select_related("slot__resource", "user")
         .filter(pk=booking_id, slot__resource__kind=Resource.Kind.COUNTER).first())
    if b is None:
        raise not_found("预约", "appointment")
    return b
