"""Inspections API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Everyone:
    GET  /api/v1/inspection-stations                         active stations
    GET  /api/v1/inspection-stations/{id}/slots?date=        that day's bookable slots with free seats
    GET  /api/v1/inspection-marks/verify?number=&token=      is this mark genuine (masked plate only)
Citizens (session or bearer):
    GET  /api/v1/me/inspection-eligibility                   per own vehicle: book / mark / booked / none + reasons
    GET  /api/v1/me/inspection-bookings                      my inspection bookings
    POST /api/v1/me/inspection-bookings {vehicle_id, slot_id}   Idempotency-Key → 201 a held booking
    POST /api/v1/me/inspection-bookings/{id}/confirm         held → confirmed (the engine's
                                                              POST /api/v1/me/bookings/{id}/confirm works too)
    POST /api/v1/me/inspection-bookings/{id}/cancel          release a hold / cancel before the deadline
                                                              (confirm and cancel: Idempotency-Key optional)
    GET  /api/v1/me/inspection-marks                         my electronic inspection marks
    POST /api/v1/me/inspection-marks {vehicle_id}            Idempotency-Key → 201 the mark (exempt years)
Staff:
    POST /api/v1/staff/inspection-stations                   (booking.manage)
    POST /api/v1/staff/inspection-stations/{id}/slots        generate slots in bulk (booking.manage)
    GET  /api/v1/staff/inspection-stations/{id}/day?date=    the day's bookings, plates masked (booking.attendance)
    POST /api/v1/staff/inspection-bookings/{id}/attendance {attended}    (booking.attendance)
    POST /api/v1/staff/inspection-bookings/{id}/result {passed, note}    (booking.attendance)
The booking id is the capacity engine's booking id throughout.
"""
from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse
from ninja import Field, Router, Schema, Status

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateText, DateTimeText, Label, Out, RefusalOut, examples
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user, require_permission
from jiaoguan.inspections import rules, selectors, services
from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station

router = Router(tags=["inspections"])


class InspectionStationOut(Out):
    id: int
    code: str
    name_zh: str
    name_en: str
    address: str
    district: str
    lanes: int
    active: bool


class InspectionSlotOut(Out):
    id: int
    starts_at: DateTimeText
    ends_at: DateTimeText
    capacity: int
    taken: int
    free: int
    cancel_until: DateTimeText


class InspectionStationSlotsOut(Out):
    station: InspectionStationOut
    date: DateText
    slots: list[InspectionSlotOut]


class InspectionBookingSlotOut(Out):
    id: int
    starts_at: DateTimeText
    ends_at: DateTimeText
    cancel_until: DateTimeText


class InspectionBookingOut(Out):
    id: int = Field(description="the capacity engine's booking id")
    reference: str
    status: str
    status_label: Label
    hold_expires_at: DateTimeText | None
    station: InspectionStationOut
    slot: InspectionBookingSlotOut
    vehicle_id: int
    plate: str = Field(description="masked in staff answers")
    result: str
    result_label: Label
    result_note: str


class InspectionMarkOut(Out):
    number: str
    vehicle_id: int
    plate: str
    year: int
    due_covered: DateText
    valid_until: DateText
    issued_at: DateTimeText
    verify_url: str


class InspectionMarkVerifyOut(Out):
    number: str
    plate: str = Field(description="masked")
    year: int
    valid_until: DateText
    current: bool


class InspectionEligibilityOut(Out):
    vehicle_id: int
    plate: str
    inspection_due: DateText
    inspection_status: str
    on_site: bool
    insurance_status: str
    action: str = Field(description="book, mark, booked or none")
    window_opens: DateText | None
    reasons: list[RefusalOut]
    booking: InspectionBookingOut | None
    latest_mark: InspectionMarkOut | None


class InspectionSlotsGeneratedOut(Out):
    created: int
    skipped: int


class InspectionDaySlotOut(InspectionSlotOut):
    bookings: list[InspectionBookingOut]


