"""东部预约 API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Everyone:
    GET  /api/v1/eastern/areas                       areas with their coming booking days and free seats
    GET  /api/v1/eastern/areas/{code}/days/{date}     a day's slots with free public and merchant seats
Citizens (session or bearer):
    POST /api/v1/me/eastern-bookings                 {area, date, slot_id, vehicle_id | plate (+plate_type)}
                                                     Idempotency-Key required -> 201 the booking
    POST /api/v1/me/eastern-bookings/merchant        enterprise accounts: {area, date, slot_id, plates: [...]}
                                                     Idempotency-Key required -> 200 a result per plate
    GET  /api/v1/me/eastern-bookings                 my eastern bookings
    POST /api/v1/me/eastern-bookings/{id}/delay      延误报备: the entry window grows by DELAY_HOURS (once)
    POST /api/v1/me/eastern-bookings/{id}/cancel     counts towards the plate's cancellation penalty
Checkpoints (signed like the violations devices: X-Device-Key/Timestamp/Nonce/Signature):
    POST /api/v1/eastern/checkpoint                  {record_id, plate, plate_type, at, photos?}
                                                     -> 200 {"allowed": bool, "reason": ..., ...}; a repeated
                                                     record_id gets the first answer
Staff (booking.manage):
    GET/POST /api/v1/staff/eastern/areas, POST /api/v1/staff/eastern/days,
    GET/POST /api/v1/staff/eastern/exemptions, POST /api/v1/staff/eastern/exemptions/{id}/revoke,
    GET/POST /api/v1/staff/eastern/checkpoints (the device secret is shown once)
"""
from __future__ import annotations

import datetime as dt
import json

import pydantic
from django.db import transaction
from ninja import Router, Schema, Status
from pydantic import Field

from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS, ErrorOut
from jiaoguan.core.api_schema import DateText, DateTimeText, Label, Out, absent, examples, json_body
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.eastern import selectors, services
from jiaoguan.eastern.models import AreaBooking
from jiaoguan.identity.auth import AUTH, current_user, require_permission
from jiaoguan.violations import signing
from jiaoguan.violations.services import photos_decode

router = Router(tags=["eastern"])


class EasternAreaOut(Out):
    code: str
    name_zh: str
    name_en: str


class EasternDaySummaryOut(Out):
    date: DateText
    period_key: str
    daily_quota: int
    merchant_quota: int
    public_free: int
    merchant_free: int
    slots: int


class EasternAreaDaysOut(EasternAreaOut):
    days: list[EasternDaySummaryOut]


class EasternSeatsOut(Out):
    capacity: int
    free: int


class EasternSlotOut(Out):
    slot_id: int
    starts_at: DateTimeText
    ends_at: DateTimeText
    bookable: bool
    public: EasternSeatsOut
    merchant: EasternSeatsOut


class EasternDayOut(EasternAreaOut):
    date: DateText
    period_key: str
    daily_quota: int
    merchant_quota: int
    slots: list[EasternSlotOut]


class EasternBookingOut(Out):
    id: int
    reference: str
    area: str
    area_name_zh: str
    area_name_en: str
    date: DateText
    plate: str
    plate_type: str
    status: str
    status_label: Label
    starts_at: DateTimeText
    slot_ends_at: DateTimeText
    entry_ends_at: DateTimeText
    delay_reported_at: DateTimeText | None
    entered_at: DateTimeText | None
    merchant: bool


class EasternMerchantResultOut(Out):
    """One plate of a merchant's request: its booking, or ``error``."""

    plate: str
    booking: EasternBookingOut = absent()
    error: ErrorOut = absent()


class EasternMerchantOut(Out):
    results: list[EasternMerchantResultOut]
    booked: int
    failed: int


class EasternCheckpointAnswerOut(Out):
    allowed: bool
    reason: str
    detail: str
    message_zh: str
    message_en: str
    record_id: str
    plate: str
    booking: str | None = Field(description="the booking's reference")
    violation_id: int | None = Field(description="recorded for entering without a booking")
    repeat: bool = Field(description="this record id was seen before: the first answer again")


class EasternStaffAreaOut(EasternAreaOut):
    active: bool
    days: list[DateText]


class EasternDayCreatedOut(EasternAreaOut):
    date: DateText
    period_key: str
    slots: list[EasternSlotOut]


class EasternExemptionOut(Out):
    id: int
    area: str
    plate: str
    reason: str
    valid_until: DateText
    revoked: bool


class EasternCheckpointOut(Out):
    id: int
    area: str
    name: str
    key_id: str
    active: bool


