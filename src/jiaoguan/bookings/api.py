"""Bookings API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): the generic part of every kind's bookings.
Making a booking stays with the domain apps (exams, inspections, counters, eastern), which check eligibility.

Citizens (session or bearer):
    GET  me/bookings                              bookings, applications (live rank) and waiting entries, all kinds
    POST me/bookings/{id}/confirm|release|cancel  Idempotency-Key required
    POST me/booking-applications/{id}/withdraw    Idempotency-Key required
    POST me/waitlist/{id}/withdraw                Idempotency-Key required
Staff (identity.roles: booking.attendance / booking.manage):
    GET  staff/booking-slots/{id}                 quotas, availability, bookings (masked), applications with ranks
    POST staff/bookings/{id}/attendance           {"attended": bool}
    POST staff/bookings/{id}/cancel               {"reason"}, Idempotency-Key required
    POST staff/booking-slots/{id}/cancel          {"reason"}, Idempotency-Key required
    POST staff/booking-allocations                run the allocation now -> the AllocationRun
    GET  staff/booking-allocations                the last runs
    GET  staff/booking-penalties                  penalties in force;  POST staff/booking-penalties/{id}/lift {"reason"}
"""
from __future__ import annotations

import json
from typing import Annotated, Literal

from ninja import Field, Router, Schema, Status

from jiaoguan.bookings import selectors, services
from jiaoguan.bookings.models import AllocationRun, Application, Booking, Penalty, Slot, WaitlistEntry
from jiaoguan.core import clock, masking
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateTimeText, Label, Out, examples
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user, require_permission

router = Router(tags=["bookings"])


class BookingSlotOut(Out):
    id: int
    kind: str
    resource: str
    resource_zh: str
    resource_en: str
    policy: str
    starts_at: DateTimeText
    ends_at: DateTimeText
    opens_at: DateTimeText
    closes_at: DateTimeText
    cancel_until: DateTimeText
    period_key: str
    status: str


class MyBookingOut(Out):
    type: Literal["booking"]
    id: int
    reference: str
    status: str
    status_label: Label
    subject: str
    subject_label: str
    quota: str
    hold_expires_at: DateTimeText | None
    cancel_until: DateTimeText | None = Field(description="confirmed bookings only")
    created_at: DateTimeText
    confirmed_at: DateTimeText | None
    ended_at: DateTimeText | None
    cancelled_by: str | None
    rank: int | None
    slot: BookingSlotOut


class MyApplicationOut(Out):
    type: Literal["application"]
    id: int
    status: str
    status_label: Label
    subject: str
    subject_label: str
    quota: str
    rank: int | None
    seats: int | None
    sort_time: DateTimeText
    closes_at: DateTimeText
    created_at: DateTimeText
    decided_at: DateTimeText | None
    slot: BookingSlotOut


class MyWaitlistOut(Out):
    type: Literal["waitlist"]
    id: int
    status: str
    status_label: Label
    subject: str
    subject_label: str
    quota: str
    booking_id: int | None
    created_at: DateTimeText
    slot: BookingSlotOut


MyItemOut = Annotated[MyBookingOut | MyApplicationOut | MyWaitlistOut, Field(discriminator="type")]


class QuotaAvailabilityOut(Out):
    name: str
    label_zh: str
    label_en: str
    capacity: int
    taken: int
    free: int
    pending: int


class StaffBookingOut(Out):
    id: int
    reference: str
    status: str
    quota: str
    subject: str
    subject_label: str
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    hold_expires_at: DateTimeText | None
    created_at: DateTimeText
    ended_at: DateTimeText | None
    cancelled_by: str | None


class RankedApplicationOut(Out):
    id: int
    quota: str
    status: str
    rank: int | None
    sort_time: DateTimeText
    subject_label: str


class StaffSlotOut(BookingSlotOut):
    quotas: list[QuotaAvailabilityOut]
    bookings: list[StaffBookingOut]
    applications: list[RankedApplicationOut]