class InspectionStationDayOut(Out):
    station: InspectionStationOut
    date: DateText
    slots: list[InspectionDaySlotOut]


def _iso(at: dt.datetime | None) -> str | None:
    return clock.isoformat(at)


def _station_out(s: Station) -> dict:
    return {"id": s.pk, "code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "address": s.address,
            "district": s.district, "lanes": s.lanes, "active": s.active}


def _slot_out(row: selectors.SlotRow) -> dict:
    return {"id": row.slot.pk, "starts_at": _iso(row.slot.starts_at), "ends_at": _iso(row.slot.ends_at),
            "capacity": row.capacity, "taken": row.taken, "free": row.free,
            "cancel_until": _iso(row.slot.cancel_until)}


def _booking_out(ib: InspectionBooking, *, masked: bool = False) -> dict:
    b = ib.booking
    return {
        "id": b.pk, "reference": b.reference, "status": b.status, "status_label": b.get_status_display(),
        "hold_expires_at": _iso(b.hold_expires_at), "station": _station_out(ib.station),
        "slot": {"id": b.slot_id, "starts_at": _iso(b.slot.starts_at), "ends_at": _iso(b.slot.ends_at),
                 "cancel_until": _iso(b.slot.cancel_until)},
        "vehicle_id": ib.vehicle_id, "plate": rules.mask_plate(ib.vehicle.plate) if masked else ib.vehicle.plate,
        "result": ib.result, "result_label": ib.get_result_display(), "result_note": ib.result_note,
    }


def _mark_out(m: InspectionMark, request=None) -> dict:
    path = reverse("portal:inspections_portal:verify", args=[m.number, m.token])
    return {"number": m.number, "vehicle_id": m.vehicle_id, "plate": m.vehicle.plate, "year": m.year,
            "due_covered": m.due_covered.isoformat(), "valid_until": m.valid_until.isoformat(),
            "issued_at": _iso(m.issued_at), "verify_url": request.build_absolute_uri(path) if request else path}


def _reasons(refusals) -> list[dict]:
    return [{"code": r.code, "zh": r.zh, "en": r.en} for r in refusals]


def _parse_date(value: str | None, *, field: str = "date") -> dt.date:
    if not value:
        return clock.today()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("inspections.bad_date", "日期格式应为 YYYY-MM-DD", "The date must be YYYY-MM-DD",
                           field=field) from None
    if not booking_rules.day_ok(day):
        raise InvalidInput("inspections.date_out_of_range", "日期超出范围", "The date is out of range", field=field)
    return day


# --- Everyone ------------------------------------------------------------------------------------------------------

@router.get("inspection-stations", auth=None, response={200: list[InspectionStationOut]}, summary="Inspection stations")
def station_list(request):
    return [_station_out(s) for s in selectors.stations()]


@router.get("inspection-stations/{station_id}/slots", auth=None, response={200: InspectionStationSlotsOut, **ERRORS},
            summary="A station's bookable slots on a day, with free seats")
def station_slots(request, station_id: int, date: str | None = None):
    station = selectors.station_get(station_id=station_id)
    day = _parse_date(date)
    return {"station": _station_out(station), "date": day.isoformat(),
            "slots": [_slot_out(r) for r in selectors.station_slots(station=station, day=day)]}


@router.get("inspection-marks/verify", auth=None, response={200: InspectionMarkVerifyOut, **ERRORS},
            summary="Verify an electronic inspection mark (number and token from its QR code)")
def mark_verify(request, number: str, token: str):
    m = selectors.mark_verify(number=number, token=token)
    return {"number": m.number, "plate": rules.mask_plate(m.vehicle.plate), "year": m.year,
            "valid_until": m.valid_until.isoformat(), "current": selectors.mark_current(m)}


# --- Citizens ------------------------------------------------------------------------------------------------------

