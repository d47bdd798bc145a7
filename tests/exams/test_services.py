"""Driving-test booking on the capacity engine: permits, sessions, applying with rank, allocation, results."""
import datetime as dt

import pytest

from jiaoguan.bookings import selectors as bookings_selectors
from jiaoguan.bookings.models import Application, Booking
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.exams import selectors, services
from jiaoguan.exams.models import Permit, Result, Session
from tests.exams.conftest import APPROVER, CLERK, TZ, at, candidate, pass_subject, session, sys_actor
from tests.portal.support import citizen_records

pytestmark = pytest.mark.django_db


def apply(user, s, **kw):
    return services.exam_apply(user=user, session_id=s.pk, actor=sys_actor(), **kw)


def allocate_after_close(s):
    clock.freeze(s.slot.closes_at)
    return services.exam_allocate(actor=APPROVER)


# --- sessions ------------------------------------------------------------------------------------------------------

def test_session_window_and_deadline(venues):
    theory, _ = venues
    s = session(theory, "1", days=10)  # Thursday 12 Nov 2026
    assert s.slot.resource.policy == "ranked" and s.slot.resource.kind == "exam"
    assert s.slot.closes_at == dt.datetime(2026, 11, 9, 0, 0, tzinfo=TZ)  # Monday 00:00, 3 working days before
    assert s.slot.cancel_until == dt.datetime(2026, 11, 12, 0, 0, tzinfo=TZ)  # until the end of Wednesday
    assert s.seats == 2 and AuditEntry.objects.filter(action="exam.session_create").count() == 1


def test_session_refusals(venues):
    theory, _ = venues
    with pytest.raises(InvalidInput) as e:
        session(theory, "2")
    assert e.value.code == "exams.venue_subject"
    with pytest.raises(InvalidInput) as e:
        session(theory, "1", days=-1)
    assert e.value.code == "exams.session_past"
    with pytest.raises(InvalidInput) as e:  # Thursday this week: the window would have closed on Monday 00:00
        session(theory, "1", days=3)
    assert e.value.code == "exams.window_passed"
    with pytest.raises(Forbidden):
        services.session_create(venue_id=theory.pk, subject="1", starts_at=at(10), seats=5, actor=CLERK)
    assert Session.objects.count() == 0


def test_venue_refusals(monday):
    with pytest.raises(InvalidInput):
        services.venue_create(code="X", name_zh="x", name_en="x", subjects=[], actor=APPROVER)
    with pytest.raises(InvalidInput):
        services.venue_create(code="X", name_zh="x", name_en="x", subjects=["9"], actor=APPROVER)
    services.venue_create(code="X", name_zh="x", name_en="x", subjects=["1"], actor=APPROVER)
    with pytest.raises(Conflict):
        services.venue_create(code="x", name_zh="y", name_en="y", subjects=["1"], actor=APPROVER)


# --- permits -------------------------------------------------------------------------------------------------------

def test_permit_issue_and_refusals(monday):
    person, _, _ = citizen_records(licence=False, vehicle=False)
    accepted = clock.now() - dt.timedelta(days=3)
    p = services.permit_issue(person_id=person.pk, licence_class="c1", accepted_at=accepted, actor=CLERK)
    assert p.licence_class == "C1" and p.valid_until == dt.date(2029, 10, 29) and p.number.startswith("ZK20261030")
    with pytest.raises(Conflict):
        services.permit_issue(person_id=person.pk, licence_class="C1", accepted_at=accepted, actor=CLERK)
    with pytest.raises(InvalidInput) as e:
        services.permit_issue(person_id=person.pk, licence_class="Z9", accepted_at=accepted, actor=CLERK)
    assert e.value.fields.keys() == {"licence_class"}
    with pytest.raises(InvalidInput):
        services.permit_issue(person_id=person.pk, licence_class="C1 E", accepted_at=accepted, actor=CLERK)
    with pytest.raises(InvalidInput):
        services.permit_issue(person_id=person.pk, licence_class="E", accepted_at=clock.now() + dt.timedelta(days=1),
                              actor=CLERK)
    with pytest.raises(InvalidInput) as e:
        services.permit_issue(person_id=person.pk, licence_class="E", accepted_at=clock.now() - dt.timedelta(days=1200),
                              actor=CLERK)
    assert e.value.code == "exams.accepted_expired"
    with pytest.raises(Forbidden):
        services.permit_issue(person_id=person.pk, licence_class="E", accepted_at=accepted,
                              actor=sys_actor().__class__(id=1, label="x", role="citizen"))
    with pytest.raises(NotFound):
        services.permit_issue(person_id=999999, licence_class="E", accepted_at=accepted, actor=CLERK)
    assert Permit.objects.count() == 1


