"""Writes of the inspections app, on top of the capacity engine (``bookings.services``).

Booking an on-site test (first come):

    check (own vehicle, due, insured on the slot's day, no unsettled violations, status) ──► engine seat_book
    → held ──confirm──► confirmed ──cancel (until the slot's cancel_until)──► cancelled
                                  ├──staff: attended ──result──► passed (registry moves the due date) | failed
                                  └──staff: no-show

Exempt years (DOMAIN §5: private small passenger cars, the schedule's ``on_site=False`` points): the owner applies
online and the electronic inspection mark (检验标志) is issued at once; the registry records the inspection date.
永不脱检: the daily sweep ``marks_auto_issue`` does the same without being asked, ``MARK_AUTO_DAYS`` (30) before the
due date, for owners with an account whose vehicle qualifies, and posts the printed mark to the address on file.

One live booking per vehicle: the engine's ``exclusive_key`` is ``inspection:vehicle:<id>:<round>``. The engine
keeps an *attended* booking live for its key forever (right for "one entry per plate per day"), so the key carries
the round — the number of this vehicle's tests that have a result: a retest after a failed test is a new round,
while a booking awaiting its result still blocks a second one.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from jiaoguan.bookings import selectors as bookings_selectors
from jiaoguan.bookings import services as bookings
from jiaoguan.core import clock, workdays
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, Refusal, not_found
from jiaoguan.core.ids import parse_id
from jiaoguan.core.locks import lock_row, lock_rows
from jiaoguan.identity.roles import require
from jiaoguan.inspections import conf, rules, selectors
from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station
from jiaoguan.registry import services as registry

R = InspectionBooking.Result
MANAGE = "booking.manage"  # adding stations, generating slots (identity.roles.PERMISSIONS); pages ask the same
MAX_AHEAD_DAYS = 366  # slots are never made further ahead (and far dates would overflow the clock arithmetic)


def not_eligible(refusals: list[Refusal]) -> Conflict:
    """One error carrying every reason (``fields`` reason0, reason1, …), like violations' online refusals."""
    return Conflict("inspections.not_eligible", "；".join(r.zh for r in refusals), "; ".join(r.en for r in refusals),
                    fields={f"reason{i}": (r.zh, r.en) for i, r in enumerate(refusals)})


# --- Staff: stations and slots ---------------------------------------------------------------------------------------

def station_create(*, code: str, name_zh: str, name_en: str, address: str, district: str, actor: Actor,
                   lanes: int = 2) -> Station:
    """A station with its first-come engine resource (kind inspection, hold ``HOLD_MINUTES``)."""
    require(actor, MANAGE)
    code = (code or "").strip()
    errors: dict[str, tuple[str, str]] = {}
    if not code or len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        errors["code"] = ("编码须为1–40个字母、数字、-或_", "The code must be 1–40 letters, digits, - or _")
    if not (name_zh or "").strip() or len(name_zh) > 120:
        errors["name_zh"] = ("请填写中文名称（120字以内）", "Give the Chinese name (up to 120 characters)")
    if not (name_en or "").strip() or len(name_en) > 120:
        errors["name_en"] = ("请填写英文名称（120字以内）", "Give the English name (up to 120 characters)")
    if not (address or "").strip() or len(address) > 200:
        errors["address"] = ("请填写地址（200字以内）", "Give the address (up to 200 characters)")
    if not (district or "").strip() or len(district) > 40:
        errors["district"] = ("请填写所在区", "Give the district")
    if not (1 <= int(lanes or 0) <= 50):
        errors["lanes"] = ("检测线数量须为1–50", "Lanes must be 1–50")
    if errors:
        first = next(iter(errors.values()))
        raise InvalidInput("inspections.station_invalid", first[0], first[1], fields=errors)
    with transaction.atomic():
        if Station.objects.filter(code=code).exists():
            raise Conflict("inspections.station_code_taken", f"编码“{code}”已存在", f"The code “{code}” is already used",
                           field="code")
        resource = bookings.resource_create(kind=bookings_selectors.ResourceKind.INSPECTION, code=f"inspection-{code}",
                                            name_zh=name_zh.strip(), name_en=name_en.strip(), actor=actor,
                                            hold_minutes=int(conf.get("HOLD_MINUTES")))
        station = Station.objects.create(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                                         address=address.strip(), district=district.strip(), lanes=int(lanes),
                                         resource=resource, created_at=clock.now())
        audit_record(actor=actor, action="inspection.station_create", obj=station, new={
            "code": code, "name_zh": station.name_zh, "district": station.district, "lanes": station.lanes})
    return station