@router.get("me/inspection-eligibility", auth=AUTH, response={200: list[InspectionEligibilityOut], **ERRORS},
            summary="What each of my vehicles can do: book an on-site test, apply for the mark online, or why not")
def eligibility(request):
    user = current_user(request)
    out = []
    for opt in selectors.my_vehicle_options(user=user):
        s = opt.summary
        out.append({
            "vehicle_id": opt.vehicle_id, "plate": s.plate, "inspection_due": s.inspection_due.isoformat(),
            "inspection_status": s.inspection_status, "on_site": not s.inspection_online,
            "insurance_status": s.insurance_status, "action": opt.action,
            "window_opens": opt.window_opens.isoformat() if opt.window_opens else None,
            "reasons": _reasons(opt.refusals),
            "booking": _booking_out(opt.booking) if opt.booking else None,
            "latest_mark": _mark_out(opt.latest_mark, request) if opt.latest_mark else None,
        })
    return out


@router.get("me/inspection-bookings", auth=AUTH, response={200: list[InspectionBookingOut], **ERRORS},
            summary="My inspection bookings")
def my_bookings(request):
    user = current_user(request)
    return [_booking_out(ib) for ib in selectors.my_inspection_bookings(user=user)[:100]]


class InspectionBookIn(Schema):
    vehicle_id: int
    slot_id: int

    model_config = examples({"vehicle_id": 1, "slot_id": 1})


@router.post("me/inspection-bookings", auth=AUTH,
             response={200: InspectionBookingOut, 201: InspectionBookingOut, **ERRORS},
             summary="Hold a seat for my vehicle (Idempotency-Key required); confirm before the hold expires")
def book(request, payload: InspectionBookIn):
    user = current_user(request)

    def run():
        ib = services.inspection_book(user=user, vehicle_id=payload.vehicle_id, slot_id=payload.slot_id,
                                      actor=actor_of(request, user))
        return 201, _booking_out(ib)

    return api_once(request, user, "inspection-book", fingerprint=json.dumps([payload.vehicle_id, payload.slot_id]),
                    run=run)


@router.post("me/inspection-bookings/{booking_id}/confirm", auth=AUTH, response={200: InspectionBookingOut, **ERRORS},
             summary="Confirm my held inspection booking")
def confirm(request, booking_id: int):
    user = current_user(request)
    return _maybe_once(request, user, "inspection-confirm", booking_id, lambda: (200, _booking_out(
        services.inspection_confirm(user=user, booking_id=booking_id, actor=actor_of(request, user)))))


def _maybe_once(request, user, scope: str, booking_id: int, run):
    """With an Idempotency-Key a retry answers what the first call answered; without one the call just runs (a
    repeated confirm answers the booking again, a repeated cancel is refused: nothing happens twice)."""
    if not request.headers.get("Idempotency-Key"):
        return Status(*run())
    return api_once(request, user, scope, fingerprint=str(booking_id), run=run)


@router.post("me/inspection-bookings/{booking_id}/cancel", auth=AUTH, response={200: InspectionBookingOut, **ERRORS},
             summary="Release my held seat or cancel my confirmed booking (until the deadline)")
def cancel(request, booking_id: int):
    user = current_user(request)
    return _maybe_once(request, user, "inspection-cancel", booking_id, lambda: (200, _booking_out(
        services.inspection_cancel(user=user, booking_id=booking_id, actor=actor_of(request, user)))))


@router.get("me/inspection-marks", auth=AUTH, response={200: list[InspectionMarkOut], **ERRORS},
            summary="My inspection marks")
def my_marks(request):
    user = current_user(request)
    return [_mark_out(m, request) for m in selectors.my_marks(user=user)[:100]]


class MarkIn(Schema):
    vehicle_id: int

    model_config = examples({"vehicle_id": 1})


@router.post("me/inspection-marks", auth=AUTH, response={200: InspectionMarkOut, 201: InspectionMarkOut, **ERRORS},
             summary="Apply online for the inspection mark of my exempt-year car (Idempotency-Key required)")
