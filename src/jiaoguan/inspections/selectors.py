"""Reads of the inspections app: stations and their free slots, what each of a citizen's vehicles can do
(book an on-site test, apply for the online mark, or why not), a citizen's bookings and marks, a station's day.

Availability here is for display only: the engine counts seats again after taking its lock."""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.bookings import selectors as bookings
from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal, not_found
from jiaoguan.core.ids import parse_id
from jiaoguan.identity.selectors import records_visible
from jiaoguan.inspections import conf, rules
from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station
from jiaoguan.registry import selectors as registry
from jiaoguan.violations.selectors import unsettled_for_vehicle

if TYPE_CHECKING:
    from jiaoguan.bookings.models import Booking, Slot

local_date = clock.localdate
day_bounds = clock.day_bounds


# --- Stations and slots ------------------------------------------------------------------------------------------

def stations(*, active_only: bool = True):
    qs = Station.objects.select_related("resource")
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("district", "code")


def _one(raw_id, find, what: tuple[str, str]):
    """The row ``find(pk)`` returns for an id from a path or form; a malformed id and a missing (or someone
    else's) row are the same 404."""
    pk = parse_id(raw_id)
    found = find(pk) if pk is not None else None
    if found is None:
        raise not_found(*what)
    return found


def station_get(*, station_id, active_only: bool = True) -> Station:
    return _one(station_id, lambda pk: stations(active_only=active_only).filter(pk=pk).first(),
                ("检测站", "inspection station"))


def station_for_slot(*, slot: Slot) -> Station | None:
    return Station.objects.filter(resource_id=slot.resource_id).first()


@dataclass(frozen=True)
class SlotRow:
    slot: Slot
    capacity: int
    taken: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def starts_local(self) -> dt.datetime:
        return timezone.localtime(self.slot.starts_at)

    @property
    def ends_local(self) -> dt.datetime:
        return timezone.localtime(self.slot.ends_at)


def _rows(slots) -> list[SlotRow]:
    rows = []
    for slot in slots:
        quotas = bookings.slot_availability(slot=slot)
        rows.append(SlotRow(slot, sum(q.capacity for q in quotas), sum(q.taken for q in quotas)))
    return rows


def station_slots(*, station: Station, day: dt.date, bookable_only: bool = True) -> list[SlotRow]:
    """The station's slots on ``day`` (local), with seats taken and free."""
    start, end = day_bounds(day)
    return _rows(bookings.slots_for_resource(resource=station.resource, start=start, end=end,
                                             bookable_only=bookable_only))


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    slots: int
    free: int


def station_days(*, station: Station, first: dt.date | None = None, days: int | None = None) -> list[DayRow]:
    """The next ``days`` days (default: the booking horizon) with the number of bookable slots and free seats."""
    first = first or clock.today()
    days = days or conf.get("BOOK_AHEAD_DAYS")
    start, _ = day_bounds(first)
    _, end = day_bounds(first + dt.timedelta(days=days - 1))
    by_day: dict[dt.date, list[int]] = {}
    for row in _rows(bookings.slots_for_resource(resource=station.resource, start=start, end=end, bookable_only=True)):
        acc = by_day.setdefault(local_date(row.slot.starts_at), [0, 0])
        acc[0] += 1
        acc[1] += row.free
    return [DayRow(first + dt.timedelta(days=i), *by_day.get(first + dt.timedelta(days=i), [0, 0]))
            for i in range(days)]


# --- Vehicles: eligibility -----------------------------------------------------------------------------------------

def own_vehicles(*, user):
    """The user's own live vehicles — only while the account's phone is the phone on file (as on "我的"): an
    account that cannot see its own vehicles cannot book for them either."""
    if not getattr(user, "person_id", None) or not records_visible(user=user):
        return []
    return list(registry.vehicles_owned_by(person=user.person))


def own_vehicle(*, user, vehicle_id):
    """One of the user's own live vehicles; anything else (someone else's, scrapped, missing) is the same 404."""
    return _one(vehicle_id, lambda pk: next((v for v in own_vehicles(user=user) if v.pk == pk), None),
                ("机动车", "vehicle"))