# --- applying and ranking ------------------------------------------------------------------------------------------

def test_first_subject_one_ranks_by_acceptance(venues):
    theory, _ = venues
    s = session(theory, "1", days=10, seats=1)
    late_user, late = candidate(accepted_days_ago=10, name="李晚")
    early_user, early = candidate(accepted_days_ago=40, name="张早")
    a_late = apply(late_user, s)
    assert a_late.sort_time == late.accepted_at
    assert bookings_selectors.application_rank(application=a_late) == 1
    a_early = apply(early_user, s)
    assert a_early.sort_time == early.accepted_at
    # the earlier acceptance goes ahead, live
    assert bookings_selectors.application_rank(application=a_early) == 1
    assert bookings_selectors.application_rank(application=a_late) == 2
    rows = selectors.my_exam_applications(user=late_user)
    assert rows[0].rank == 2 and rows[0].seats == 1 and not rows[0].within_seats and rows[0].can_withdraw

    run = allocate_after_close(s)
    assert run.allocated == 1
    a_early.refresh_from_db()
    a_late.refresh_from_db()
    assert a_early.status == "allocated" and a_late.status == "unsuccessful" and a_late.rank == 2
    booking = Booking.objects.get(application=a_early)
    assert booking.status == "confirmed" and booking.subject == f"permit:{early.pk}:1"
    row = selectors.my_exam_applications(user=early_user)[0]
    assert row.booking == booking and row.can_cancel


def test_apply_refusals_write_nothing(venues):
    theory, field = venues
    user, permit = candidate()
    other_user, other_permit = candidate(name="赵别人")
    s1 = session(theory, "1", days=10)
    s2 = session(field, "2", days=10)
    before = Application.objects.count()

    with pytest.raises(NotFound):  # someone else's permit: the same 404 as a missing one
        apply(user, s1, permit_id=other_permit.pk)
    with pytest.raises(NotFound):
        apply(user, s1, permit_id=999999)
    with pytest.raises(NotFound):
        services.exam_apply(user=user, session_id=999999, actor=sys_actor())
    with pytest.raises(Conflict) as e:  # wrong subject: 科目二 before 科目一
        apply(user, s2)
    assert e.value.code == "exams.subject_not_eligible"
    clock.freeze(s1.slot.closes_at)  # closed window
    with pytest.raises(Conflict) as e:
        apply(user, s1)
    assert e.value.code == "exams.window_closed"
    clock.freeze(s1.slot.starts_at + dt.timedelta(minutes=1))  # a session in the past
    with pytest.raises(InvalidInput) as e:
        apply(user, s1)
    assert e.value.code == "exams.session_past" and e.value.status == 422
    assert Application.objects.count() == before


def test_no_permit_and_duplicate(venues):
    theory, _ = venues
    person, _, _ = citizen_records(licence=False, vehicle=False)
    from tests.portal.support import register

    nobody = register(person)
    s = session(theory, "1", days=10)
    s_later = session(theory, "1", days=17)
    with pytest.raises(Conflict) as e:
        apply(nobody, s)
    assert e.value.code == "exams.no_permit"
    user, _ = candidate()
    apply(user, s)
    with pytest.raises(Conflict) as e:
        apply(user, s_later)
    assert e.value.code == "exams.already_applied"


