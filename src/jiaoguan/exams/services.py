"""Writes of driving-test booking, on the capacity engine (``bookings.services``).

Staff: ``venue_create`` (one ranked bookings resource per subject held), ``session_create`` (one slot, with the
window closing 3 working days before and cancellation until the day before: ``rules``), ``permit_issue``,
``result_record`` (pass / fail / no-show of an allocated seat), ``exam_allocate`` (run the ranked allocation
now; the engine's periodic job does it too).

Citizens: ``exam_apply`` (a ranked application with DOMAIN §6's sort time), ``exam_withdraw`` (until the window
closes), ``exam_cancel`` (an allocated seat, until the day before).

Concurrency: ``exam_apply`` and ``result_record`` lock the permit row first (then the engine locks the slot's
quota), so two requests for one permit are checked one after the other: the 5-booking limit and "one live
application or seat per subject" hold under races. The engine's partial unique index on ``exclusive_key`` is
the second wall.

The exclusive key is ``exam:<permit>:<subject>:<round>`` where ``round`` is how many seats this permit has
been allocated for the subject so far. Why not just ``exam:<permit>:<subject>``: the engine counts an
``attended`` booking as live for ever (``bookings.models.LIVE_BOOKING`` holds the key), so a candidate who sat
the exam and failed could never book the subject again. The round changes exactly when a seat is allocated, and
the permit lock plus ``_check_nothing_live`` keep "one live application or seat per subject" ourselves.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.bookings import selectors as bookings_selectors
from jiaoguan.bookings import services as bookings
from jiaoguan.core import clock, workdays
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, InvalidInput, not_found
from jiaoguan.exams import rules, selectors
from jiaoguan.exams.models import Permit, Result, Session, Venue, VenueSubject
from jiaoguan.identity.roles import require
from jiaoguan.registry import selectors as registry
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.services import check_licence_ages, validate_classes

KIND = "exam"


def _subject_name(subject: str) -> tuple[str, str]:
    info = rules.SUBJECT_INFO[subject]
    return info.short_zh, info.short_en


def _check_subject(subject: str, *, field: str = "subject") -> str:
    subject = str(subject or "").strip()
    if subject not in rules.SUBJECTS:
        raise InvalidInput("exams.subject_invalid", "考试科目不正确，应为 1、2、3 或 4",
                           "Unknown subject: use 1, 2, 3 or 4", field=field)
    return subject


# --- Venues and sessions -----------------------------------------------------------------------------------------

def venue_create(*, code: str, name_zh: str, name_en: str, subjects: list[str], actor: Actor,
                 address: str = "") -> Venue:
    """A venue and, for each subject it holds, a ranked bookings resource ``exam:<code>:<subject>``."""
    require(actor, "booking.manage")
    code = (code or "").strip().upper()
    if not code or len(code) > 30 or not code.replace("-", "").isalnum() or not code.isascii():
        raise InvalidInput("exams.venue_code", "考场编码须为1–30位字母、数字或连字符",
                           "A venue code has 1–30 letters, digits or hyphens", field="code")
    if not (name_zh or "").strip() or not (name_en or "").strip():
        raise InvalidInput("exams.venue_name", "请填写考场的中文和英文名称", "Give the venue's Chinese and English name",
                           field="name_zh")
    chosen = sorted({_check_subject(s, field="subjects") for s in (subjects or [])})
    if not chosen:
        raise InvalidInput("exams.venue_subjects", "请至少选择一个考试科目", "Choose at least one subject",
                           field="subjects")
    now = clock.now()
    with transaction.atomic():
        if Venue.objects.filter(code=code).exists():
            raise Conflict("exams.venue_code_taken", f"考场编码“{code}”已存在", f"The venue code “{code}” is used",
                           field="code")
        venue = Venue.objects.create(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                                     address=(address or "").strip()[:200], subjects=chosen, created_at=now)
        for s in chosen:
            zh, en = _subject_name(s)
            resource = bookings.resource_create(
                kind=KIND, code=f"exam:{code}:{s}", name_zh=f"{venue.name_zh} {zh}",
                name_en=f"{venue.name_en} {en}", policy="ranked", actor=actor)
            VenueSubject.objects.create(venue=venue, subject=s, resource=resource)
        audit_record(actor=actor, action="exam.venue_create", obj=venue,
                     new={"code": code, "name_zh": venue.name_zh, "subjects": chosen})
    return venue


def session_times(*, starts_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(closes_at, cancel_until) of a session starting at ``starts_at`` (rules.booking_closes_at, cancel_until)."""
    tz = clock.zone()
    exam_date = clock.localdate(starts_at)
    return (rules.booking_closes_at(exam_date=exam_date, tz=tz, add_workdays=workdays.add_workdays),
            rules.cancel_until(exam_date=exam_date, tz=tz))