def station_set_active(*, station_id: int, active: bool, actor: Actor) -> Station:
    """Open or close a station for new bookings (existing bookings stay; staff cancel slots in the engine)."""
    require(actor, MANAGE)
    with transaction.atomic():
        pk = parse_id(station_id)  # a path's id may be out of any column's range
        station = lock_row(Station, pk) if pk else None
        if station is None:
            raise not_found("检测站", "inspection station")
        if station.active != active:
            old = station.active
            station.active = active
            station.save(update_fields=["active"])
            audit_record(actor=actor, action="inspection.station_active", obj=station, old={"active": old},
                         new={"active": active})
    return station


@dataclass(frozen=True)
class Generated:
    created: int
    skipped: int  # already there, or already started


def slots_generate(*, station_id: int, first: dt.date, last: dt.date, opens: dt.time, closes: dt.time,
                   minutes: int, actor: Actor, lanes: int | None = None, weekdays: list[int] | None = None,
                   workdays_only: bool = False) -> Generated:
    """Slots of ``minutes`` between opening and closing time with ``lanes`` seats each, for every chosen day from
    ``first`` to ``last``. Re-running is safe: a slot already there (same start) or already started is skipped."""
    require(actor, MANAGE)
    station = selectors.station_get(station_id=station_id, active_only=False)
    lanes = station.lanes if lanes is None else lanes
    errors: dict[str, tuple[str, str]] = {}
    if last < first:
        errors["last"] = ("结束日期不能早于开始日期", "The last day cannot be before the first")
    elif (last - first).days + 1 > conf.get("MAX_GENERATE_DAYS"):
        n = conf.get("MAX_GENERATE_DAYS")
        errors["last"] = (f"一次最多生成{n}天", f"At most {n} days at a time")
    if first < clock.today():
        errors["first"] = ("开始日期不能早于今天", "The first day cannot be in the past")
    elif last > clock.today() + dt.timedelta(days=MAX_AHEAD_DAYS):
        errors["last"] = (f"最多生成{MAX_AHEAD_DAYS}天以内的时段", f"Slots can be made at most {MAX_AHEAD_DAYS} days ahead")
    if closes <= opens:
        errors["closes"] = ("结束营业时间须晚于开始时间", "Closing time must be after opening time")
    if not (10 <= minutes <= 240):
        errors["minutes"] = ("每个时段须为10–240分钟", "A slot must last 10–240 minutes")
    if not (1 <= lanes <= 200):
        errors["lanes"] = ("每个时段名额须为1–200", "Seats per slot must be 1–200")
    if weekdays is not None and (not weekdays or any(d not in range(7) for d in weekdays)):
        errors["weekdays"] = ("请至少选择一天", "Choose at least one weekday")
    if errors:
        first_error = next(iter(errors.values()))
        raise InvalidInput("inspections.generate_invalid", first_error[0], first_error[1], fields=errors)
    times = rules.slot_times(first=first, last=last, opens=opens, closes=closes, minutes=minutes, weekdays=weekdays,
                             open_day=workdays.is_workday if workdays_only else None)
    if len(times) > conf.get("MAX_GENERATE_SLOTS"):
        n = conf.get("MAX_GENERATE_SLOTS")
        raise InvalidInput("inspections.generate_too_many", f"一次最多生成{n}个时段", f"At most {n} slots at a time",
                           field="last")
    now = clock.now()
    hours = int(conf.get("CANCEL_HOURS_BEFORE"))
    start_all, _ = selectors.day_bounds(first)
    _, end_all = selectors.day_bounds(last)
    created = skipped = 0
    with transaction.atomic():
        existing = set(bookings_selectors.slots_for_resource(resource=station.resource, start=start_all, end=end_all)
                       .values_list("starts_at", flat=True))
        for t in times:
            starts, ends = clock.local_datetime(t.day, t.start), clock.local_datetime(t.day, t.end)
            if starts <= now or starts in existing:
                skipped += 1
                continue
            cancel_until = max(starts - dt.timedelta(hours=hours), now + dt.timedelta(seconds=1)) if hours else None
            bookings.slot_create(resource=station.resource, starts_at=starts, ends_at=ends, actor=actor,
                                 quotas=[bookings.QuotaSpec("public", lanes)], cancel_until=cancel_until)
            created += 1
        audit_record(actor=actor, action="inspection.slots_generate", obj=station, new={
            "first": first, "last": last, "opens": opens.strftime("%H:%M"), "closes": closes.strftime("%H:%M"),
            "minutes": minutes, "lanes": lanes, "weekdays": weekdays, "workdays_only": workdays_only,
            "created": created, "skipped": skipped})
    return Generated(created, skipped)