def vehicle_facts(*, vehicle, on: dt.date | None = None, summary=None) -> rules.Facts:
    """The facts the rules decide on, for the day ``on`` (default today): the schedule's on-site/online answer,
    compulsory insurance on that day, unsettled violations and the vehicle's status."""
    on = on or clock.today()
    s = summary if summary is not None and summary.on == on else registry.vehicle_summary(vehicle=vehicle, on=on)
    return rules.Facts(
        status=s.status, status_zh=s.status_zh, status_en=s.status_en, on_site=not s.inspection_online,
        due=s.inspection_due, on=on, insured=s.insurance_until is not None,
        unsettled=unsettled_for_vehicle(vehicle_id=vehicle.pk).count(),
        window_days=int(conf.get("DUE_WINDOW_DAYS")),
        inspectable_statuses=tuple(conf.get("INSPECTABLE_STATUSES")),
        mark_allowed_overdue=bool(conf.get("MARK_ALLOWED_OVERDUE")))


def live_booking_for(*, vehicle_id: int) -> InspectionBooking | None:
    return (InspectionBooking.objects.select_related("booking__slot__resource", "station")
            .filter(vehicle_id=vehicle_id, booking__status__in=bookings.LIVE_BOOKING, result=InspectionBooking.Result.PENDING)
            .order_by("-created_at").first())


def booking_round(*, vehicle_id: int) -> int:
    """How many tests of this vehicle have a result: the round a new booking belongs to (see services)."""
    return InspectionBooking.objects.filter(vehicle_id=vehicle_id).exclude(
        result=InspectionBooking.Result.PENDING).count()


@dataclass(frozen=True)
class VehicleOption:
    vehicle: object  # registry Vehicle
    summary: registry.VehicleSummary  # of ``vehicle``
    action: str  # rules.BOOK / MARK / NONE / BOOKED
    refusals: list[Refusal] = field(default_factory=list)
    booking: InspectionBooking | None = None
    latest_mark: InspectionMark | None = None
    window_opens: dt.date | None = None
    # may choose a station and a day now (rules.choose_refusals): due today, or due by the booking horizon
    can_choose: bool = False

    @property
    def vehicle_id(self) -> int:
        return self.summary.vehicle_id


def vehicle_option(*, vehicle, summary: registry.VehicleSummary | None = None,
                   on: dt.date | None = None) -> VehicleOption:
    on = on or clock.today()
    summary = summary or registry.vehicle_summary(vehicle=vehicle, on=on)
    facts = vehicle_facts(vehicle=vehicle, on=on, summary=summary)
    live = live_booking_for(vehicle_id=vehicle.pk)
    mark = InspectionMark.objects.filter(vehicle=vehicle).order_by("-issued_at").first()
    opens = rules.window_opens(due=facts.due, window_days=facts.window_days)
    if live is not None:
        return VehicleOption(vehicle, summary, rules.BOOKED, [], live, mark, opens)
    act, refusals = rules.action(facts)
    can_choose = not rules.choose_refusals(facts, horizon=booking_horizon(on=on))
    return VehicleOption(vehicle, summary, act, refusals, None, mark, opens, can_choose)


def booking_horizon(*, on: dt.date | None = None) -> dt.date:
    """The last day whose slots may be booked (BOOK_AHEAD_DAYS days counting ``on``, default today)."""
    return (on or clock.today()) + dt.timedelta(days=int(conf.get("BOOK_AHEAD_DAYS")) - 1)


def my_vehicle_options(*, user, on: dt.date | None = None) -> list[VehicleOption]:
    vehicles = list(own_vehicles(user=user))
    summaries = registry.vehicle_summaries(vehicles=vehicles, on=on)
    return [vehicle_option(vehicle=v, summary=s, on=on) for v, s in zip(vehicles, summaries, strict=True)]


# --- A citizen's bookings and marks ----------------------------------------------------------------------------------

def my_inspection_bookings(*, user):
    return (InspectionBooking.objects.filter(user=user)
            .select_related("booking__slot__resource", "booking__quota", "station", "vehicle")
            .order_by("-created_at", "-id"))


def my_inspection_booking(*, user, booking_id) -> InspectionBooking:
    """By the engine booking's id; someone else's is the same 404 as a missing one."""
    return _one(booking_id, lambda pk: my_inspection_bookings(user=user).filter(booking_id=pk).first(),
                ("检验预约", "inspection booking"))


