"""Reads of driving-test booking. Seats, applications and ranks are read through ``bookings.selectors``.

Every exam application and booking in the engine is named ``subject = "permit:<permit id>:<subject>"``
(``booking_subject``), so a permit's history is found by that name.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from jiaoguan.bookings import selectors as bookings
from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.core.i18n import Bi, bi
from jiaoguan.exams import rules
from jiaoguan.exams.models import Permit, Result, Session, Venue

KIND = "exam"

# The choices the pages show and offer (this app's models' reference data, read through here)
ResultOutcome = Result.Outcome


def booking_subject(permit_id: int, subject: str) -> str:
    return f"permit:{permit_id}:{subject}"


def parse_booking_subject(value: str) -> tuple[int, str] | None:
    parts = str(value or "").split(":")
    if len(parts) != 3 or parts[0] != "permit" or not parts[1].isdigit() or parts[2] not in rules.SUBJECTS:
        return None
    return int(parts[1]), parts[2]


# --- Permits and progress -----------------------------------------------------------------------------------------

def permits_for_person(*, person_id: int) -> QuerySet[Permit]:
    return Permit.objects.filter(person_id=person_id).order_by("-accepted_at", "-id")


def active_permit(*, person_id: int, licence_class: str) -> Permit | None:
    """The person's running permit for the class (active and within its 3 years), or None."""
    return Permit.objects.filter(person_id=person_id, licence_class=licence_class, status=Permit.Status.ACTIVE,
                                 valid_until__gte=clock.today()).first()


def my_permits(*, user) -> list[Permit]:
    person_id = getattr(user, "person_id", None)
    return list(permits_for_person(person_id=person_id)) if person_id else []


def my_permit(*, user, permit_id: int) -> Permit:
    person_id = getattr(user, "person_id", None)
    permit = Permit.objects.filter(pk=permit_id, person_id=person_id).first() if person_id else None
    if permit is None:
        raise not_found("学习驾驶证明", "learner's permit")
    return permit


def passed_subjects(*, permit: Permit) -> dict[str, dt.datetime]:
    """subject -> when it was passed."""
    return dict(Result.objects.filter(permit=permit, outcome=Result.Outcome.PASS).values_list("subject", "exam_at"))


def seats_ever(*, permit: Permit, subject: str) -> int:
    """Every seat the allocation ever gave this permit for the subject (whatever happened to it)."""
    return bookings.bookings_for_subject(subject=booking_subject(permit.pk, subject)).count()


def bookings_used(*, permit: Permit, subject: str) -> int:
    """Seats that count towards the 5-booking limit (rules.counts_as_booking)."""
    rows = bookings.bookings_for_subject(subject=booking_subject(permit.pk, subject)).values_list(
        "status", "cancelled_by")
    return sum(1 for status, by in rows if rules.counts_as_booking(status=status, cancelled_by=by))


def last_exam_at(*, permit: Permit) -> dt.datetime | None:
    return (Result.objects.filter(permit=permit).order_by("-exam_at").values_list("exam_at", flat=True).first())


def last_cancel_or_no_show_at(*, permit: Permit) -> dt.datetime | None:
    found = [bookings.last_cancel_or_no_show(subject=booking_subject(permit.pk, s)) for s in rules.SUBJECTS]
    times = [t for t in found if t is not None]
    return max(times) if times else None


def sort_time_for(*, permit: Permit) -> dt.datetime:
    """DOMAIN §6's sort time for the permit's next application (rules.sort_time)."""
    return rules.sort_time(accepted_at=permit.accepted_at, last_exam_at=last_exam_at(permit=permit),
                           last_cancel_or_no_show_at=last_cancel_or_no_show_at(permit=permit))


@dataclass(frozen=True)
class PermitView:
    permit: Permit
    progress: list[dict]
    next_subjects: list[str]
    valid: bool  # active and within its validity today
    expired: bool
    sort_time: dt.datetime
    results: list[Result] = field(default_factory=list)

    @property
    def status_label(self) -> Bi | str:  # a Choices label: a Bi at run time, str to the type stubs
        if self.expired and self.permit.status == Permit.Status.ACTIVE:
            return bi("已过期", "Expired")
        return Permit.Status(self.permit.status).label


def permit_view(*, permit: Permit) -> PermitView:
    passed = passed_subjects(permit=permit)
    used = {s: bookings_used(permit=permit, subject=s) for s in rules.LIMITED_SUBJECTS}
    today = clock.today()
    expired = today > permit.valid_until
    active = permit.status == Permit.Status.ACTIVE and not expired
    nxt = rules.eligible_subjects(passed) if active else []
    nxt = [s for s in nxt if rules.booking_allowed(s, used.get(s, 0))]
    return PermitView(permit=permit, progress=rules.progress(passed, used), next_subjects=nxt, valid=active,
                      expired=expired, sort_time=sort_time_for(permit=permit),
                      results=list(Result.objects.filter(permit=permit).select_related("session__venue")))


# --- Venues and sessions --------------------------------------------------------------------------------------------

def venues(*, active_only: bool = False) -> QuerySet[Venue]:
    qs = Venue.objects.all()
    return qs.filter(active=True) if active_only else qs


def session_get(*, session_id: int) -> Session:
    s = Session.objects.select_related("venue", "slot").filter(pk=session_id).first()
    if s is None:
        raise not_found("考试场次", "exam session")
    return s


@dataclass(frozen=True)
class SessionRow:
    session: Session
    seats: int
    taken: int
    pending: int

    @property
    def subject_label(self) -> Bi:
        return rules.SUBJECT_INFO[self.session.subject].label

    @property
    def slot(self):
        return self.session.slot

    @property
    def open(self) -> bool:
        return bookings.slot_bookable(slot=self.session.slot)