class AllocationRunOut(Out):
    id: int
    started_at: DateTimeText
    finished_at: DateTimeText | None
    actor: str
    slots: int
    applications: int
    allocated: int


class PenaltyOut(Out):
    id: int
    party: str
    kind: str
    rule_id: int | None
    period_key: str
    reason_zh: str
    reason_en: str
    starts_at: DateTimeText
    ends_at: DateTimeText | None
    lifted_at: DateTimeText | None




def _iso(value):
    return clock.isoformat(value)


def _slot_out(slot: Slot) -> dict:
    r = slot.resource
    return {"id": slot.pk, "kind": r.kind, "resource": r.code, "resource_zh": r.name_zh, "resource_en": r.name_en,
            "policy": r.policy, "starts_at": _iso(slot.starts_at), "ends_at": _iso(slot.ends_at),
            "opens_at": _iso(slot.opens_at), "closes_at": _iso(slot.closes_at),
            "cancel_until": _iso(slot.cancel_until), "period_key": slot.period_key, "status": slot.status}


def _booking_out(b: Booking) -> dict:
    return {"type": "booking", "id": b.pk, "reference": b.reference, "status": b.status,
            "status_label": b.get_status_display(), "subject": b.subject, "subject_label": b.subject_label,
            "quota": b.quota.name, "hold_expires_at": _iso(b.hold_expires_at),
            "cancel_until": _iso(b.slot.cancel_until) if b.status == Booking.Status.CONFIRMED else None,
            "created_at": _iso(b.created_at), "confirmed_at": _iso(b.confirmed_at), "ended_at": _iso(b.ended_at),
            "cancelled_by": b.cancelled_by or None, "rank": (b.meta or {}).get("rank"), "slot": _slot_out(b.slot)}


def _application_out(a: Application, rank: int | None, seats: int | None) -> dict:
    return {"type": "application", "id": a.pk, "status": a.status, "status_label": a.get_status_display(),
            "subject": a.subject, "subject_label": a.subject_label, "quota": a.quota.name, "rank": rank,
            "seats": seats, "sort_time": _iso(a.sort_time), "closes_at": _iso(a.slot.closes_at),
            "created_at": _iso(a.created_at), "decided_at": _iso(a.decided_at), "slot": _slot_out(a.slot)}


def _entry_out(e: WaitlistEntry) -> dict:
    return {"type": "waitlist", "id": e.pk, "status": e.status, "status_label": e.get_status_display(),
            "subject": e.subject, "subject_label": e.subject_label, "quota": e.quota.name,
            "booking_id": e.booking_id, "created_at": _iso(e.created_at), "slot": _slot_out(e.slot)}


def _item_out(item: selectors.MyItem) -> dict:
    if item.kind == "booking":
        return _booking_out(item.obj)
    if item.kind == "application":
        return _application_out(item.obj, item.rank, item.seats)
    return _entry_out(item.obj)




# --- citizens ------------------------------------------------------------------------------------------------------

@router.get("me/bookings", auth=AUTH, response={200: list[MyItemOut], **ERRORS},
            summary="My bookings, applications (with live rank) and waiting-list entries, all kinds")
def my_bookings(request):
    user = current_user(request)
    return [_item_out(i) for i in selectors.my_items(user=user)]


@router.post("me/bookings/{booking_id}/confirm", auth=AUTH, response={200: MyBookingOut, **ERRORS},
             summary="Confirm a held seat before the hold runs out (Idempotency-Key required)")
def booking_confirm(request, booking_id: int):
    return _my_booking_action(request, booking_id, "booking_confirm", "booking-confirm")


def _my_booking_action(request, booking_id: int, service: str, action: str):
    """A citizen's step on their own booking (services.<service>), once per Idempotency-Key (scope ``action``)."""
    user = current_user(request)

    def run():
        step = getattr(services, service)
        return 200, _booking_out(step(booking_id=booking_id, user=user, actor=actor_of(request, user)))

    return api_once(request, user, action, fingerprint=str(booking_id), run=run)


