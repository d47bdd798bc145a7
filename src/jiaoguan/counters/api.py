"""Counter appointments API (ninja Router mounted at /api/v1/ by jiaoguan/api.py).

Everyone:
    GET  /api/v1/counter-offices                         offices with the services they offer
    GET  /api/v1/counter-offices/{id}/slots?service=&date=   a day's slots with free seats
Citizens and enterprise users (session or bearer):
    POST /api/v1/me/appointments {"slot_id"}             Idempotency-Key required → 201 {id, reference, status,
                                                         slot_id} | 409 bookings.full / bookings.duplicate / …
    GET  /api/v1/me/appointments                         own appointments, newest first
    POST /api/v1/me/appointments/{id}/cancel             until the slot starts (Idempotency-Key optional)
Enterprise users:
    POST /api/v1/me/appointments/batch {"items": [{"slot_id", "vehicle_id"}, …]}   Idempotency-Key required;
         all or nothing (≤ MAX_BATCH items) → 201 {batch, appointments} | 409 counters.batch_refused with
         "items": [{index, code, message}] (nothing booked)
Staff:
    POST /api/v1/staff/appointments/{id}/attendance {"attended": bool}
"""
from __future__ import annotations

import datetime as dt
import json

from ninja import Router, Schema, Status
from pydantic import Field

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateText, DateTimeText, Out, examples
from jiaoguan.core.errors import InvalidInput, forbidden
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.core.ids import MAX_ID
from jiaoguan.counters import selectors, services
from jiaoguan.identity.auth import AUTH, current_user, require_permission

router = Router(tags=["counters"])


class CounterServiceOut(Out):
    code: str
    name_zh: str
    name_en: str
    windows: int
    slot_minutes: int
    for_: str = Field(alias="for", description="who it is for: person, vehicle, …")


class CounterOfficeOut(Out):
    id: int
    code: str
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    opens: str = Field(description="HH:MM")
    closes: str = Field(description="HH:MM")
    services: list[CounterServiceOut]


class CounterSlotOut(Out):
    id: int
    starts_at: DateTimeText
    ends_at: DateTimeText
    capacity: int
    free: int
    bookable: bool


class CounterDayOut(Out):
    office_id: int
    service: str
    date: DateText
    slots: list[CounterSlotOut]


class AppointmentOut(Out):
    id: int
    reference: str
    status: str
    slot_id: int


class AppointmentOfficeOut(Out):
    id: int
    name_zh: str
    name_en: str
    address_zh: str


class AppointmentServiceOut(Out):
    code: str
    name_zh: str
    name_en: str


class AppointmentDetailOut(AppointmentOut):
    starts_at: DateTimeText
    ends_at: DateTimeText
    cancel_until: DateTimeText
    subject: str
    office: AppointmentOfficeOut | None
    service: AppointmentServiceOut | None
    batch: str | None = Field(description="the enterprise batch reference, if booked in one")


class BatchAppointmentOut(AppointmentOut):
    vehicle: str


class AppointmentBatchOut(Out):
    batch: str
    items: int
    appointments: list[BatchAppointmentOut]





def _office_out(o) -> dict:
    return {"id": o.pk, "code": o.code, "name_zh": o.name_zh, "name_en": o.name_en, "address_zh": o.address_zh,
            "address_en": o.address_en, "opens": o.opens.strftime("%H:%M"), "closes": o.closes.strftime("%H:%M"),
            "services": [{"code": s.service.code, "name_zh": s.service.name_zh, "name_en": s.service.name_en,
                          "windows": s.windows, "slot_minutes": s.slot_minutes, "for": s.service.subject}
                         for s in o.services.all()]}


def _appointment_out(b, offices: dict | None = None) -> dict:
    out = {"id": b.pk, "reference": b.reference, "status": b.status, "slot_id": b.slot_id}
    if offices is not None:
        os_ = offices.get(b.slot.resource_id)
        out.update({
            "starts_at": clock.isoformat(b.slot.starts_at), "ends_at": clock.isoformat(b.slot.ends_at),
            "cancel_until": clock.isoformat(b.slot.cancel_until), "subject": b.subject_label,
            "office": {"id": os_.office_id, "name_zh": os_.office.name_zh, "name_en": os_.office.name_en,
                       "address_zh": os_.office.address_zh} if os_ else None,
            "service": {"code": os_.service.code, "name_zh": os_.service.name_zh,
                        "name_en": os_.service.name_en} if os_ else None,
            "batch": (b.meta or {}).get("batch"),
        })
    return out


@router.get("counter-offices", auth=None, response={200: list[CounterOfficeOut], **ERRORS}, by_alias=True,
            summary="Offices (车管所, 服务站) with their counter services")
def offices(request):
    return [_office_out(o) for o in selectors.offices_with_services()]