def session_row(session: Session) -> SessionRow:
    quotas = bookings.slot_availability(slot=session.slot)
    return SessionRow(session=session, seats=sum(q.capacity for q in quotas), taken=sum(q.taken for q in quotas),
                      pending=sum(q.pending for q in quotas))


def open_sessions(*, subjects: list[str] | None = None, venue_code: str | None = None,
                  limit: int = 50) -> list[SessionRow]:
    """Sessions whose booking window is open now, soonest first, with seats and how many have applied."""
    now = clock.now()
    qs = (Session.objects.select_related("venue", "slot").filter(bookings.bookable(now=now, via="slot__"),
                                                                 venue__active=True))
    if subjects is not None:
        qs = qs.filter(subject__in=subjects)
    if venue_code:
        qs = qs.filter(venue__code=venue_code.strip().upper())
    return [session_row(s) for s in qs.order_by("starts_at", "id")[:limit]]


def sessions_for_staff(*, start: dt.datetime | None = None, limit: int = 100) -> list[SessionRow]:
    start = start or (clock.now() - dt.timedelta(days=7))
    qs = Session.objects.select_related("venue", "slot").filter(starts_at__gte=start).order_by("starts_at", "id")
    return [session_row(s) for s in qs[:limit]]


# --- Applications and bookings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplicationRow:
    application: bookings.Application  # the model as bookings.selectors returns it
    session: Session | None
    rank: int | None
    seats: int
    booking: bookings.Booking | None  # once allocated
    result: Result | None

    @property
    def subject(self) -> str:
        parsed = parse_booking_subject(self.application.subject)
        return parsed[1] if parsed else ""

    @property
    def subject_label(self) -> Bi | str:
        return rules.SUBJECT_INFO[self.subject].label if self.subject else ""

    @property
    def within_seats(self) -> bool:
        return self.rank is not None and self.rank <= self.seats

    @property
    def can_withdraw(self) -> bool:
        return bookings.citizen_withdraw_block(application=self.application) is None  # as application_withdraw

    @property
    def cancel_deadline(self) -> dt.datetime | None:
        """The last minute to cancel, for display: 23:59 on the day before the exam (cancel_until is 00:00 of
        the exam day, exclusive)."""
        return self.booking.slot.cancel_until - dt.timedelta(minutes=1) if self.booking is not None else None

    @property
    def can_cancel(self) -> bool:
        b = self.booking  # the engine's citizen_cancel_block, as booking_cancel enforces it
        return b is not None and bookings.citizen_give_up_block(booking=b) is None and b.status == "confirmed"


def my_exam_applications(*, user, limit: int = 50) -> list[ApplicationRow]:
    apps = list(bookings.my_applications(user=user, kind=KIND)[:limit])
    sessions = {s.slot_id: s for s in Session.objects.select_related("venue", "slot").filter(
        slot_id__in={a.slot_id for a in apps})}
    booked = {b.application_id: b for b in bookings.my_bookings(user=user, kind=KIND) if b.application_id}
    results = {r.booking_id: r for r in Result.objects.filter(booking_id__in=[b.pk for b in booked.values()])}
    rows = []
    for a in apps:
        s = sessions.get(a.slot_id)
        b = booked.get(a.pk)
        rows.append(ApplicationRow(application=a, session=s, rank=bookings.application_rank(application=a),
                                   seats=a.quota.capacity, booking=b, result=results.get(b.pk) if b else None))
    return rows


def _is_exam(obj: bookings.Booking | bookings.Application) -> bool:
    return obj.slot.resource.kind == KIND and parse_booking_subject(obj.subject) is not None


def my_exam_application(*, user, application_id: int) -> bookings.Application:
    a = bookings.my_application(user=user, application_id=application_id)
    if not _is_exam(a):
        raise not_found("预约申请", "application")
    return a


def my_exam_booking(*, user, booking_id: int) -> bookings.Booking:
    b = bookings.my_booking(user=user, booking_id=booking_id)
    if not _is_exam(b):
        raise not_found("预约", "booking")
    return b


@dataclass(frozen=True)
class ExamBooking:
    booking: bookings.Booking
    session: Session
    permit_id: int
    subject: str


def exam_booking(*, session: Session, booking_id: int) -> ExamBooking:
    b = bookings.slot_bookings(slot=session.slot).select_related("slot__resource").filter(pk=booking_id).first()
    parsed = parse_booking_subject(b.subject) if b is not None else None
    if b is None or parsed is None:
        raise not_found("预约", "booking")
    return ExamBooking(booking=b, session=session, permit_id=parsed[0], subject=parsed[1])


@dataclass(frozen=True)
class CandidateRow:
    booking: bookings.Booking
    permit: Permit | None
    result: Result | None


def session_candidates(*, session: Session) -> list[CandidateRow]:
    """The allocated seats of a session with each candidate's permit and result (staff results entry)."""
    rows = list(bookings.slot_bookings(slot=session.slot).exclude(status__in=("released", "expired")))
    permit_ids = {p[0] for p in (parse_booking_subject(b.subject) for b in rows) if p}
    permits = Permit.objects.select_related("person").in_bulk(permit_ids)
    results = {r.booking_id: r for r in Result.objects.filter(booking_id__in=[b.pk for b in rows])}
    out = []
    for b in rows:
        parsed = parse_booking_subject(b.subject)
        out.append(CandidateRow(booking=b, permit=permits.get(parsed[0]) if parsed else None, result=results.get(b.pk)))
    return out


def session_applications(*, session: Session):
    return bookings.slot_applications(slot=session.slot)


def local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)