@router.post("me/bookings/{booking_id}/release", auth=AUTH, response={200: MyBookingOut, **ERRORS},
             summary="Let a held seat go (Idempotency-Key required)")
def booking_release(request, booking_id: int):
    return _my_booking_action(request, booking_id, "booking_release", "booking-release")


@router.post("me/bookings/{booking_id}/cancel", auth=AUTH, response={200: MyBookingOut, **ERRORS},
             summary="Cancel a confirmed booking before its deadline (Idempotency-Key required)")
def booking_cancel(request, booking_id: int):
    return _my_booking_action(request, booking_id, "booking_cancel", "booking-cancel")


@router.post("me/booking-applications/{application_id}/withdraw", auth=AUTH,
             response={200: MyApplicationOut, **ERRORS},
             summary="Withdraw a pending application while the window is open (Idempotency-Key required)")
def application_withdraw(request, application_id: int):
    user = current_user(request)

    def run():
        a = services.application_withdraw(application_id=application_id, user=user, actor=actor_of(request, user))
        return 200, _application_out(a, None, None)

    return api_once(request, user, "booking-withdraw", fingerprint=str(application_id), run=run)


@router.post("me/waitlist/{entry_id}/withdraw", auth=AUTH, response={200: MyWaitlistOut, **ERRORS},
             summary="Leave a waiting list (a seat on offer passes on; Idempotency-Key required)")
def waitlist_withdraw(request, entry_id: int):
    user = current_user(request)

    def run():
        e = services.waitlist_withdraw(entry_id=entry_id, user=user, actor=actor_of(request, user))
        return 200, _entry_out(e)

    return api_once(request, user, "waitlist-withdraw", fingerprint=str(entry_id), run=run)


# --- staff ---------------------------------------------------------------------------------------------------------

class BookingAttendanceIn(Schema):
    attended: bool

    model_config = examples({"attended": True})


class ReasonIn(Schema):
    reason: str

    model_config = examples({"reason": "场地维修"})


def _staff_booking_out(b: Booking) -> dict:
    person = getattr(b.user, "person", None)
    return {"id": b.pk, "reference": b.reference, "status": b.status, "quota": b.quota.name,
            "subject": b.subject, "subject_label": b.subject_label,
            "name": masking.mask_name(person.name) if person else "",
            "phone": masking.mask_phone(b.user.phone), "hold_expires_at": _iso(b.hold_expires_at),
            "created_at": _iso(b.created_at), "ended_at": _iso(b.ended_at), "cancelled_by": b.cancelled_by or None}


def _run_out(run: AllocationRun) -> dict:
    return {"id": run.pk, "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
            "actor": run.actor_label, "slots": run.slots, "applications": run.applications,
            "allocated": run.allocated}


def _penalty_out(p: Penalty) -> dict:
    return {"id": p.pk, "party": p.party, "kind": p.kind, "rule_id": p.rule_id, "period_key": p.period_key,
            "reason_zh": p.reason_zh, "reason_en": p.reason_en, "starts_at": _iso(p.starts_at),
            "ends_at": _iso(p.ends_at), "lifted_at": _iso(p.lifted_at)}


@router.get("staff/booking-slots/{slot_id}", auth=AUTH, response={200: StaffSlotOut, **ERRORS},
            summary="A slot: quotas and availability, bookings (masked), applications with ranks")