def test_withdraw_until_close(venues):
    theory, _ = venues
    user, _ = candidate()
    other, _ = candidate(name="孙其他")
    s = session(theory, "1", days=10)
    a = apply(user, s)
    with pytest.raises(NotFound):
        services.exam_withdraw(user=other, application_id=a.pk, actor=sys_actor())
    services.exam_withdraw(user=user, application_id=a.pk, actor=sys_actor())
    a = apply(user, s)  # may apply again after withdrawing
    clock.freeze(s.slot.closes_at)
    with pytest.raises(Conflict):
        services.exam_withdraw(user=user, application_id=a.pk, actor=sys_actor())


def test_pass_advances_progress_and_sort_time_follows_last_exam(venues):
    theory, field = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    apply(user, s)
    allocate_after_close(s)
    booking = Booking.objects.get(subject=f"permit:{permit.pk}:1")
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    with pytest.raises(Forbidden):
        services.result_record(session_id=s.pk, booking_id=booking.pk, outcome="pass",
                               actor=sys_actor().__class__(id=1, label="c", role="citizen"))
    r = services.result_record(session_id=s.pk, booking_id=booking.pk, outcome="pass", actor=CLERK)
    booking.refresh_from_db()
    assert r.outcome == "pass" and booking.status == "attended"
    with pytest.raises(Conflict):
        services.result_record(session_id=s.pk, booking_id=booking.pk, outcome="fail", actor=CLERK)
    view = selectors.permit_view(permit=permit)
    assert view.next_subjects == ["2", "3"] and view.sort_time == s.starts_at
    s2 = session(field, "2", days=17)
    a2 = apply(user, s2)
    assert a2.sort_time == s.starts_at  # (2) the last exam date
    with pytest.raises(Conflict) as e:  # 科目一 is passed
        apply(user, session(theory, "1", days=17))
    assert e.value.code in ("exams.subject_passed", "exams.already_applied")


def test_result_before_the_exam_is_refused(venues):
    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    apply(user, s)
    allocate_after_close(s)
    booking = Booking.objects.get(subject=f"permit:{permit.pk}:1")
    with pytest.raises(Conflict):
        services.result_record(session_id=s.pk, booking_id=booking.pk, outcome="pass", actor=CLERK)
    assert not Result.objects.exists()


def test_cancel_sets_the_sort_time_and_deadline(venues):
    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    apply(user, s)
    allocate_after_close(s)
    booking = Booking.objects.get(subject=f"permit:{permit.pk}:1")
    clock.freeze(s.slot.cancel_until)  # 00:00 on the exam day: too late
    with pytest.raises(Conflict):
        services.exam_cancel(user=user, booking_id=booking.pk, actor=sys_actor())
    cancel_at = s.slot.cancel_until - dt.timedelta(minutes=1)  # 23:59 the day before: still allowed
    clock.freeze(cancel_at)
    services.exam_cancel(user=user, booking_id=booking.pk, actor=sys_actor())
    assert selectors.sort_time_for(permit=permit) == cancel_at  # (3) the cancellation
    s_next = session(theory, "1", days=24)
    assert apply(user, s_next).sort_time == cancel_at