class EasternCheckpointCreatedOut(Out):
    id: int
    area: str
    name: str
    key_id: str
    secret: str = Field(description="the signing secret, shown once")


# --- read: areas, days, slots -------------------------------------------------------------------------------------

def _area_out(area) -> dict:
    return {"code": area.code, "name_zh": area.name_zh, "name_en": area.name_en}


@router.get("eastern/areas", auth=None, response={200: list[EasternAreaDaysOut]},
            summary="Eastern areas and coming booking days")
def areas(request):
    out = []
    for area in selectors.areas():
        days = [{"date": d.date.isoformat(), "period_key": d.period_key, "daily_quota": d.daily_quota,
                 "merchant_quota": d.merchant_quota, **selectors.day_totals(day=d)}
                for d in selectors.days_ahead(area=area, limit=14)]
        out.append({**_area_out(area), "days": days})
    return out


def _slot_out(v: selectors.SlotView) -> dict:
    s = v.slot
    return {"slot_id": s.pk, "starts_at": clock.isoformat(s.starts_at), "ends_at": clock.isoformat(s.ends_at),
            "bookable": v.bookable, "public": {"capacity": v.public_capacity, "free": v.public_free},
            "merchant": {"capacity": v.merchant_capacity, "free": v.merchant_free}}


@router.get("eastern/areas/{code}/days/{date}", auth=None, response={200: EasternDayOut, **ERRORS},
            summary="A booking day's slots with free seats")
def day(request, code: str, date: dt.date):
    area = selectors.area_get(code=code)
    d = selectors.day_get(area=area, date=date)
    return {**_area_out(area), "date": d.date.isoformat(), "period_key": d.period_key,
            "daily_quota": d.daily_quota, "merchant_quota": d.merchant_quota,
            "slots": [_slot_out(v) for v in selectors.day_slots(day=d)]}


# --- citizens ----------------------------------------------------------------------------------------------------

def booking_out(ab: AreaBooking) -> dict:
    b = ab.booking
    return {"id": ab.pk, "reference": b.reference, "area": ab.area.code, "area_name_zh": ab.area.name_zh,
            "area_name_en": ab.area.name_en, "date": ab.day.date.isoformat(), "plate": ab.plate,
            "plate_type": ab.plate_type, "status": b.status, "status_label": b.get_status_display(),
            "starts_at": clock.isoformat(ab.starts_at), "slot_ends_at": clock.isoformat(ab.slot_ends_at),
            "entry_ends_at": clock.isoformat(ab.entry_ends_at),
            "delay_reported_at": clock.isoformat(ab.delay_reported_at),
            "entered_at": clock.isoformat(ab.entered_at),
            "merchant": ab.enterprise_id is not None}


class EasternBookIn(Schema):
    area: str = Field(min_length=1, max_length=40)
    date: dt.date
    slot_id: int
    vehicle_id: int | None = None
    plate: str = Field(default="", max_length=12)
    plate_type: str = Field(default="", max_length=2)

    model_config = examples(
        {"area": "dameisha", "date": "2027-02-10", "slot_id": 1, "vehicle_id": 1},
        {"area": "dameisha", "date": "2027-02-10", "slot_id": 1, "plate": "粤B12345", "plate_type": "02"})


@router.post("me/eastern-bookings", auth=AUTH, response={200: EasternBookingOut, 201: EasternBookingOut, **ERRORS},
             summary="Book an eastern area slot for my car (Idempotency-Key required)")
def book(request, payload: EasternBookIn):
    user = current_user(request)
    actor = actor_of(request, user)

    def run():
        ab = services.booking_create(user=user, area_code=payload.area, date=payload.date, slot_id=payload.slot_id,
                                     vehicle_id=payload.vehicle_id, plate=payload.plate,
                                     plate_type=payload.plate_type, actor=actor)
        return 201, booking_out(ab)

    return api_once(request, user, "eastern-book", fingerprint=payload.model_dump_json(), run=run)


class PlateIn(Schema):
    plate: str = Field(min_length=1, max_length=12)
    plate_type: str = Field(default="", max_length=2)


class MerchantIn(Schema):
    area: str = Field(min_length=1, max_length=40)
    date: dt.date
    slot_id: int
    plates: list[PlateIn]

    model_config = examples(
        {"area": "dameisha", "date": "2027-02-10", "slot_id": 1, "plates": [{"plate": "粤B12345", "plate_type": "02"}]})


@router.post("me/eastern-bookings/merchant", auth=AUTH, response={200: EasternMerchantOut, **ERRORS},
             exclude_unset=True,
             summary="Hotels and merchants book their guests' plates from the merchants' quota")