def hold_live(booking: Booking, now: dt.datetime | None = None) -> bool:
    """A hold that may still be confirmed or released (the engine's rules.release_block)."""
    return booking_rules.release_block(status=booking.status, hold_expires_at=booking.hold_expires_at,
                                       now=now or clock.now()) is None


def give_up_block(*, booking: Booking, now: dt.datetime | None = None) -> str | None:
    """Why the owner's 放弃此名额 / 取消预约 button is not offered, or None: what ``services.inspection_cancel``
    meets in the engine (booking_release for a live hold, booking_cancel before the slot's deadline)."""
    return bookings.citizen_give_up_block(booking=booking, now=now)


def my_marks(*, user):
    return InspectionMark.objects.filter(user=user).select_related("vehicle").order_by("-issued_at", "-id")


def my_mark(*, user, number: str) -> InspectionMark:
    m = my_marks(user=user).filter(number=str(number)).first()
    if m is None:
        raise not_found("检验标志", "inspection mark")
    return m


def mark_verify(*, number: str, token: str) -> InspectionMark:
    """A mark by its number and secret token (the public verification page); wrong either way → 404."""
    m = InspectionMark.objects.select_related("vehicle").filter(number=str(number or "")[:20]).first()
    if m is None or not hmac.compare_digest(m.token, str(token or "")):
        raise not_found("检验标志", "inspection mark")
    return m


def mark_current(mark: InspectionMark, on: dt.date | None = None) -> bool:
    """Still in force: not past its date and not replaced by a later mark or test of the vehicle."""
    on = on or clock.today()
    if mark.valid_until < on:
        return False
    return not InspectionMark.objects.filter(vehicle_id=mark.vehicle_id, issued_at__gt=mark.issued_at).exists()


# --- Staff: a station's day ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DaySlot:
    row: SlotRow
    bookings: list[InspectionBooking]


def station_day(*, station: Station, day: dt.date) -> list[DaySlot]:
    """Every slot of the day with its bookings (held, confirmed, attended, no-show; not the released ones)."""
    rows = station_slots(station=station, day=day, bookable_only=False)
    slot_ids = [r.slot.pk for r in rows]
    by_slot: dict[int, list[InspectionBooking]] = {}
    shown = ("held", "confirmed", "attended", "no_show")
    for ib in (InspectionBooking.objects.filter(booking__slot_id__in=slot_ids, booking__status__in=shown)
               .select_related("booking", "vehicle").order_by("booking__created_at", "booking_id")):
        by_slot.setdefault(ib.booking.slot_id, []).append(ib)
    return [DaySlot(r, by_slot.get(r.slot.pk, [])) for r in rows]


def staff_booking(*, booking_id) -> InspectionBooking:
    return _one(booking_id, lambda pk: (
        InspectionBooking.objects.select_related("booking__slot__resource", "booking__quota", "station", "vehicle")
        .filter(booking_id=pk).first()), ("检验预约", "inspection booking"))


def vehicle_locked(*, vehicle_id: int):
    """The registry's vehicle, locked for the caller's transaction (None if gone)."""
    return registry.vehicle_locked(vehicle_id=vehicle_id)


def mark_auto_candidates(*, on: dt.date, days: int, limit: int, after: tuple[dt.date, int] | None = None
                         ) -> list[tuple[dt.date, int]]:
    """(due date, id) of the vehicles whose inspection falls due within ``days`` from ``on`` (not yet past), owned
    by a person with an active account, in an inspectable status, and without a mark for that due point, in
    (due date, id) order from ``after`` (a keyset page: the sweep walks them all, whatever number does not
    qualify). Which of them are in an exempt year, insured and clear of violations is the rules' decision, per
    vehicle (services.marks_auto_issue)."""
    marked = InspectionMark.objects.filter(vehicle=OuterRef("pk"), due_covered=OuterRef("inspection_due"))
    qs = registry.vehicles_all().filter(
        inspection_due__gte=on, inspection_due__lte=on + dt.timedelta(days=days),
        status__in=tuple(conf.get("INSPECTABLE_STATUSES")), owner__isnull=False, owner__account__is_active=True)
    if after is not None:
        qs = qs.filter(Q(inspection_due__gt=after[0]) | Q(inspection_due=after[0], pk__gt=after[1]))
    return list(qs.exclude(Exists(marked)).order_by("inspection_due", "pk")
                .values_list("inspection_due", "pk")[:limit])