def session_create(*, venue_id: int, subject: str, starts_at: dt.datetime, seats: int, actor: Actor,
                   duration_minutes: int = 120, opens_at: dt.datetime | None = None) -> Session:
    """An exam session: a slot of the venue's resource for the subject, window and deadline by the rules."""
    require(actor, "booking.manage")
    subject = _check_subject(subject)
    venue = Venue.objects.filter(pk=venue_id).first()
    if venue is None:
        raise not_found("考场", "venue")
    if not venue.active:
        raise Conflict("exams.venue_inactive", "该考场已停用", "This venue is closed", field="venue")
    vs = VenueSubject.objects.select_related("resource").filter(venue=venue, subject=subject).first()
    if vs is None:
        zh, en = _subject_name(subject)
        raise InvalidInput("exams.venue_subject", f"该考场不承担{zh}考试", f"This venue does not hold {en}",
                           field="subject")
    if not isinstance(seats, int) or not 1 <= seats <= 10_000:
        raise InvalidInput("exams.seats", "名额须为1–10000", "Seats must be 1–10,000", field="seats")
    if not 10 <= duration_minutes <= 12 * 60:
        raise InvalidInput("exams.duration", "时长须为10–720分钟", "The duration must be 10–720 minutes",
                           field="duration_minutes")
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    now = clock.now()
    if starts_at <= now:
        raise InvalidInput("exams.session_past", "考试时间须晚于现在", "The exam must be in the future",
                           field="starts_at")
    closes_at, cancel_until = session_times(starts_at=starts_at)
    opens_at = opens_at or now
    if closes_at <= max(now, opens_at):
        raise InvalidInput(
            "exams.window_passed",
            f"预约须在考试前{rules.CLOSE_WORKDAYS_BEFORE}个工作日截止（{timezone.localtime(closes_at):%Y-%m-%d %H:%M}），该时间已过，请选择更晚的考试时间",
            f"Booking closes {rules.CLOSE_WORKDAYS_BEFORE} working days before the exam ({timezone.localtime(closes_at):%Y-%m-%d %H:%M}), "
            "which has passed: choose a later exam time", field="starts_at")
    with transaction.atomic():
        slot = bookings.slot_create(
            resource=vs.resource, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=duration_minutes),
            quotas=[bookings.QuotaSpec("public", seats)], actor=actor, opens_at=opens_at, closes_at=closes_at,
            cancel_until=cancel_until)
        session = Session.objects.create(venue=venue, subject=subject, slot=slot, starts_at=starts_at, seats=seats,
                                         created_at=now)
        audit_record(actor=actor, action="exam.session_create", obj=session, new={
            "venue": venue.code, "subject": subject, "starts_at": starts_at, "seats": seats,
            "closes_at": closes_at, "cancel_until": cancel_until, "slot": slot.pk})
    return session


def exam_allocate(*, actor: Actor, session_ids: list[int] | None = None):
    """Run the ranked allocation now for exam sessions whose window has closed (all of them, or those given)."""
    require(actor, "booking.manage")
    qs = Session.objects.filter(slot__closes_at__lte=clock.now())
    if session_ids is not None:
        qs = qs.filter(pk__in=[i for i in session_ids if isinstance(i, int) and 0 < i < 2**63])
    slot_ids = list(qs.values_list("slot_id", flat=True))
    bookings.slots_close()
    return bookings.applications_allocate(actor=actor, slot_ids=slot_ids)


# --- Permits -----------------------------------------------------------------------------------------------------

def _new_number(accepted_at: dt.datetime) -> str:
    day = timezone.localtime(accepted_at).strftime("%Y%m%d")
    return f"ZK{day}{secrets.randbelow(10 ** 6):06d}"