# --- Citizens: booking an on-site test -----------------------------------------------------------------------------

def inspection_book(*, user, vehicle_id: int, slot_id: int, actor: Actor) -> InspectionBooking:
    """Hold a seat for the owner's vehicle in a station's slot (confirm within the hold time). Refused, with
    every reason, unless the vehicle is due and insured on the slot's day, has no unsettled violations, is in a
    status that may be inspected, and its due point is an on-site test."""
    now = clock.now()
    with transaction.atomic():
        vehicle = selectors.own_vehicle(user=user, vehicle_id=vehicle_id)  # 404 for anyone else's
        slot_pk = parse_id(slot_id)
        if slot_pk is None:
            raise not_found("预约场次", "booking slot")
        slot = bookings_selectors.slot_get(slot_id=slot_pk)
        station = selectors.station_for_slot(slot=slot)
        if station is None:
            raise not_found("预约场次", "booking slot")
        if not station.active:
            raise Conflict("inspections.station_closed", "该检测站暂停预约", "This station is not taking bookings",
                           field="slot_id")
        if slot.starts_at <= now:
            raise InvalidInput("inspections.slot_past", "该时段已开始或已过去，请选择其他时段",
                               "This slot has already started; choose another", field="slot_id")
        refusals = rules.booking_refusals(selectors.vehicle_facts(vehicle=vehicle,
                                                                  on=selectors.local_date(slot.starts_at)))
        if refusals:
            raise not_eligible(refusals)
        live = selectors.live_booking_for(vehicle_id=vehicle.pk)
        if live is not None:
            raise Conflict("inspections.already_booked", f"该车已有检验预约（{live.booking.reference}），请先取消",
                           f"The vehicle already has an inspection booking ({live.booking.reference}); cancel it first",
                           field="vehicle_id")
        round_ = selectors.booking_round(vehicle_id=vehicle.pk)
        b = bookings.seat_book(
            slot_id=slot.pk, user=user, subject=f"vehicle:{vehicle.pk}",
            exclusive_key=f"inspection:vehicle:{vehicle.pk}:{round_}", party=f"person:{user.person_id}",
            actor=actor, subject_label=vehicle.plate, meta={"vehicle_id": vehicle.pk, "station": station.code})
        ib = InspectionBooking.objects.create(booking=b, station=station, vehicle=vehicle, user=user, round=round_,
                                              created_at=now)
        audit_record(actor=actor, action="inspection.book", obj=ib, new={
            "booking": b.reference, "station": station.code, "vehicle_id": vehicle.pk, "slot": slot.pk},
            subject_person_id=vehicle.owner_id)
    return ib


def inspection_confirm(*, user, booking_id: int, actor: Actor) -> InspectionBooking:
    ib = selectors.my_inspection_booking(user=user, booking_id=booking_id)
    bookings.booking_confirm(booking_id=ib.booking_id, user=user, actor=actor)
    return selectors.my_inspection_booking(user=user, booking_id=booking_id)


def inspection_cancel(*, user, booking_id: int, actor: Actor) -> InspectionBooking:
    """The owner gives up: a held seat is released, a confirmed booking cancelled (until the slot's deadline)."""
    ib = selectors.my_inspection_booking(user=user, booking_id=booking_id)
    if ib.booking.status == bookings_selectors.BookingStatus.HELD:
        bookings.booking_release(booking_id=ib.booking_id, user=user, actor=actor)
    else:
        bookings.booking_cancel(booking_id=ib.booking_id, user=user, actor=actor)
    return selectors.my_inspection_booking(user=user, booking_id=booking_id)