def merchant_book(request, payload: MerchantIn):
    user = current_user(request)
    actor = actor_of(request, user)

    def run():
        results = services.merchant_book(user=user, area_code=payload.area, date=payload.date,
                                         slot_id=payload.slot_id, actor=actor,
                                         plates=[(p.plate, p.plate_type) for p in payload.plates])
        out = []
        for r in results:
            if r.booking is not None:
                out.append({"plate": r.plate, "booking": booking_out(r.booking)})
            else:
                out.append({"plate": r.plate, "error": r.error.as_dict()})
        return 200, {"results": out, "booked": sum(1 for r in results if r.booking is not None),
                     "failed": sum(1 for r in results if r.error is not None)}

    return api_once(request, user, "eastern-merchant", fingerprint=payload.model_dump_json(), run=run)


@router.get("me/eastern-bookings", auth=AUTH, response={200: list[EasternBookingOut], **ERRORS},
            summary="My eastern bookings")
def my_bookings(request):
    user = current_user(request)
    return [booking_out(ab) for ab in selectors.my_bookings(user=user)[:200]]


@router.post("me/eastern-bookings/{booking_id}/delay", auth=AUTH, response={200: EasternBookingOut, **ERRORS},
             summary="Report a delay: the entry window is extended (once, before the slot ends)")
def delay(request, booking_id: int):
    user = current_user(request)
    ab = services.booking_delay(user=user, area_booking_id=booking_id, actor=actor_of(request, user))
    return booking_out(ab)


@router.post("me/eastern-bookings/{booking_id}/cancel", auth=AUTH, response={200: EasternBookingOut, **ERRORS},
             summary="Cancel (3 cancellations in a holiday lose the rest of it for the plate)")
def cancel(request, booking_id: int):
    user = current_user(request)
    ab = services.booking_cancel(user=user, area_booking_id=booking_id, actor=actor_of(request, user))
    return booking_out(ab)


# --- checkpoints -------------------------------------------------------------------------------------------------

class CheckpointIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    record_id: str = Field(min_length=1, max_length=64)
    plate: str = Field(min_length=1, max_length=12)
    plate_type: str = Field(min_length=2, max_length=2)
    at: dt.datetime
    photos: list[str] = Field(default_factory=list)


