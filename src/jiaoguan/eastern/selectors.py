"""Reads of the eastern scenic areas. Seat counts are for display only (bookings decide after the lock)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from jiaoguan.bookings import selectors as bookings_selectors
from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.eastern import conf, rules, services
from jiaoguan.eastern.models import Area, AreaBooking, BookingDay, Checkpoint, Exemption, Passage
from jiaoguan.registry import selectors as registry

if TYPE_CHECKING:
    from jiaoguan.bookings.models import Slot


def areas(*, active_only: bool = True) -> QuerySet[Area]:
    qs = Area.objects.select_related("resource")
    return qs.filter(active=True) if active_only else qs


def area_get(*, code: str) -> Area:
    return services.area_get(code=code)


def days_ahead(*, area: Area | None = None, start: dt.date | None = None, limit: int = 30) -> QuerySet[BookingDay]:
    """Booking days from ``start`` (default today) on, soonest first."""
    qs = BookingDay.objects.select_related("area").filter(date__gte=start or clock.today())
    if area is not None:
        qs = qs.filter(area=area)
    return qs.order_by("date", "area__code")[:limit]


def day_get(*, area: Area, date: dt.date) -> BookingDay:
    day = BookingDay.objects.select_related("area").filter(area=area, date=date).first()
    if day is None:
        raise not_found("预约日", "booking day")
    return day


@dataclass(frozen=True)
class SlotView:
    slot: Slot
    public_capacity: int
    public_free: int
    merchant_capacity: int
    merchant_free: int
    bookable: bool  # open now (not started, window open)

    @property
    def free(self) -> int:
        return self.public_free


def day_slots(*, day: BookingDay) -> list[SlotView]:
    start, end = clock.day_bounds(day.date)
    slots = bookings_selectors.slots_for_resource(resource=day.area.resource, start=start, end=end)
    now = clock.now()
    out = []
    for slot in slots:
        q = {a.name: a for a in bookings_selectors.slot_availability(slot=slot)}
        pub, mer = q.get("public"), q.get("merchant")
        out.append(SlotView(
            slot=slot, public_capacity=pub.capacity if pub else 0, public_free=pub.free if pub else 0,
            merchant_capacity=mer.capacity if mer else 0, merchant_free=mer.free if mer else 0,
            bookable=(slot.status == bookings_selectors.SlotStatus.OPEN and slot.opens_at <= now < slot.closes_at
                      and now < slot.starts_at)))
    return out


def day_totals(*, day: BookingDay) -> dict:
    views = day_slots(day=day)
    return {"public_free": sum(v.public_free for v in views), "merchant_free": sum(v.merchant_free for v in views),
            "slots": len(views)}


def my_bookings(*, user, live_only: bool = False) -> QuerySet[AreaBooking]:
    qs = AreaBooking.objects.filter(booking__user=user).select_related("booking", "area", "day")
    if live_only:
        qs = qs.filter(booking__status__in=services.LIVE)
    return qs.order_by("-day__date", "-starts_at", "-pk")


def my_booking(*, user, area_booking_id: int) -> AreaBooking:
    ab = (AreaBooking.objects.select_related("booking", "area", "day")
          .filter(pk=area_booking_id, booking__user=user).first())
    if ab is None:
        raise not_found("预约", "booking")
    return ab


def plate_penalties(*, plate: str) -> list:
    """The bookings engine's active bans on a plate (party "plate:…") for the eastern areas."""
    return bookings_selectors.penalties_active(party=services.party_for(plate), kind=services.KIND)


@dataclass(frozen=True)
class VehicleChoice:
    """One of the citizen's vehicles on the booking form, with why it needs no booking (if so)."""

    vehicle: object  # registry VehicleSummary
    exempt_zh: str = ""
    exempt_en: str = ""

    @property
    def bookable(self) -> bool:
        return not self.exempt_zh


def my_vehicle_choices(*, user, area: Area | None = None, on: dt.date | None = None) -> list[VehicleChoice]:
    out = []
    for s in services.my_vehicle_summaries(user=user):
        v = registry.vehicle_get(vehicle_id=s.vehicle_id)
        assert v is not None  # identity lists only vehicles of the register (rows are never deleted)
        car = services.Car(plate=s.plate, plate_type=s.plate_type, vehicle_id=s.vehicle_id, kind=v.kind, use=v.use,
                           seats=v.seats)
        ex = None
        if area is not None:
            ex = services.exemption_for(area=area, car=car, on=on or clock.today())
        else:
            ex = rules.exemption_for(
                kind=car.kind, use=car.use, plate_type=car.plate_type, listed=False,
                exempt_kinds=conf.get("EXEMPT_KINDS"), exempt_uses=conf.get("EXEMPT_USES"),
                exempt_plate_types=conf.get("EXEMPT_PLATE_TYPES"))
            if ex is None and car.seats is not None and car.seats > conf.get("MAX_SEATS"):
                ex = rules.EXEMPT_SEATS
        out.append(VehicleChoice(vehicle=s, exempt_zh=ex.zh if ex else "", exempt_en=ex.en if ex else ""))
    return out


def my_listed_exemptions(*, user) -> list[Exemption]:
    """Registered-local-vehicle entries (still valid) for the citizen's vehicles."""

    plates = [s.plate for s in services.my_vehicle_summaries(user=user)]
    if not plates:
        return []
    return list(Exemption.objects.select_related("area").filter(
        plate__in=plates, revoked_at__isnull=True, valid_until__gte=clock.today()).order_by("plate"))


def exemptions(*, area: Area | None = None, include_revoked: bool = False) -> QuerySet[Exemption]:
    qs = Exemption.objects.select_related("area")
    if area is not None:
        qs = qs.filter(area=area)
    if not include_revoked:
        qs = qs.filter(revoked_at__isnull=True)
    return qs.order_by("area__code", "plate")


def checkpoints() -> QuerySet[Checkpoint]:
    return Checkpoint.objects.select_related("area", "device").order_by("area__code", "name")


def passages_on(*, date: dt.date | None = None, area: Area | None = None) -> QuerySet[Passage]:
    date = date or clock.today()
    start, end = clock.day_bounds(date)
    qs = Passage.objects.select_related("checkpoint__area", "area_booking__booking", "violation").filter(
        at__gte=start, at__lt=end)
    if area is not None:
        qs = qs.filter(checkpoint__area=area)
    return qs.order_by("-at", "-pk")


def passage_counts(*, date: dt.date | None = None) -> dict:
    rows = list(passages_on(date=date).values_list("allowed", "reason", "violation_id"))
    return {"total": len(rows), "allowed": sum(1 for a, _, _ in rows if a),
            "refused": sum(1 for a, _, _ in rows if not a),
            "violations": sum(1 for _, _, v in rows if v)}


def may_report_delay(*, area_booking: AreaBooking, now: dt.datetime | None = None) -> bool:
    """延误报备 offered exactly when services.booking_delay would accept it (rules.delay_block)."""
    return rules.booking_delay_block(area_booking, now=now or clock.now()) is None


def may_cancel(*, area_booking: AreaBooking, now: dt.datetime | None = None) -> bool:
    """取消 offered exactly when the engine's booking_cancel would accept it from the citizen."""
    return bookings_selectors.citizen_may_cancel(booking=area_booking.booking, now=now)
