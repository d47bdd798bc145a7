"""Writes of counter appointments. Seats are moved only by the capacity engine (``bookings.services``): this app
decides *who* books *what* (subject, one-per-day key, party) and which slots exist, then calls the engine, which
locks the quota row, counts and writes (ARCHITECTURE §4).

Rules:
- A service at an office is one first-come ``bookings.Resource`` (kind "counter"); staff generate its slots
  (``slot_minutes`` each, inside the office's hours, outside its break, on working days from ``core.workdays``)
  with ``windows`` seats each.
- A citizen (or an enterprise user for themselves) books a slot, confirmed at once: one live appointment per
  person per service per day (the engine's ``exclusive_key``), cancellable until the slot starts; staff mark
  attendance once it has started.
- 批量预约: an enterprise user books up to ``MAX_BATCH`` appointments for the enterprise's own vehicles (registry
  ``Vehicle.owner_uscc`` = the enterprise's USCC) in one request. **All or nothing**: the items are booked in one
  transaction and, if any one is refused, none is kept and the answer lists every refused item with its reason.
  Why: a fleet sends its vehicles (and one driver with the papers) to the counter as one trip; a half-booked batch
  is usually useless and would be cancelled seat by seat (each cancellation a penalty event), while a refused
  batch can be corrected and re-sent with nothing to undo — and retried with the same Idempotency-Key, since a
  refusal stores nothing. A batch locks all its quota rows first, in ascending order, before it writes anything
  (see ``_lock_quotas_in_order``), so batches and single bookings cannot deadlock; the batch limit bounds how long a
  batch holds its slots' locks.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.db import connection, transaction
from django.utils import timezone

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.bookings import services as bookings
from jiaoguan.core import clock, rows, workdays
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, InvalidInput, forbidden, not_found
from jiaoguan.core.ids import parse_id
from jiaoguan.counters.defaults import DEFAULT_SERVICES
from jiaoguan.counters.models import CounterService, EnterpriseBatch, Office, OfficeService
from jiaoguan.counters.selectors import KIND, appointment_of, enterprise_party
from jiaoguan.identity.roles import require
from jiaoguan.registry.selectors import vehicle_get

MAX_BATCH = 20
MAX_GENERATE_DAYS = 62
MAX_AHEAD_DAYS = 366
PUBLIC_ROLES = ("citizen", "enterprise")



# --- Staff: offices, services, slots ------------------------------------------------------------------------------


def services_catalogue_seed() -> int:
    """The default counter services (as migration 0002 seeds them), for tests that flush the database and for
    demo data. Returns how many were created."""
    made = 0
    for row in DEFAULT_SERVICES:
        _obj, created = CounterService.objects.get_or_create(code=row["code"], defaults=row)
        made += created
    return made


def office_create(*, code: str, name_zh: str, name_en: str, address_zh: str, actor: Actor, address_en: str = "",
                  opens: dt.time = dt.time(9, 0), closes: dt.time = dt.time(17, 0),
                  break_starts: dt.time | None = None, break_ends: dt.time | None = None) -> Office:
    require(actor, "booking.manage")
    code = (code or "").strip().upper()
    errors: dict[str, tuple[str, str]] = {}
    if not code or len(code) > 20 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        errors["code"] = ("编码须为1–20个字母、数字或“-”", "The code must be 1–20 letters, digits or '-'")
    if not (name_zh or "").strip() or not (name_en or "").strip():
        errors["name_zh"] = ("请填写中文和英文名称", "Give a Chinese and an English name")
    if not (address_zh or "").strip():
        errors["address_zh"] = ("请填写地址", "Give the address")
    if opens >= closes:
        errors["closes"] = ("下班时间须晚于上班时间", "Closing must be after opening")
    if (break_starts is None) != (break_ends is None) or (
            break_starts is not None and break_ends is not None
            and not (opens < break_starts < break_ends < closes)):
        errors["break_starts"] = ("午休时间须在办公时间之内", "The break must lie within the opening hours")
    if errors:
        first = next(iter(errors.values()))
        raise InvalidInput("counters.office_invalid", first[0], first[1], fields=errors)
    with transaction.atomic():
        if Office.objects.filter(code=code).exists():
            raise Conflict("counters.code_taken", f"编码“{code}”已存在", f"The code “{code}” is already used",
                           field="code")
        office = Office.objects.create(
            code=code, name_zh=name_zh.strip(), name_en=name_en.strip(), address_zh=address_zh.strip(),
            address_en=(address_en or "").strip(), opens=opens, closes=closes, break_starts=break_starts,
            break_ends=break_ends, created_at=clock.now())
        audit_record(actor=actor, action="counters.office_create", obj=office, new={
            "code": code, "name": office.name_zh, "opens": opens, "closes": closes})
    return office


def office_service_add(*, office: Office, service_code: str, actor: Actor, windows: int = 2,
                       slot_minutes: int = 30) -> OfficeService:
    """Offer a counter service at an office: its own first-come resource in the capacity engine."""
    require(actor, "booking.manage")
    service = CounterService.objects.filter(code=service_code, active=True).first()
    if service is None:
        raise InvalidInput("counters.service_unknown", "没有该窗口业务", "Unknown counter service", field="service")
    if not 1 <= windows <= 200:
        raise InvalidInput("counters.windows", "窗口数须为1–200", "Windows must be 1–200", field="windows")
    if slot_minutes not in (10, 15, 20, 30, 45, 60, 90, 120):
        raise InvalidInput("counters.slot_minutes", "时段长度须为10–120分钟中的常用值",
                           "A slot lasts 10, 15, 20, 30, 45, 60, 90 or 120 minutes", field="slot_minutes")
    with transaction.atomic():
        if OfficeService.objects.filter(office=office, service=service).exists():
            raise Conflict("counters.service_taken", "该网点已开办此业务", "This office already offers this service",
                           field="service")
        resource = bookings.resource_create(
            kind=KIND, code=f"counter:{office.code}:{service.code}",
            name_zh=f"{office.name_zh} {service.name_zh}", name_en=f"{office.name_en} – {service.name_en}",
            actor=actor, policy="first_come")
        os_ = OfficeService.objects.create(office=office, service=service, resource=resource, windows=windows,
                                           slot_minutes=slot_minutes, created_at=clock.now())
        audit_record(actor=actor, action="counters.service_add", obj=os_, new={
            "office": office.code, "service": service.code, "windows": windows, "slot_minutes": slot_minutes})
    return os_


def day_starts(*, office: Office, day: dt.date, minutes: int) -> list[dt.datetime]:
    """The slot starts of one day (aware, local time): from opening, every ``minutes``, each slot ending by
    closing and not overlapping the break. Pure apart from the time zone."""
    step = dt.timedelta(minutes=minutes)
    start = dt.datetime.combine(day, office.opens)
    end = dt.datetime.combine(day, office.closes)
    brk = None
    if office.break_starts and office.break_ends:
        brk = (dt.datetime.combine(day, office.break_starts), dt.datetime.combine(day, office.break_ends))
    out = []
    t = start
    while t + step <= end:
        if brk and t < brk[1] and t + step > brk[0]:
            t = brk[1]  # the slot would overlap the break: resume after it
            continue
        out.append(clock.local_datetime(day, t.time()))
        t += step
    return out


@dataclass(frozen=True)
class Generated:
    created: int
    skipped_existing: int
    days: int


def slots_generate(*, office_service_id: int, first_day: dt.date, last_day: dt.date, actor: Actor,
                   windows: int | None = None) -> Generated:
    """Slots for every working day in [first_day, last_day], ``windows`` seats each (default: the service's).
    Idempotent: a start that already has a (not cancelled) slot is skipped; past starts are skipped."""
    require(actor, "booking.manage")
    os_ = OfficeService.objects.select_related("office", "service", "resource").filter(pk=office_service_id).first()
    if os_ is None:
        raise not_found("窗口业务", "counter service")
    if last_day < first_day:
        raise InvalidInput("counters.range", "结束日期不能早于开始日期", "The last day is before the first",
                           field="last_day")
    if last_day > clock.today() + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput("counters.range", f"最多生成{MAX_AHEAD_DAYS}天以内的时段",
                           f"Slots can be made at most {MAX_AHEAD_DAYS} days ahead", field="last_day")
    if (last_day - first_day).days + 1 > MAX_GENERATE_DAYS:
        raise InvalidInput("counters.range", f"一次最多生成{MAX_GENERATE_DAYS}天",
                           f"At most {MAX_GENERATE_DAYS} days at a time", field="last_day")
    seats = os_.windows if windows is None else windows
    if not 1 <= seats <= 200:
        raise InvalidInput("counters.windows", "窗口数须为1–200", "Windows must be 1–200", field="windows")
    if not os_.active or not os_.office.active:
        raise Conflict("counters.inactive", "该网点或业务已停办", "This office or service is closed")
    now = clock.now()
    created = skipped = days = 0
    step = dt.timedelta(minutes=os_.slot_minutes)
    with transaction.atomic():
        day = first_day
        while day <= last_day:
            if workdays.is_workday(day):
                days += 1
                starts = [s for s in day_starts(office=os_.office, day=day, minutes=os_.slot_minutes) if s > now]
                if starts:
                    existing = set(booking_selectors.slots_for_resource(resource=os_.resource, start=starts[0],
                                                      end=starts[-1] + step).values_list("starts_at", flat=True))
                    for s in starts:
                        if s in existing:
                            skipped += 1
                            continue
                        bookings.slot_create(resource=os_.resource, starts_at=s, ends_at=s + step, actor=actor,
                                             quotas=[bookings.QuotaSpec(name="public", capacity=seats)])
                        created += 1
            day += dt.timedelta(days=1)
        audit_record(actor=actor, action="counters.slots_generate", obj=os_, new={
            "first_day": first_day, "last_day": last_day, "windows": seats, "created": created,
            "skipped": skipped})
    return Generated(created=created, skipped_existing=skipped, days=days)


# --- Citizens: book, cancel --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SlotRef:
    """What booking needs of a counter slot: its id and start (the day of the one-per-day key)."""

    pk: int
    starts_at: dt.datetime


def _slot_model() -> Any:
    """The engine's Slot model, reached through the office service's resource (counters does not import the
    engine's models)."""
    resource = cast(Any, OfficeService._meta.get_field("resource").related_model)
    return resource._meta.get_field("slots").related_model


@cache
def _counter_slot_sql() -> str:
    """The statement of ``_counter_slot``, written once from the models (it runs on every booking attempt: the
    ORM's compilation of the four-table join was a millisecond of Python each time)."""
    qn = connection.ops.quote_name
    return (f"SELECT {rows.columns(OfficeService, 'os')}, {rows.columns(Office, 'o')}, "
            f"{rows.columns(CounterService, 'c')}, s.{qn('starts_at')} "
            f"FROM {qn(OfficeService._meta.db_table)} os "
            f"JOIN {qn(Office._meta.db_table)} o ON o.id = os.office_id "
            f"JOIN {qn(CounterService._meta.db_table)} c ON c.id = os.service_id "
            f"JOIN {qn(_slot_model()._meta.db_table)} s ON s.resource_id = os.resource_id WHERE s.id = %s")


def _counter_slot(slot_id: int) -> tuple[OfficeService, _SlotRef]:
    """The office service and slot of a counter slot, in one read; 404 for any other slot (not a counter,
    unknown). The engine checks the slot itself (window, status) in its own read."""
    pk = parse_id(slot_id)
    if pk is None:
        raise not_found("预约场次", "booking slot")
    values = rows.fetchone(_counter_slot_sql(), [pk])
    if values is None:
        raise not_found("预约场次", "booking slot")
    wos, wo = rows.width(OfficeService), rows.width(Office)
    os_ = rows.instance(OfficeService, values)
    os_.office = rows.instance(Office, values, start=wos)
    os_.service = rows.instance(CounterService, values, start=wos + wo)
    starts_at = rows.convert(_slot_model(), "starts_at", values[-1])
    if not (os_.active and os_.office.active and os_.service.active):
        raise Conflict("counters.inactive", "该网点或业务已停办", "This office or service is closed")
    return os_, _SlotRef(pk=pk, starts_at=starts_at)


def _party(user) -> str:
    return f"person:{user.person_id}" if getattr(user, "person_id", None) else f"user:{user.pk}"


def _day(slot) -> str:
    return timezone.localdate(slot.starts_at).isoformat()


def _check_public(user) -> None:
    if getattr(user, "role", None) not in PUBLIC_ROLES or not user.is_active:
        raise forbidden()


@dataclass(frozen=True)
class AppointmentPlan:
    """What ``appointment_check`` read and found bookable: handed to ``appointment_book``, which locks and
    re-checks without reading it again."""

    office_service: OfficeService
    slot: _SlotRef
    party: str
    exclusive_key: str
    state: Any  # the engine's QuotaState


def appointment_check(*, user, slot_id: int) -> AppointmentPlan:
    """The refusals of a booking that need no lock and no write (not a citizen, no such counter slot, office or
    service closed, window closed, already booked that day, clearly full), from two plain reads. The API asks
    this before claiming the request's idempotency key, so a refusal in a rush writes nothing."""
    _check_public(user)
    os_, slot = _counter_slot(slot_id)
    party = _party(user)
    key = f"counter:{os_.service.code}:{_day(slot)}:{party}"
    state = bookings.seat_check(slot_id=slot.pk, exclusive_key=key, party=party)
    return AppointmentPlan(office_service=os_, slot=slot, party=party, exclusive_key=key, state=state)


def appointment_book(*, user, slot_id: int, actor: Actor, plan: AppointmentPlan | None = None) -> Any:
    """Book a counter slot for oneself, confirmed at once (one live appointment per person, service and day).
    ``plan``: what ``appointment_check`` found for this user and slot (not read again)."""
    if plan is None or plan.slot.pk != parse_id(slot_id):
        plan = appointment_check(user=user, slot_id=slot_id)
    return bookings.seat_book(
        slot_id=plan.slot.pk, user=user, subject=plan.party, party=plan.party, actor=actor, confirm=True,
        exclusive_key=plan.exclusive_key, subject_label=plan.office_service.service.name_zh,
        meta={"office_service": plan.office_service.pk}, checked=plan.state)


def appointment_cancel(*, user, booking_id: int, actor: Actor) -> Any:
    """The citizen cancels their own appointment, until the slot starts (the slot's ``cancel_until``)."""
    b = appointment_of(booking_id=booking_id, user=user)
    return bookings.booking_cancel(booking_id=b.pk, user=user, actor=actor)


def appointment_mark(*, booking_id: int, attended: bool, actor: Actor) -> Any:
    """Staff: attended or no-show, once the slot has started."""
    require(actor, "booking.attendance")
    b = appointment_of(booking_id=booking_id)
    return bookings.booking_mark(booking_id=b.pk, attended=attended, actor=actor)


def appointment_staff_cancel(*, booking_id: int, actor: Actor, reason: str) -> Any:
    require(actor, "booking.attendance")
    b = appointment_of(booking_id=booking_id)
    return bookings.booking_cancel(booking_id=b.pk, actor=actor, reason=reason)


# --- Enterprises: 批量预约 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    slot_id: int
    vehicle_id: int


class BatchRefused(Conflict):
    """A batch with refused items: nothing was booked; ``items`` says which and why."""

    def __init__(self, errors: list[tuple[int, DomainError]]) -> None:
        n = len(errors)
        super().__init__("counters.batch_refused", f"有{n}项无法预约，整批未预约，请修改后重新提交",
                         f"{n} item(s) could not be booked, so nothing was booked; correct them and submit again",
                         fields={f"items.{i}": (e.zh, e.en) for i, e in errors})
        self.items = errors

    def as_dict(self, language: str | None = None) -> dict:
        body = super().as_dict(language)
        body["items"] = [{"index": i, "code": e.code, "message": e.message(language)} for i, e in self.items]
        return body


def _lock_quotas_in_order(slot_ids: set[int]) -> None:
    """Lock every quota the batch will touch, in one global order, before anything is written: a batch that
    locked quota B only when it reached its item could deadlock with another batch (or a citizen) holding B
    and waiting for a quota this batch already holds."""
    bookings.quotas_lock(slot_ids=slot_ids)


def _vehicle_key(service_code: str, day: str, vehicle_id: int) -> str:
    return f"counter:{service_code}:{day}:vehicle:{vehicle_id}"


def _batch_keys(items: Sequence[BatchItem]) -> list[str]:
    """The exclusive keys a batch would insert (items naming unknown slots have none: they will be refused)."""
    slots = booking_selectors.slots_by_id(slot_ids=[item.slot_id for item in items])
    codes = dict(OfficeService.objects.filter(resource_id__in={s.resource_id for s in slots.values()})
                 .values_list("resource_id", "service__code"))
    return [_vehicle_key(codes[slots[item.slot_id].resource_id], _day(slots[item.slot_id]), item.vehicle_id)
            for item in items if item.slot_id in slots and slots[item.slot_id].resource_id in codes]


def batch_book(*, user, items: Sequence[BatchItem], actor: Actor) -> tuple[EnterpriseBatch, list[Any]]:
    """Book every item (a vehicle of the user's enterprise in a counter slot) or none; see the module's note."""
    if getattr(user, "role", None) != "enterprise" or not user.is_active or not getattr(user, "enterprise_id", None):
        raise forbidden()
    if not 1 <= len(items) <= MAX_BATCH:
        raise InvalidInput("counters.batch_size", f"每批1–{MAX_BATCH}项", f"A batch holds 1–{MAX_BATCH} items",
                           field="items")
    enterprise = user.enterprise
    party = enterprise_party(enterprise.pk)
    errors: list[tuple[int, DomainError]] = []
    booked: dict[int, Any] = {}
    reference = booking_rules.reference_new("PL")
    with transaction.atomic():
        _lock_quotas_in_order({item.slot_id for item in items})
        # then every key the batch may insert (vehicle, service, day), also before the first audit row
        bookings.keys_lock(exclusive_keys=_batch_keys(items))
        for index, item in sorted(enumerate(items), key=lambda p: (p[1].slot_id, p[0])):
            try:
                with transaction.atomic():
                    vehicle = vehicle_get(vehicle_id=item.vehicle_id)
                    if (vehicle is None or not enterprise.uscc or vehicle.owner_uscc != enterprise.uscc
                            or vehicle.status in ("scrapped", "transferred")):
                        raise not_found("车辆", "vehicle")
                    os_, slot = _counter_slot(item.slot_id)
                    if os_.service.subject != CounterService.Subject.VEHICLE:
                        raise InvalidInput("counters.not_vehicle_service", "该业务须本人办理，不能批量预约",
                                           "This service is for persons in person, not for vehicle batches",
                                           field="slot_id")
                    booked[index] = bookings.seat_book(
                        slot_id=slot.pk, user=user, subject=f"vehicle:{vehicle.pk}", party=party, actor=actor,
                        confirm=True, exclusive_key=_vehicle_key(os_.service.code, _day(slot), vehicle.pk),
                        subject_label=vehicle.plate,
                        meta={"office_service": os_.pk, "enterprise": enterprise.pk, "batch": reference})
            except DomainError as exc:
                errors.append((index, exc))
        if errors:
            raise BatchRefused(sorted(errors, key=lambda p: p[0]))
        ordered = [booked[i] for i in range(len(items))]
        batch = EnterpriseBatch.objects.create(
            enterprise=enterprise, user=user, reference=reference, items=len(items),
            booking_ids=[b.pk for b in ordered], created_at=clock.now())
        audit_record(actor=actor, action="counters.batch_book", obj=batch, new={
            "enterprise": enterprise.pk, "items": len(items), "bookings": batch.booking_ids})
    return batch, ordered
