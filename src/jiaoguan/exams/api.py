"""Driving-test booking API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call.

Citizens (session or bearer):
    GET  /api/v1/me/exam-permits                      my permits with progress and bookings left (科目二/三)
    GET  /api/v1/exam-sessions?subject=&venue=        sessions open for booking, with seats and applicants (public)
    POST /api/v1/me/exam-applications                 {"session_id", "permit_id"?}; Idempotency-Key required
                                                      -> 201 the application with its live rank
    GET  /api/v1/me/exam-applications                 mine, with live rank (pending) or published rank and seat
    POST /api/v1/me/exam-applications/{id}/withdraw   until the window closes
    POST /api/v1/me/exam-bookings/{id}/cancel         an allocated seat, until the day before; Idempotency-Key
Staff (roles in identity.roles: booking.manage for venues, sessions and allocation; booking.attendance for
results and permits):
    GET/POST /api/v1/staff/exam-venues                GET/POST /api/v1/staff/exam-sessions
    GET  /api/v1/staff/exam-sessions/{id}/candidates  POST /api/v1/staff/exam-sessions/{id}/results
    POST /api/v1/staff/exam-allocation                POST /api/v1/staff/exam-permits, GET ?person_id=
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import Field

from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateText, DateTimeText, Out, examples
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.exams import rules, selectors, services
from jiaoguan.identity.auth import AUTH, current_user, require_role

router = Router(tags=["exams"])


STAFF = ("clerk", "approver", "admin")


class ExamSubjectOut(Out):
    code: str
    zh: str
    en: str
    name_zh: str
    name_en: str


class ExamProgressOut(Out):
    subject: ExamSubjectOut
    passed: bool
    passed_at: DateTimeText | None
    eligible: bool
    bookings_used: int
    bookings_left: int | None = Field(description="null: the subject has no limit")


class ExamPermitResultOut(Out):
    subject: str
    outcome: str
    exam_at: DateTimeText


class ExamPermitOut(Out):
    id: int
    number: str
    licence_class: str
    accepted_at: DateTimeText
    valid_until: DateText
    status: str
    valid: bool
    sort_time: DateTimeText
    next_subjects: list[str]
    progress: list[ExamProgressOut]
    results: list[ExamPermitResultOut]


class ExamSessionVenueOut(Out):
    code: str
    name_zh: str
    name_en: str
    address: str


class ExamSessionOut(Out):
    id: int
    subject: ExamSubjectOut
    venue: ExamSessionVenueOut
    starts_at: DateTimeText
    ends_at: DateTimeText
    closes_at: DateTimeText
    cancel_until: DateTimeText
    status: str
    seats: int
    allocated: int
    pending: int


class ExamApplicationBookingOut(Out):
    id: int
    reference: str
    status: str
    cancel_until: DateTimeText
    can_cancel: bool


class ExamApplicationOut(Out):
    id: int
    session_id: int | None
    subject: ExamSubjectOut | None
    venue: str
    starts_at: DateTimeText
    closes_at: DateTimeText
    status: str
    sort_time: DateTimeText
    rank: int | None
    seats: int
    live: bool
    can_withdraw: bool
    booking: ExamApplicationBookingOut | None
    result: str | None


class ExamBookingCancelledOut(Out):
    id: int
    reference: str
    status: str


class ExamVenueOut(Out):
    id: int
    code: str
    name_zh: str
    name_en: str
    address: str
    subjects: list[str]
    active: bool


class ExamCandidateOut(Out):
    booking_id: int
    reference: str
    status: str
    rank: int | None
    permit: str | None
    result: str | None


class ExamResultOut(Out):
    id: int
    booking_id: int | None
    subject: str
    outcome: str


class ExamAllocationOut(Out):
    run_id: int
    slots: int
    applications: int
    allocated: int


def _iso(value):
    """Times in Asia/Shanghai with their offset (what the citizen reads on the exam notice)."""
    return clock.isoformat(value)


def _subject_out(subject: str) -> dict:
    info = rules.SUBJECT_INFO[subject]
    return {"code": subject, "zh": info.short_zh, "en": info.short_en, "name_zh": info.zh, "name_en": info.en}


def _permit_out(view: selectors.PermitView) -> dict:
    p = view.permit
    return {
        "id": p.pk, "number": p.number, "licence_class": p.licence_class, "accepted_at": _iso(p.accepted_at),
        "valid_until": p.valid_until.isoformat(), "status": "expired" if view.expired and p.status == "active"
        else p.status, "valid": view.valid, "sort_time": _iso(view.sort_time),
        "next_subjects": view.next_subjects,
        "progress": [{"subject": _subject_out(r["subject"]), "passed": r["passed"], "passed_at": _iso(r["passed_at"]),
                      "eligible": r["eligible"], "bookings_used": r["bookings_used"],
                      "bookings_left": r["bookings_left"]} for r in view.progress],
        "results": [{"subject": r.subject, "outcome": r.outcome, "exam_at": _iso(r.exam_at)} for r in view.results],
    }


def _session_out(row: selectors.SessionRow) -> dict:
    s = row.session
    return {"id": s.pk, "subject": _subject_out(s.subject),
            "venue": {"code": s.venue.code, "name_zh": s.venue.name_zh, "name_en": s.venue.name_en,
                      "address": s.venue.address},
            "starts_at": _iso(s.slot.starts_at), "ends_at": _iso(s.slot.ends_at), "closes_at": _iso(s.slot.closes_at),
            "cancel_until": _iso(s.slot.cancel_until), "status": s.slot.status, "seats": row.seats,
            "allocated": row.taken, "pending": row.pending}


def _application_out(row: selectors.ApplicationRow) -> dict:
    a = row.application
    b = row.booking
    return {
        "id": a.pk, "session_id": row.session.pk if row.session else None,
        "subject": _subject_out(row.subject) if row.subject else None,
        "venue": row.session.venue.code if row.session else a.slot.resource.code,
        "starts_at": _iso(a.slot.starts_at), "closes_at": _iso(a.slot.closes_at), "status": a.status,
        "sort_time": _iso(a.sort_time), "rank": row.rank, "seats": row.seats, "live": a.status == "pending",
        "can_withdraw": row.can_withdraw,
        "booking": None if b is None else {"id": b.pk, "reference": b.reference, "status": b.status,
                                           "cancel_until": _iso(b.slot.cancel_until), "can_cancel": row.can_cancel},
        "result": row.result.outcome if row.result else None,
    }


def _mine(user, application_id: int) -> dict:
    for row in selectors.my_exam_applications(user=user, limit=200):
        if row.application.pk == application_id:
            return _application_out(row)
    raise AssertionError("application not found after writing it")  # pragma: no cover


# --- Citizens -------------------------------------------------------------------------------------------------------

@router.get("me/exam-permits", auth=AUTH, response={200: list[ExamPermitOut], **ERRORS},
            summary="My learner's permits with subject progress and bookings left")
def my_permits(request):
    user = current_user(request)
    return [_permit_out(selectors.permit_view(permit=p)) for p in selectors.my_permits(user=user)]


@router.get("exam-sessions", auth=None, response={200: list[ExamSessionOut], **ERRORS},
            summary="Exam sessions open for booking, with seats and how many have applied")
def open_sessions(request, subject: str | None = None, venue: str | None = None):
    if subject is not None and subject not in rules.SUBJECTS:
        raise InvalidInput("exams.subject_invalid", "考试科目不正确，应为 1、2、3 或 4",
                           "Unknown subject: use 1, 2, 3 or 4", field="subject")
    rows = selectors.open_sessions(subjects=[subject] if subject else None, venue_code=venue or None, limit=200)
    return [_session_out(r) for r in rows]


class ApplyIn(Schema):
    session_id: int
    permit_id: int | None = None

    model_config = examples({"session_id": 1, "permit_id": 1})


@router.post("me/exam-applications", auth=AUTH, response={200: ExamApplicationOut, 201: ExamApplicationOut, **ERRORS},
             summary="Apply for a seat in an exam session (Idempotency-Key required): ranked, see the live rank")
def apply(request, payload: ApplyIn):
    user = current_user(request)
    actor = actor_of(request, user)

    def run():
        a = services.exam_apply(user=user, session_id=payload.session_id, permit_id=payload.permit_id, actor=actor)
        return 201, _mine(user, a.pk)

    fingerprint = json.dumps({"session_id": payload.session_id, "permit_id": payload.permit_id}, sort_keys=True)
    return api_once(request, user, "exam-apply", fingerprint=fingerprint, run=run)


@router.get("me/exam-applications", auth=AUTH, response={200: list[ExamApplicationOut], **ERRORS},
            summary="My exam applications with the live rank while pending, then the result")
def my_applications(request):
    user = current_user(request)
    return [_application_out(r) for r in selectors.my_exam_applications(user=user, limit=200)]


@router.post("me/exam-applications/{application_id}/withdraw", auth=AUTH,
             response={200: ExamApplicationOut, **ERRORS},
             summary="Withdraw a pending exam application (until the window closes)")
def withdraw(request, application_id: int):
    user = current_user(request)
    services.exam_withdraw(user=user, application_id=application_id, actor=actor_of(request, user))
    return Status(200, _mine(user, application_id))


@router.post("me/exam-bookings/{booking_id}/cancel", auth=AUTH, response={200: ExamBookingCancelledOut, **ERRORS},
             summary="Cancel an allocated exam seat (until the end of the day before; Idempotency-Key required)")
def cancel(request, booking_id: int):
    user = current_user(request)
    actor = actor_of(request, user)

    def run():
        b = services.exam_cancel(user=user, booking_id=booking_id, actor=actor)
        return 200, {"id": b.pk, "reference": b.reference, "status": b.status}

    return api_once(request, user, "exam-cancel", fingerprint=str(booking_id), run=run)


# --- Staff ---------------------------------------------------------------------------------------------------------

def _staff(request) -> Actor:
    return actor_of(request, require_role(request, *STAFF))


class VenueIn(Schema):
    code: str
    name_zh: str
    name_en: str
    subjects: list[str]
    address: str = ""

    model_config = examples(
        {"code": "SZ-KM2-01", "name_zh": "深圳第一考场", "name_en": "Shenzhen test ground 1", "subjects": ["2", "3"],
         "address": "龙岗区"})


def _venue_out(v) -> dict:
    return {"id": v.pk, "code": v.code, "name_zh": v.name_zh, "name_en": v.name_en, "address": v.address,
            "subjects": v.subjects, "active": v.active}


@router.get("staff/exam-venues", auth=AUTH, response={200: list[ExamVenueOut], **ERRORS}, summary="Exam venues")
def staff_venues(request):
    _staff(request)
    return [_venue_out(v) for v in selectors.venues()]


@router.post("staff/exam-venues", auth=AUTH, response={201: ExamVenueOut, **ERRORS}, summary="Create an exam venue")
def staff_venue_create(request, payload: VenueIn):
    v = services.venue_create(code=payload.code, name_zh=payload.name_zh, name_en=payload.name_en,
                              subjects=payload.subjects, address=payload.address, actor=_staff(request))
    return Status(201, _venue_out(v))


class SessionIn(Schema):
    venue_id: int
    subject: str
    starts_at: dt.datetime
    seats: int
    duration_minutes: int = 120

    model_config = examples(
        {"venue_id": 1, "subject": "2", "starts_at": "2027-01-15T09:00:00+08:00", "seats": 40,
         "duration_minutes": 120})


@router.get("staff/exam-sessions", auth=AUTH, response={200: list[ExamSessionOut], **ERRORS},
            summary="Exam sessions from a week ago on, with seats, allocated and pending applications")
def staff_sessions(request):
    _staff(request)
    return [_session_out(r) for r in selectors.sessions_for_staff(limit=500)]


@router.post("staff/exam-sessions", auth=AUTH, response={201: ExamSessionOut, **ERRORS},
             summary="Create an exam session (window closes 3 working days before; cancel until the day before)")
def staff_session_create(request, payload: SessionIn):
    s = services.session_create(venue_id=payload.venue_id, subject=payload.subject, starts_at=payload.starts_at,
                                seats=payload.seats, duration_minutes=payload.duration_minutes,
                                actor=_staff(request))
    return Status(201, _session_out(selectors.session_row(s)))


@router.get("staff/exam-sessions/{session_id}/candidates", auth=AUTH,
            response={200: list[ExamCandidateOut], **ERRORS},
            summary="The allocated seats of a session with each candidate's permit and result")
def staff_candidates(request, session_id: int):
    _staff(request)
    session = selectors.session_get(session_id=session_id)
    return [{"booking_id": c.booking.pk, "reference": c.booking.reference, "status": c.booking.status,
             "rank": (c.booking.meta or {}).get("rank"), "permit": c.permit.number if c.permit else None,
             "result": c.result.outcome if c.result else None}
            for c in selectors.session_candidates(session=session)]


class ExamResultIn(Schema):
    booking_id: int
    outcome: str

    model_config = examples({"booking_id": 1, "outcome": "pass"})


@router.post("staff/exam-sessions/{session_id}/results", auth=AUTH, response={201: ExamResultOut, **ERRORS},
             summary="Record a candidate's result: pass, fail or no_show (counts as a fail)")
def staff_result(request, session_id: int, payload: ExamResultIn):
    r = services.result_record(session_id=session_id, booking_id=payload.booking_id, outcome=payload.outcome,
                               actor=_staff(request))
    return Status(201, {"id": r.pk, "booking_id": r.booking_id, "subject": r.subject, "outcome": r.outcome})


class AllocateIn(Schema):
    # ids are database ids: anything past 64 bits would reach the database as an overflow (a 500), so it is a 422
    session_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(default=None, max_length=1000)

    model_config = examples({"session_ids": [1, 2]}, {})


@router.post("staff/exam-allocation", auth=AUTH, response={200: ExamAllocationOut, **ERRORS},
             summary="Run the ranked allocation now for exam sessions whose window has closed")
def staff_allocate(request, payload: AllocateIn):
    run = services.exam_allocate(actor=_staff(request), session_ids=payload.session_ids)
    return Status(200, {"run_id": run.pk, "slots": run.slots, "applications": run.applications,
                        "allocated": run.allocated})


class PermitIn(Schema):
    person_id: int
    licence_class: str
    accepted_at: dt.datetime
    number: str | None = None

    model_config = examples({"person_id": 1, "licence_class": "C1", "accepted_at": "2026-11-02T10:00:00+08:00"})


@router.post("staff/exam-permits", auth=AUTH, response={201: ExamPermitOut, **ERRORS},
             summary="Issue a learner's permit (valid 3 years from acceptance)")
def staff_permit_issue(request, payload: PermitIn):
    p = services.permit_issue(person_id=payload.person_id, licence_class=payload.licence_class,
                              accepted_at=payload.accepted_at, number=payload.number, actor=_staff(request))
    return Status(201, _permit_out(selectors.permit_view(permit=p)))


@router.get("staff/exam-permits", auth=AUTH, response={200: list[ExamPermitOut], **ERRORS},
            summary="A person's learner's permits with progress")
def staff_permits(request, person_id: int):
    actor = _staff(request)
    permits = list(selectors.permits_for_person(person_id=person_id))
    if permits:
        audit_access(actor=actor, action="exam.permits_view", subject_person_id=person_id,
                     object_type="exams.permit", object_id=person_id)
    return [_permit_out(selectors.permit_view(permit=p)) for p in permits]