# --- Staff: attendance and results ------------------------------------------------------------------------------------

def inspection_attendance(*, booking_id: int, attended: bool, actor: Actor) -> InspectionBooking:
    require(actor, "booking.attendance")
    ib = selectors.staff_booking(booking_id=booking_id)
    bookings.booking_mark(booking_id=ib.booking_id, attended=attended, actor=actor)
    return selectors.staff_booking(booking_id=booking_id)


def inspection_result(*, booking_id: int, passed: bool, actor: Actor, note: str = "") -> InspectionBooking:
    """Record the test of an attended booking: passed → the registry records the inspection (the due date moves
    on); failed → noted (the owner books a retest: a new round). Recorded once."""
    require(actor, "booking.attendance")
    note = " ".join(str(note or "").split())
    if len(note) > 300:
        raise InvalidInput("inspections.note_too_long", "备注不能超过300字", "The note may be at most 300 characters",
                           field="note")
    if not passed and not note:
        raise InvalidInput("inspections.note_required", "不合格须填写不合格项目", "Say what failed", field="note")
    with transaction.atomic():
        pk = parse_id(booking_id)
        ib = next(iter(lock_rows(InspectionBooking.objects.filter(booking_id=pk))), None) if pk else None
        if ib is None:
            raise not_found("检验预约", "inspection booking")
        ib = selectors.staff_booking(booking_id=ib.booking_id)
        block = rules.result_block(status=ib.booking.status, result=ib.result)  # as the day page offers it
        if block is not None:
            raise Conflict(block, *rules.RESULT_BLOCKS[block])
        old = {"result": ib.result}
        if passed:
            inspected_on = min(selectors.local_date(ib.booking.slot.starts_at), clock.today())
            registry.vehicle_record_inspection(vehicle=ib.vehicle, inspected_on=inspected_on, actor=actor)
        ib.result = R.PASSED if passed else R.FAILED
        ib.result_note, ib.result_at, ib.result_by = note, clock.now(), actor.label[:150]
        ib.save(update_fields=["result", "result_note", "result_at", "result_by"])
        audit_record(actor=actor, action="inspection.result", obj=ib, old=old,
                     new={"result": ib.result, "note": note, "booking": ib.booking.reference},
                     subject_person_id=ib.vehicle.owner_id)
    return ib


# --- Citizens: the online mark for exempt years ----------------------------------------------------------------------

def mark_apply(*, user, vehicle_id: int, actor: Actor) -> InspectionMark:
    """网上申领检验标志: for the owner's vehicle whose due point is an exempt year, due (or overdue), insured today
    and with no unsettled violations: the electronic mark is issued at once and the registry records the
    inspection date (moving the due date to the next point). One mark per due point, even under a race."""
    today = clock.today()
    with transaction.atomic():
        vehicle = selectors.own_vehicle(user=user, vehicle_id=vehicle_id)  # 404 for anyone else's
        refusals = rules.mark_refusals(selectors.vehicle_facts(vehicle=vehicle, on=today))
        if refusals:
            raise not_eligible(refusals)
        return _mark_issue(vehicle=vehicle, user=user, actor=actor, today=today,
                           system=Actor.system("inspections.mark_apply"))


def _mark_exists() -> Conflict:
    return Conflict("inspections.mark_exists", "该车本周期的检验标志已经核发",
                    "The mark for this period has already been issued")