def test_no_show_counts_as_a_fail_through_the_outbox(venues, django_capture_on_commit_callbacks):
    from jiaoguan.bookings import services as bookings

    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    apply(user, s)
    allocate_after_close(s)
    booking = Booking.objects.get(subject=f"permit:{permit.pk}:1")
    clock.freeze(s.starts_at + dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        bookings.booking_mark(booking_id=booking.pk, attended=False, actor=CLERK)
    r = Result.objects.get(booking_id=booking.pk)
    assert r.outcome == "no_show" and r.failed and r.subject == "1"
    # the handler is idempotent
    assert services.no_show_record(slot_id=s.slot_id, booking_id=booking.pk) == r
    assert selectors.sort_time_for(permit=permit) == s.starts_at
    # and a no-show recorded by staff on the results page works the same
    user2, permit2 = candidate(name="周缺考")
    s2 = session(theory, "1", days=24)
    apply(user2, s2)
    allocate_after_close(s2)
    b2 = Booking.objects.get(subject=f"permit:{permit2.pk}:1")
    clock.freeze(s2.starts_at + dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.result_record(session_id=s2.pk, booking_id=b2.pk, outcome="no_show", actor=CLERK)
    assert Result.objects.filter(booking_id=b2.pk).count() == 1


def test_attended_without_result_blocks_the_next_booking(venues):
    from jiaoguan.bookings import services as bookings

    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    apply(user, s)
    allocate_after_close(s)
    booking = Booking.objects.get(subject=f"permit:{permit.pk}:1")
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    s_next = session(theory, "1", days=24)
    bookings.booking_mark(booking_id=booking.pk, attended=True, actor=CLERK)
    with pytest.raises(Conflict) as e:
        apply(user, s_next)
    assert e.value.code == "exams.result_pending"
    services.result_record(session_id=s.pk, booking_id=booking.pk, outcome="fail", actor=CLERK)
    assert apply(user, s_next).status == "pending"  # a retake after a fail


def test_sixth_booking_of_subject_two_is_refused(venues):
    theory, field = venues
    user, permit = candidate(accepted_days_ago=100)
    pass_subject(permit, "1", when=clock.now() - dt.timedelta(days=20))
    sessions = [session(field, "2", days=10 + 7 * i) for i in range(6)]
    for s in sessions[:5]:  # a week apart: after each exam the next week's window is still open
        assert clock.now() < s.slot.closes_at
        apply(user, s)
        allocate_after_close(s)
        b = Booking.objects.get(subject=f"permit:{permit.pk}:2", status="confirmed")
        clock.freeze(s.starts_at + dt.timedelta(hours=1))
        services.result_record(session_id=s.pk, booking_id=b.pk, outcome="fail", actor=CLERK)
    assert selectors.bookings_used(permit=permit, subject="2") == 5
    view = selectors.permit_view(permit=permit)
    assert {r["subject"]: r["bookings_left"] for r in view.progress}["2"] == 0 and view.next_subjects == ["3"]
    before = Application.objects.count()
    with pytest.raises(Conflict) as e:
        apply(user, sessions[5])
    assert e.value.code == "exams.booking_limit" and e.value.status == 409
    assert Application.objects.count() == before
    # 科目三 still has its own five
    s3 = session(field, "3", days=50)
    assert apply(user, s3).status == "pending"


def test_all_four_passed_completes_the_permit(venues):
    theory, _ = venues
    user, permit = candidate()
    for subj in ("1", "2", "3"):
        pass_subject(permit, subj)
    s = session(theory, "4", days=10)
    apply(user, s)
    allocate_after_close(s)
    b = Booking.objects.get(subject=f"permit:{permit.pk}:4")
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    services.result_record(session_id=s.pk, booking_id=b.pk, outcome="pass", actor=CLERK)
    permit.refresh_from_db()
    assert permit.status == "completed" and selectors.permit_view(permit=permit).next_subjects == []
    # a learner with no licence gets a first licence: 6 years, every class in probation for 12 months
    from jiaoguan.registry import rules as registry_rules
    from jiaoguan.registry.models import DrivingLicence

    licence = DrivingLicence.objects.get(person=permit.person)
    assert (licence.classes, licence.first_issue_date, licence.validity) == ("C1", clock.today(), "6y")
    assert licence.probation_classes == "C1"
    assert licence.probation_until == registry_rules.probation_end(clock.today())


def test_passing_every_subject_adds_the_class_to_a_licence(venues):
    """增驾: the class goes on the holder's licence, in probation alone; a cancelled licence takes no class, and
    the result is recorded all the same (the refusal is audited for staff)."""
    from jiaoguan.core.models import AuditEntry
    from jiaoguan.registry.models import DrivingLicence
    from tests.factories import make_licence

    theory, _ = venues
    users = []
    for status in ("valid", "cancelled"):
        user, permit = candidate(licence_class="B2", name=f"王{status}")
        make_licence(person=permit.person, classes="C1", status=status, valid_until=None,
                     first_issue=clock.today() - dt.timedelta(days=3000))
        for subj in ("1", "2", "3"):
            pass_subject(permit, subj)
        users.append((user, permit))
    s = session(theory, "4", days=10)
    for user, _permit in users:
        apply(user, s)
    allocate_after_close(s)
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    for _user, permit in users:
        b = Booking.objects.get(subject=f"permit:{permit.pk}:4")
        services.result_record(session_id=s.pk, booking_id=b.pk, outcome="pass", actor=CLERK)
    (_, added), (_, refused) = users
    licence = DrivingLicence.objects.get(person=added.person)
    assert licence.classes == "B2 C1" and licence.probation_classes == "B2"
    assert licence.class_since == {"B2": clock.today().isoformat()}
    kept = DrivingLicence.objects.get(person=refused.person)
    refused.refresh_from_db()
    assert kept.classes == "C1" and refused.status == "completed"
    assert AuditEntry.objects.filter(action="exam.licence_not_granted", object_id=str(refused.pk)).exists()


def test_exam_after_permit_validity_is_refused(venues):
    theory, _ = venues
    # accepted 3 years ago less 5 days: still valid today, but not on the exam date 10 days from now
    user, permit = candidate(accepted_days_ago=365 * 3 - 5)
    s = session(theory, "1", days=10)
    with pytest.raises(Conflict) as e:
        apply(user, s)
    assert e.value.code == "exams.after_validity"


def test_open_sessions_list_seats_and_pending(venues):
    theory, field = venues
    user, _ = candidate()
    s = session(theory, "1", days=10, seats=3)
    session(field, "2", days=10)
    apply(user, s)
    rows = selectors.open_sessions(subjects=["1"])
    assert [(r.session.pk, r.seats, r.pending) for r in rows] == [(s.pk, 3, 1)]
    assert selectors.open_sessions(venue_code="lg")[0].session.subject == "2"
    clock.freeze(s.slot.closes_at)
    assert selectors.open_sessions(subjects=["1"]) == []


def test_expired_permit_is_refused(venues):
    theory, _ = venues
    user, permit = candidate(accepted_days_ago=365 * 3 - 2)
    assert permit.valid_until >= clock.today()
    s = session(theory, "1", days=10)
    clock.freeze(permit.valid_until + dt.timedelta(days=1))
    assert clock.now() < s.slot.closes_at  # the window is still open: the permit is what refuses
    with pytest.raises(Conflict) as e:
        apply(user, s)
    assert e.value.code == "exams.permit_expired"
    view = selectors.permit_view(permit=permit)
    assert view.expired and not view.valid and view.next_subjects == [] and view.status_label.startswith("已过期")


def test_handler_ignores_other_kinds_and_statuses(venues):
    from jiaoguan.exams.handlers import on_booking_changed

    on_booking_changed({"kind": "counter", "status": "no_show", "subject": "vehicle:1", "slot_id": 1, "booking_id": 1})
    on_booking_changed({"kind": "exam", "status": "cancelled", "subject": "permit:1:1", "slot_id": 1, "booking_id": 1})
    on_booking_changed({"kind": "exam", "status": "no_show", "subject": "odd", "slot_id": 1, "booking_id": 1})
    # malformed payloads are dropped, not retried for ever (review fix: these raised KeyError/ValueError)
    on_booking_changed({"kind": "exam", "status": "no_show", "subject": "permit:1:1"})
    on_booking_changed({"kind": "exam", "status": "no_show", "subject": "permit:1:1", "slot_id": "x",
                        "booking_id": 10**30})
    on_booking_changed(None)
    assert not Result.objects.exists()