def permit_issue(*, person_id: int, licence_class: str, accepted_at: dt.datetime, actor: Actor,
                 number: str | None = None) -> Permit:
    """Issue a learner's permit (学习驾驶证明) for one class, valid 3 years from ``accepted_at``."""
    require(actor, "exam.permit_issue")
    person = registry.person_get(person_id=person_id)
    codes = validate_classes(licence_class, field="licence_class")
    if len(codes) != 1:
        raise InvalidInput("exams.one_class", "一份学习驾驶证明只能申请一个准驾车型",
                           "A permit is for exactly one licence class", field="licence_class")
    code = codes[0]
    if timezone.is_naive(accepted_at):
        accepted_at = timezone.make_aware(accepted_at)
    now = clock.now()
    accepted_on = timezone.localdate(accepted_at)
    if accepted_at > now:
        raise InvalidInput("exams.accepted_future", "受理时间不能晚于现在", "The acceptance cannot be in the future",
                           field="accepted_at")
    valid_until = rules.permit_valid_until(accepted_on)
    if valid_until < clock.today():
        raise InvalidInput("exams.accepted_expired", "按该受理时间，学习驾驶证明已超过3年有效期",
                           "Accepted that long ago the permit's 3 years have already run out", field="accepted_at")
    check_licence_ages(birth_date=person.birth_date, classes=[code], on=accepted_on, field="licence_class")
    number = (number or "").strip().upper() or None
    with transaction.atomic():
        if Permit.objects.filter(person=person, licence_class=code, status=Permit.Status.ACTIVE).exists():
            raise Conflict("exams.permit_exists", f"该人员已有一份有效的{code}学习驾驶证明",
                           f"This person already holds an active {code} permit", field="licence_class")
        for _ in range(5):
            try:
                with transaction.atomic():
                    permit = Permit.objects.create(
                        person=person, licence_class=code, number=number or _new_number(accepted_at),
                        accepted_at=accepted_at, valid_until=valid_until, issued_by=actor.label[:150],
                        created_at=now)
                break
            except IntegrityError:
                if number:
                    raise Conflict("exams.permit_number_taken", "该编号已被使用", "This number is already used",
                                   field="number") from None
        else:  # pragma: no cover - 10^6 numbers a day
            raise RuntimeError("could not draw a unique permit number")
        audit_record(actor=actor, action="exam.permit_issue", obj=permit, subject_person_id=person.pk, new={
            "number": permit.number, "licence_class": code, "accepted_at": accepted_at, "valid_until": valid_until})
    return permit


def _lock_permit(permit_id: int) -> Permit:
    permit = Permit.objects.select_for_update().filter(pk=permit_id).first()
    if permit is None:
        raise not_found("学习驾驶证明", "learner's permit")
    return permit


# --- Citizens: apply, withdraw, cancel ------------------------------------------------------------------------------

def _check_nothing_live(*, permit: Permit, subject: str, user) -> None:
    """No pending application, no seat held or confirmed, no attended seat still waiting for its result."""
    subj = selectors.booking_subject(permit.pk, subject)
    zh, en = _subject_name(subject)
    if bookings_selectors.my_applications(user=user, kind=KIND).filter(subject=subj, status="pending").exists():
        raise Conflict("exams.already_applied", f"您已有一个{zh}预约申请在排队中，可先撤回再重新申请",
                       f"You already have a pending {en} application: withdraw it first to apply for another")
    live = bookings_selectors.bookings_for_subject(subject=subj).filter(status__in=("held", "confirmed"))
    if live.exists():
        raise Conflict("exams.already_booked", f"您已预约成功一场{zh}考试，不能重复预约",
                       f"You already have a {en} seat: it cannot be booked twice")
    attended = list(bookings_selectors.bookings_for_subject(subject=subj).filter(status="attended")
                    .values_list("pk", flat=True))
    if attended and len(set(attended) - set(Result.objects.filter(booking_id__in=list(attended))
                                             .values_list("booking_id", flat=True))):
        raise Conflict("exams.result_pending", f"您上一场{zh}考试的成绩尚未登记，登记后才能再次预约",
                       f"The result of your last {en} exam is not recorded yet: book again once it is")


def _pick_permit(*, user, session: Session, permit_id: int | None) -> Permit:
    person_id = getattr(user, "person_id", None)
    if permit_id is not None:
        permit = Permit.objects.filter(pk=permit_id, person_id=person_id).first() if person_id else None
        if permit is None:
            raise not_found("学习驾驶证明", "learner's permit")
        return permit
    permits = list(selectors.permits_for_person(person_id=person_id)) if person_id else []
    active = [p for p in permits if p.status == Permit.Status.ACTIVE]
    for p in active:
        if session.subject in rules.eligible_subjects(selectors.passed_subjects(permit=p)):
            return p
    if active:
        return active[0]  # the checks below say why this one cannot
    raise Conflict("exams.no_permit", "您没有有效的学习驾驶证明，请先到驾校或车管所申请",
                   "You hold no valid learner's permit: apply at a driving school or the vehicle office first")