def mark_apply(request, payload: MarkIn):
    user = current_user(request)

    def run():
        m = services.mark_apply(user=user, vehicle_id=payload.vehicle_id, actor=actor_of(request, user))
        return 201, _mark_out(m, request)

    return api_once(request, user, "inspection-mark", fingerprint=str(payload.vehicle_id), run=run)


# --- Staff ---------------------------------------------------------------------------------------------------------

class StationIn(Schema):
    code: str
    name_zh: str
    name_en: str
    address: str
    district: str
    lanes: int = 2

    model_config = examples(
        {"code": "NS01", "name_zh": "南山检测站", "name_en": "Nanshan inspection station", "address": "南山区科技园",
         "district": "南山区", "lanes": 2})


@router.post("staff/inspection-stations", auth=AUTH, response={201: InspectionStationOut, **ERRORS},
             summary="Add a station")
def staff_station_create(request, payload: StationIn):
    user = require_permission(request, "booking.manage")
    s = services.station_create(**payload.dict(), actor=actor_of(request, user))
    return Status(201, _station_out(s))


class InspectionSlotsIn(Schema):
    first: dt.date
    last: dt.date
    opens: dt.time
    closes: dt.time
    minutes: int = 30
    lanes: int | None = None
    weekdays: list[int] | None = None
    workdays_only: bool = False

    model_config = examples(
        {"first": "2027-01-04", "last": "2027-01-08", "opens": "09:00", "closes": "17:00", "minutes": 30,
         "workdays_only": True})


@router.post("staff/inspection-stations/{station_id}/slots", auth=AUTH,
             response={200: InspectionSlotsGeneratedOut, **ERRORS},
             summary="Generate a station's slots for a date range (existing slots are skipped)")
def staff_generate(request, station_id: int, payload: InspectionSlotsIn):
    user = require_permission(request, "booking.manage")
    g = services.slots_generate(station_id=station_id, actor=actor_of(request, user), **payload.dict())
    return Status(200, {"created": g.created, "skipped": g.skipped})


@router.get("staff/inspection-stations/{station_id}/day", auth=AUTH, response={200: InspectionStationDayOut, **ERRORS},
            summary="A station's day: slots and bookings (plates masked)")
def staff_day(request, station_id: int, date: str | None = None):
    require_permission(request, "booking.attendance")
    station = selectors.station_get(station_id=station_id, active_only=False)
    day = _parse_date(date)
    return {"station": _station_out(station), "date": day.isoformat(), "slots": [
        {**_slot_out(d.row), "bookings": [_booking_out(ib, masked=True) for ib in d.bookings]}
        for d in selectors.station_day(station=station, day=day)]}


class InspectionAttendanceIn(Schema):
    attended: bool

    model_config = examples({"attended": True})


@router.post("staff/inspection-bookings/{booking_id}/attendance", auth=AUTH,
             response={200: InspectionBookingOut, **ERRORS},
             summary="Mark a booking attended or no-show (after the slot has started)")
def staff_attendance(request, booking_id: int, payload: InspectionAttendanceIn):
    user = require_permission(request, "booking.attendance")
    ib = services.inspection_attendance(booking_id=booking_id, attended=payload.attended,
                                        actor=actor_of(request, user))
    return Status(200, _booking_out(ib, masked=True))


class InspectionResultIn(Schema):
    passed: bool
    note: str = ""

    model_config = examples({"passed": True, "note": ""})


@router.post("staff/inspection-bookings/{booking_id}/result", auth=AUTH,
             response={200: InspectionBookingOut, **ERRORS},
             summary="Record the test result of an attended booking (pass moves the registry's due date)")
def staff_result(request, booking_id: int, payload: InspectionResultIn):
    user = require_permission(request, "booking.attendance")
    ib = services.inspection_result(booking_id=booking_id, passed=payload.passed, note=payload.note,
                                    actor=actor_of(request, user))
    return Status(200, _booking_out(ib, masked=True))