@router.get("counter-offices/{office_id}/slots", auth=None, response={200: CounterDayOut, **ERRORS},
            summary="A day's slots of one service at one office, with free seats")
def slots(request, office_id: int, service: str, date: dt.date):
    if not booking_rules.day_ok(date):
        raise InvalidInput("counters.date_out_of_range", "日期超出范围", "The date is out of range", field="date")
    office = selectors.office_get(office_id=office_id)
    os_ = selectors.office_service_get(office=office, service_code=service)
    rows = selectors.day_slots(office_service=os_, day=date)
    return {"office_id": office.pk, "service": os_.service.code, "date": date.isoformat(), "slots": [
        {"id": r.slot.pk, "starts_at": clock.isoformat(r.slot.starts_at), "ends_at": clock.isoformat(r.slot.ends_at),
         "capacity": r.capacity, "free": r.free, "bookable": r.bookable and r.free > 0} for r in rows]}


class AppointmentBookIn(Schema):
    slot_id: int = Field(gt=0, le=MAX_ID)

    model_config = examples({"slot_id": 1})


@router.post("me/appointments", auth=AUTH, response={201: AppointmentOut, **ERRORS},
             summary="Book a counter slot (Idempotency-Key required); confirmed at once")
def book(request, payload: AppointmentBookIn):
    user = current_user(request)
    plan: list = []

    def check():  # the refusals that need no write, before the idempotency key is claimed
        plan.append(services.appointment_check(user=user, slot_id=payload.slot_id))

    def run():
        b = services.appointment_book(user=user, slot_id=payload.slot_id, actor=actor_of(request, user),
                                      plan=plan[0] if plan else None)
        return 201, _appointment_out(b)

    return api_once(request, user, "counter-book", fingerprint=str(payload.slot_id), run=run, precheck=check)


@router.get("me/appointments", auth=AUTH, response={200: list[AppointmentDetailOut], **ERRORS},
            summary="My counter appointments")
def mine(request, live: bool = False):
    user = current_user(request)
    rows = list(selectors.my_appointments(user=user, live_only=live)[:200])
    offices_by_resource = selectors.office_service_of_resource(resource_ids=[b.slot.resource_id for b in rows])
    return [_appointment_out(b, offices_by_resource) for b in rows]


@router.post("me/appointments/{booking_id}/cancel", auth=AUTH, response={200: AppointmentOut, **ERRORS},
             summary="Cancel my appointment (until the slot starts; Idempotency-Key optional)")
def cancel(request, booking_id: int):
    user = current_user(request)

    def run():
        b = services.appointment_cancel(user=user, booking_id=booking_id, actor=actor_of(request, user))
        return 200, _appointment_out(b)

    key = request.headers.get("Idempotency-Key")
    if not key:  # optional here: a repeated cancel is refused (409) rather than applied twice
        return Status(*run())
    return api_once(request, user, "counter-cancel", fingerprint=str(booking_id), run=run)


class BatchItemIn(Schema):
    slot_id: int = Field(gt=0, le=MAX_ID)
    vehicle_id: int = Field(gt=0, le=MAX_ID)


class AppointmentBatchIn(Schema):
    items: list[BatchItemIn] = Field(min_length=1, max_length=services.MAX_BATCH)

    model_config = examples({"items": [{"slot_id": 1, "vehicle_id": 1}, {"slot_id": 1, "vehicle_id": 2}]})


@router.post("me/appointments/batch", auth=AUTH, response={201: AppointmentBatchOut, **ERRORS},
             summary="批量预约: an enterprise books its vehicles, all or nothing (Idempotency-Key required)")
def batch(request, payload: AppointmentBatchIn):
    user = current_user(request)
    if user.role != "enterprise":
        raise forbidden()
    items = [services.BatchItem(slot_id=i.slot_id, vehicle_id=i.vehicle_id) for i in payload.items]
    fingerprint = json.dumps([[i.slot_id, i.vehicle_id] for i in items])

    def run():
        b, booked = services.batch_book(user=user, items=items, actor=actor_of(request, user))
        return 201, {"batch": b.reference, "items": b.items,
                     "appointments": [{**_appointment_out(x), "vehicle": x.subject_label} for x in booked]}

    return api_once(request, user, "counter-batch", fingerprint=fingerprint, run=run)


class AppointmentAttendanceIn(Schema):
    attended: bool

    model_config = examples({"attended": True})


@router.post("staff/appointments/{booking_id}/attendance", auth=AUTH, response={200: AppointmentOut, **ERRORS},
             summary="Staff: mark an appointment attended or no-show")
def attendance(request, booking_id: int, payload: AppointmentAttendanceIn):
    user = require_permission(request, "booking.attendance")
    b = services.appointment_mark(booking_id=booking_id, attended=payload.attended, actor=actor_of(request, user))
    return Status(200, _appointment_out(b))