def exam_apply(*, user, session_id: int, actor: Actor, permit_id: int | None = None):
    """Apply for a seat in an exam session (a ranked application). Checks, under the permit's lock: the permit
    is the user's, active and valid on the exam date; the subject is the candidate's next (rules.eligible_subjects);
    the window is open; the 5-booking limit; nothing live for the subject. Returns the engine's Application."""
    now = clock.now()
    session = Session.objects.select_related("slot", "venue").filter(pk=session_id).first()
    if session is None:
        raise not_found("考试场次", "exam session")
    chosen = _pick_permit(user=user, session=session, permit_id=permit_id)
    subject = session.subject
    zh, en = _subject_name(subject)
    with transaction.atomic():
        permit = _lock_permit(chosen.pk)
        slot = session.slot
        if slot.starts_at <= now:
            raise InvalidInput("exams.session_past", "该场次考试已开始或已过去，不能预约",
                               "This exam session has already started", field="session_id")
        if permit.status in rules.PERMIT.terminal:
            raise Conflict("exams.permit_inactive", "该学习驾驶证明已不在有效状态", "This permit is no longer active")
        if clock.today() > permit.valid_until:
            raise Conflict("exams.permit_expired", f"学习驾驶证明已于{permit.valid_until:%Y-%m-%d}过期",
                           f"The permit expired on {permit.valid_until:%Y-%m-%d}")
        if timezone.localdate(slot.starts_at) > permit.valid_until:
            raise Conflict("exams.after_validity", f"考试日期晚于学习驾驶证明有效期（{permit.valid_until:%Y-%m-%d}）",
                           f"The exam is after the permit's last valid day ({permit.valid_until:%Y-%m-%d})",
                           field="session_id")
        passed = selectors.passed_subjects(permit=permit)
        if subject in passed:
            raise Conflict("exams.subject_passed", f"您的{zh}已考试合格", f"You have already passed {en}",
                           field="session_id")
        if subject not in rules.eligible_subjects(passed):
            need = "、".join(_subject_name(s)[0] for s in sorted(rules.PREREQUISITES[subject] - set(passed)))
            need_en = ", ".join(_subject_name(s)[1] for s in sorted(rules.PREREQUISITES[subject] - set(passed)))
            raise Conflict("exams.subject_not_eligible", f"须先通过{need}才能预约{zh}",
                           f"Pass {need_en} before booking {en}", field="session_id")
        if now < slot.opens_at:
            raise Conflict("exams.window_not_open", f"该场次将于{timezone.localtime(slot.opens_at):%Y-%m-%d %H:%M}开放预约",
                           f"Booking opens at {timezone.localtime(slot.opens_at):%Y-%m-%d %H:%M}")
        if now >= slot.closes_at or slot.status != "open":
            raise Conflict("exams.window_closed", f"该场次预约已截止（考试前{rules.CLOSE_WORKDAYS_BEFORE}个工作日截止）",
                           f"Booking for this session has closed (it closes {rules.CLOSE_WORKDAYS_BEFORE} working days before the exam)")
        used = selectors.bookings_used(permit=permit, subject=subject)
        if not rules.booking_allowed(subject, used):
            raise Conflict("exams.booking_limit",
                           f"学习驾驶证明有效期内{zh}最多预约{rules.MAX_BOOKINGS}次，您已用完",
                           f"{en} can be booked at most {rules.MAX_BOOKINGS} times within the permit's validity; "
                           "you have used them all")
        _check_nothing_live(permit=permit, subject=subject, user=user)
        when = selectors.sort_time_for(permit=permit)
        rounds = selectors.seats_ever(permit=permit, subject=subject)
        application = bookings.application_submit(
            slot_id=slot.pk, user=user, subject=selectors.booking_subject(permit.pk, subject),
            exclusive_key=f"exam:{permit.pk}:{subject}:{rounds}", party=f"person:{permit.person_id}",
            sort_time=when, actor=actor, subject_label=f"{zh} {permit.licence_class} {permit.number}",
            meta={"permit_id": permit.pk, "exam_subject": subject, "session_id": session.pk})
    return application


def exam_withdraw(*, user, application_id: int, actor: Actor):
    """Withdraw a pending exam application (until the window closes)."""
    selectors.my_exam_application(user=user, application_id=application_id)  # 404 unless mine and an exam's
    return bookings.application_withdraw(application_id=application_id, user=user, actor=actor)


def exam_cancel(*, user, booking_id: int, actor: Actor):
    """Cancel an allocated seat (until the end of the day before the exam). The moment of cancelling becomes the
    candidate's sort time for the next booking (DOMAIN §6), and the seat counts towards the 5-booking limit."""
    selectors.my_exam_booking(user=user, booking_id=booking_id)
    return bookings.booking_cancel(booking_id=booking_id, user=user, actor=actor)


# --- Results -------------------------------------------------------------------------------------------------------

OUTCOMES = tuple(Result.Outcome.values)