def _mark_issue(*, vehicle, user, actor: Actor, today: dt.date, system: Actor) -> InspectionMark:
    """Inside the caller's transaction, the vehicle checked: the mark, the registry's inspection record (by the
    system: the registry accepts inspection records from staff and the system) and the audit row."""
    due = vehicle.inspection_due
    if InspectionMark.objects.filter(vehicle=vehicle, due_covered=due).exists():
        raise _mark_exists()
    mark = None
    for _ in range(5):
        number = rules.mark_number_new(today.year)
        if InspectionMark.objects.filter(number=number).exists():
            continue
        try:
            with transaction.atomic():
                mark = InspectionMark.objects.create(
                    number=number, token=secrets.token_urlsafe(18), vehicle=vehicle, user=user, year=today.year,
                    due_covered=due, valid_until=due, issued_at=clock.now())
            break
        except IntegrityError:
            if InspectionMark.objects.filter(vehicle=vehicle, due_covered=due).exists():
                raise _mark_exists() from None
    if mark is None:
        raise RuntimeError("could not draw a unique inspection mark number")
    registry.vehicle_record_inspection(vehicle=vehicle, inspected_on=today, actor=system)
    mark.valid_until = vehicle.inspection_due
    mark.save(update_fields=["valid_until"])
    audit_record(actor=actor, action="inspection.mark_issue", obj=mark, new={
        "number": mark.number, "vehicle_id": vehicle.pk, "year": mark.year, "due_covered": due,
        "valid_until": mark.valid_until}, subject_person_id=vehicle.owner_id)
    return mark


MARK_SOURCE = "inspections.mark"  # postal.Shipment.source_type of a mark sent by post (source_id: the mark's id)


def marks_auto_issue(*, on: dt.date | None = None, batch: int = 500) -> int:
    """永不脱检: the marks of exempt-year vehicles issued without being asked for, ``MARK_AUTO_DAYS`` before their
    due date, and the printed mark posted to the owner's address on file (with a notice). Only for owners with an
    account (the mark is theirs to show, under 我的机动车) and only when the online rules hold (insured, no unsettled
    violations, an inspectable status): a vehicle that does not qualify is left to the owner, who is reminded.
    Idempotent: one mark per vehicle and due point (the unique constraint), a second run issues nothing new.
    Returns how many marks were issued."""
    from jiaoguan.postal import selectors as postal

    if not conf.get("MARK_AUTO"):
        return 0
    today = on or clock.today()
    system = Actor.system("inspections.marks_auto")
    post = postal.delivery_refusal() is None
    issued = 0
    after: tuple[dt.date, int] | None = None
    while True:
        page = selectors.mark_auto_candidates(on=today, days=int(conf.get("MARK_AUTO_DAYS")), limit=batch,
                                              after=after)
        if not page:
            return issued
        after = page[-1]
        for _due, vehicle_id in page:
            issued += _mark_auto_one(vehicle_id=vehicle_id, today=today, system=system, post=post)


def _mark_auto_one(*, vehicle_id: int, today: dt.date, system: Actor, post: bool) -> int:
    """One vehicle of the sweep, in its own transaction: 1 if its mark was issued (and posted), else 0."""
    from jiaoguan.identity.selectors import account_of_person
    from jiaoguan.notifications.services import NotificationError, message_send
    from jiaoguan.postal.services import shipment_create

    with transaction.atomic():
        vehicle = selectors.vehicle_locked(vehicle_id=vehicle_id)
        if vehicle is None or vehicle.owner_id is None:
            return 0
        user = account_of_person(person_id=vehicle.owner_id)
        if user is None or rules.mark_refusals(selectors.vehicle_facts(vehicle=vehicle, on=today)):
            return 0
        try:
            with transaction.atomic():
                mark = _mark_issue(vehicle=vehicle, user=user, actor=system, today=today, system=system)
        except Conflict:
            return 0  # issued meanwhile (the owner applied at the same moment)
        person = vehicle.owner
        posted = post and bool(person.address)
        if posted:
            shipment_create(recipient_name=person.name, recipient_phone=person.phone or user.phone or "",
                            address=person.address, item_zh=f"机动车检验合格标志（{vehicle.plate}）",
                            item_en=f"Inspection mark ({vehicle.plate})", source_type=MARK_SOURCE,
                            source_id=str(mark.pk), actor=system)
        try:
            message_send(template="inspection.mark_issued", user=user,
                         channels=("inbox", "sms") if user.phone else ("inbox",),
                         params={"plate": vehicle.plate, "until": mark.valid_until.isoformat(),
                                 "posted_zh": "，纸质标志已邮寄至您的登记地址" if posted else "",
                                 "posted_en": "; the printed mark is on its way to your address on file"
                                 if posted else ""})
        except NotificationError:
            pass  # the mark and the post stand; the notice is not what makes the vehicle legal
    return 1