def staff_slot(request, slot_id: int):
    require_permission(request, "booking.attendance")
    slot = selectors.slot_get(slot_id=slot_id)
    quotas = [{"name": q.name, "label_zh": q.label_zh, "label_en": q.label_en, "capacity": q.capacity,
               "taken": q.taken, "free": q.free, "pending": q.pending}
              for q in selectors.slot_availability(slot=slot)]
    bookings = [_staff_booking_out(b) for b in selectors.slot_bookings(slot=slot).select_related("user__person")[:2000]]
    applications = [{"id": a.pk, "quota": a.quota.name, "status": a.status, "rank": rank,
                     "sort_time": _iso(a.sort_time), "subject_label": a.subject_label}
                    for a, rank in selectors.slot_ranked_applications(slot=slot, limit=2000)]
    return {**_slot_out(slot), "quotas": quotas, "bookings": bookings, "applications": applications}


@router.post("staff/bookings/{booking_id}/attendance", auth=AUTH, response={200: StaffBookingOut, **ERRORS},
             summary="Mark a confirmed booking attended or no-show (after the slot has started)")
def staff_attendance(request, booking_id: int, payload: BookingAttendanceIn):
    user = require_permission(request, "booking.attendance")
    b = services.booking_mark(booking_id=booking_id, attended=payload.attended, actor=actor_of(request, user))
    return Status(200, _staff_booking_out(b))


@router.post("staff/bookings/{booking_id}/cancel", auth=AUTH, response={200: StaffBookingOut, **ERRORS},
             summary="Cancel a booking as staff, with a reason (no penalty; Idempotency-Key required)")
def staff_booking_cancel(request, booking_id: int, payload: ReasonIn):
    user = require_permission(request, "booking.attendance")

    def run():
        b = services.booking_cancel(booking_id=booking_id, actor=actor_of(request, user), reason=payload.reason)
        return 200, _staff_booking_out(b)

    return api_once(request, user, "staff-booking-cancel",
                    fingerprint=json.dumps([booking_id, payload.reason], ensure_ascii=False), run=run)


@router.post("staff/booking-slots/{slot_id}/cancel", auth=AUTH, response={200: BookingSlotOut, **ERRORS},
             summary="Call a slot off: every booking cancelled, applicants and waiting list told")
def staff_slot_cancel(request, slot_id: int, payload: ReasonIn):
    user = require_permission(request, "booking.manage")

    def run():
        slot = services.slot_cancel(slot_id=slot_id, actor=actor_of(request, user), reason=payload.reason)
        return 200, _slot_out(slot)

    return api_once(request, user, "staff-slot-cancel",
                    fingerprint=json.dumps([slot_id, payload.reason], ensure_ascii=False), run=run)


@router.post("staff/booking-allocations", auth=AUTH, response={201: AllocationRunOut, **ERRORS},
             summary="Run the ranked allocation now over every slot whose window has closed")
def staff_allocate(request):
    user = require_permission(request, "booking.manage")
    services.slots_close()
    run = services.applications_allocate(actor=actor_of(request, user))
    return Status(201, _run_out(run))


@router.get("staff/booking-allocations", auth=AUTH, response={200: list[AllocationRunOut], **ERRORS},
            summary="The last allocation runs with their figures")
def staff_allocations(request):
    require_permission(request, "booking.attendance")
    return [_run_out(r) for r in selectors.allocation_runs(limit=50)]


@router.get("staff/booking-penalties", auth=AUTH, response={200: list[PenaltyOut], **ERRORS},
            summary="Penalties in force (optionally of one party or kind)")
def staff_penalties(request, party: str | None = None, kind: str | None = None):
    require_permission(request, "booking.attendance")
    return [_penalty_out(p) for p in selectors.penalties_active(party=party, kind=kind)]


@router.post("staff/booking-penalties/{penalty_id}/lift", auth=AUTH, response={200: PenaltyOut, **ERRORS},
             summary="Lift a penalty, with a reason")
def staff_penalty_lift(request, penalty_id: int, payload: ReasonIn):
    user = require_permission(request, "booking.manage")
    return Status(200, _penalty_out(services.penalty_lift(penalty_id=penalty_id, actor=actor_of(request, user),
                                                          reason=payload.reason)))