def _write_result(*, permit: Permit, subject: str, session: Session | None, booking_id: int, outcome: str,
                  exam_at: dt.datetime, actor: Actor) -> Result:
    now = clock.now()
    result = Result.objects.create(permit=permit, subject=subject, session=session, booking_id=booking_id,
                                   outcome=outcome, exam_at=exam_at, recorded_at=now, recorded_by=actor.label[:150])
    audit_record(actor=actor, action="exam.result", obj=result, subject_person_id=permit.person_id, new={
        "permit": permit.number, "subject": subject, "outcome": outcome, "booking": booking_id})
    if (outcome == Result.Outcome.PASS and rules.PERMIT.allows(permit.status, Permit.Status.COMPLETED)
            and rules.is_complete(selectors.passed_subjects(permit=permit))):
        permit.status = Permit.Status.COMPLETED
        permit.save(update_fields=["status"])
        audit_record(actor=actor, action="exam.permit_complete", obj=permit, subject_person_id=permit.person_id,
                     old={"status": Permit.Status.ACTIVE}, new={"status": permit.status})
        _grant_class(permit=permit, recorded_by=actor)
    return result


def _grant_class(*, permit: Permit, recorded_by: Actor) -> None:
    """Every subject passed: the class goes on the licence (a first licence, or 增驾 with its own probation:
    registry.services.licence_class_add). A licence that cannot take it (cancelled or revoked meanwhile) does not
    stop the result being recorded: the refusal is audited for staff to follow up."""
    try:
        with transaction.atomic():
            registry_services.licence_class_add(
                person=permit.person, licence_class=permit.licence_class, on=clock.today(),
                actor=Actor.system("exams.licence_grant"),
                reason=f"学习驾驶证明{permit.number}考试全部合格（{recorded_by.label}登记） all tests passed on "
                       f"permit {permit.number}")
    except DomainError as exc:
        audit_record(actor=recorded_by, action="exam.licence_not_granted", obj=permit,
                     subject_person_id=permit.person_id, reason=f"{exc.code}: {exc.zh}")


def result_record(*, session_id: int, booking_id: int, outcome: str, actor: Actor) -> Result:
    """Staff record the outcome of an allocated seat once the exam has started: pass or fail (the seat is marked
    attended), or no-show (marked no-show; counts as a fail). A pass advances the permit's progress."""
    require(actor, "booking.attendance")
    if outcome not in OUTCOMES:
        raise InvalidInput("exams.outcome", "考试结果应为合格、不合格或缺考", "The outcome must be pass, fail or no_show",
                           field="outcome")
    found = selectors.exam_booking(session=selectors.session_get(session_id=session_id), booking_id=booking_id)
    booking, session, subject = found.booking, found.session, found.subject
    with transaction.atomic():
        permit = _lock_permit(found.permit_id)
        booking.refresh_from_db()
        if Result.objects.filter(booking_id=booking_id).exists():
            raise Conflict("exams.result_exists", "该考试成绩已登记", "The result of this seat is already recorded")
        if outcome == Result.Outcome.PASS and subject in selectors.passed_subjects(permit=permit):
            raise Conflict("exams.subject_passed", "该科目已考试合格", "This subject is already passed")
        if booking.status == "confirmed":
            bookings.booking_mark(booking_id=booking_id, attended=outcome != Result.Outcome.NO_SHOW, actor=actor)
        elif not (booking.status == "attended" and outcome != Result.Outcome.NO_SHOW):
            raise Conflict("exams.not_recordable", "只有预约成功并已开考的场次才能登记成绩",
                           "Results can only be recorded for an allocated seat whose exam has started")
        return _write_result(permit=permit, subject=subject, session=session, booking_id=booking_id,
                             outcome=outcome, exam_at=session.slot.starts_at, actor=actor)


def no_show_record(*, slot_id: int, booking_id: int) -> Result | None:
    """A no-show marked anywhere (e.g. the engine's attendance page) counts as a fail. Idempotent."""
    session = Session.objects.select_related("slot", "venue").filter(slot_id=slot_id).first()
    if session is None:
        return None
    found = selectors.exam_booking(session=session, booking_id=booking_id)
    if found.booking.status != "no_show":
        return None
    with transaction.atomic():
        permit = _lock_permit(found.permit_id)
        existing = Result.objects.filter(booking_id=booking_id).first()
        if existing is not None:
            return existing
        return _write_result(permit=permit, subject=found.subject, session=session, booking_id=booking_id,
                             outcome=Result.Outcome.NO_SHOW, exam_at=session.slot.starts_at,
                             actor=Actor.system("exams.no_show"))