# core candidate: registry/api.py ``_parse`` and violations/api.py ``_body_json`` + ``_parse`` are this function
def _parse_json(body: bytes, model: type[pydantic.BaseModel], *, app: str):
    """A JSON body validated by ``model``; <app>.bad_json / <app>.bad_record (422) otherwise."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"{app}.bad_json", "请求体不是有效的 JSON", "The body is not valid JSON",
                           field="body") from None
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "body": (f"格式不正确：{e['msg']}", e["msg"])
                  for e in exc.errors()}
        raise InvalidInput(f"{app}.bad_record", "提交的数据格式不正确", "The record is malformed",
                           fields=fields) from None


@router.post("eastern/checkpoint", auth=None, response={200: EasternCheckpointAnswerOut, **ERRORS},
             openapi_extra=json_body(CheckpointIn, {"record_id": "GATE-07-20270210-001122", "plate": "粤B12345",
                                                    "plate_type": "02", "at": "2027-02-10T08:15:00+08:00"}),
             summary="A checkpoint camera asks whether a car may enter (signed like the violations devices)")
def checkpoint(request):
    with transaction.atomic():
        device = signing.device_authenticate(headers=request.headers, body=request.body,
                                             endpoint=signing.ENDPOINT_CHECKPOINT)
        rec = _parse_json(request.body, CheckpointIn, app="eastern")
        photos = photos_decode(rec.photos)
        result = services.checkpoint_pass(device=device, record_id=rec.record_id, plate=rec.plate,
                                          plate_type=rec.plate_type, at=rec.at, photos=photos)
    return Status(200, {**result.passage.answer, "repeat": not result.created})


# --- staff -------------------------------------------------------------------------------------------------------

def _staff(request) -> Actor:
    return actor_of(request, require_permission(request, "booking.manage"))


class AreaIn(Schema):
    code: str = Field(min_length=1, max_length=40)
    name_zh: str = Field(min_length=1, max_length=80)
    name_en: str = Field(min_length=1, max_length=80)

    model_config = examples({"code": "dameisha", "name_zh": "大梅沙", "name_en": "Dameisha"})


@router.get("staff/eastern/areas", auth=AUTH, response={200: list[EasternStaffAreaOut], **ERRORS},
            summary="Areas (staff)")
def staff_areas(request):
    _staff(request)
    return [{**_area_out(a), "active": a.active, "days": [d.date.isoformat() for d in selectors.days_ahead(area=a)]}
            for a in selectors.areas(active_only=False)]


@router.post("staff/eastern/areas", auth=AUTH, response={201: EasternAreaOut, **ERRORS},
             summary="Create an area")
def staff_area_create(request, payload: AreaIn):
    actor = _staff(request)
    area = services.area_create(code=payload.code, name_zh=payload.name_zh, name_en=payload.name_en, actor=actor)
    return Status(201, _area_out(area))


class DayIn(Schema):
    area: str
    date: dt.date
    daily_quota: int
    merchant_quota: int = 0
    period_key: str = ""
    first_slot: dt.time = dt.time(6, 0)
    slot_minutes: int = 120
    slots: int = 6

    model_config = examples(
        {"area": "dameisha", "date": "2027-02-10", "daily_quota": 3000, "merchant_quota": 300,
         "period_key": "2027-spring-festival"})


@router.post("staff/eastern/days", auth=AUTH, response={201: EasternDayCreatedOut, **ERRORS},
             summary="Make a date a booking day: slots, daily quota and the merchants' share")
def staff_day_create(request, payload: DayIn):
    actor = _staff(request)
    area = selectors.area_get(code=payload.area)
    d = services.day_create(area=area, date=payload.date, actor=actor, spec=services.DaySpec(
        daily_quota=payload.daily_quota, merchant_quota=payload.merchant_quota, first_slot=payload.first_slot,
        slot_minutes=payload.slot_minutes, slots=payload.slots, period_key=payload.period_key))
    return Status(201, {**_area_out(area), "date": d.date.isoformat(), "period_key": d.period_key,
                        "slots": [_slot_out(v) for v in selectors.day_slots(day=d)]})


class ExemptionIn(Schema):
    area: str
    plate: str = Field(min_length=1, max_length=12)
    reason: str = Field(min_length=1, max_length=200)
    valid_until: dt.date

    model_config = examples({"area": "dameisha", "plate": "粤B12345", "reason": "本地居民", "valid_until": "2027-12-31"})


def _exemption_out(e) -> dict:
    return {"id": e.pk, "area": e.area.code, "plate": e.plate, "reason": e.reason,
            "valid_until": e.valid_until.isoformat(), "revoked": e.revoked_at is not None}


@router.get("staff/eastern/exemptions", auth=AUTH, response={200: list[EasternExemptionOut], **ERRORS},
            summary="Registered local vehicles (no booking needed)")
def staff_exemptions(request):
    _staff(request)
    return [_exemption_out(e) for e in selectors.exemptions()[:1000]]


@router.post("staff/eastern/exemptions", auth=AUTH, response={201: EasternExemptionOut, **ERRORS},
             summary="Register a local vehicle")
def staff_exemption_add(request, payload: ExemptionIn):
    actor = _staff(request)
    area = selectors.area_get(code=payload.area)
    e = services.exemption_add(area=area, plate=payload.plate, reason=payload.reason,
                               valid_until=payload.valid_until, actor=actor)
    return Status(201, _exemption_out(e))


@router.post("staff/eastern/exemptions/{exemption_id}/revoke", auth=AUTH,
             response={200: EasternExemptionOut, **ERRORS},
             summary="Remove a registered local vehicle")
def staff_exemption_revoke(request, exemption_id: int):
    actor = _staff(request)
    return _exemption_out(services.exemption_revoke(exemption_id=exemption_id, actor=actor))


class CheckpointCreateIn(Schema):
    area: str
    name: str = Field(min_length=1, max_length=80)

    model_config = examples({"area": "dameisha", "name": "盐梅路卡口"})


@router.get("staff/eastern/checkpoints", auth=AUTH, response={200: list[EasternCheckpointOut], **ERRORS},
            summary="Checkpoints")
def staff_checkpoints(request):
    _staff(request)
    return [{"id": c.pk, "area": c.area.code, "name": c.name, "key_id": c.device.key_id, "active": c.device.active}
            for c in selectors.checkpoints()]


@router.post("staff/eastern/checkpoints", auth=AUTH, response={201: EasternCheckpointCreatedOut, **ERRORS},
             summary="Add a checkpoint camera (its signing secret is shown once)")
def staff_checkpoint_create(request, payload: CheckpointCreateIn):
    actor = _staff(request)
    area = selectors.area_get(code=payload.area)
    cp, secret = services.checkpoint_create(area=area, name=payload.name, actor=actor)
    return Status(201, {"id": cp.pk, "area": area.code, "name": cp.name, "key_id": cp.device.key_id,
                        "secret": secret})
