"""Detentions (扣留机动车 / 扣留驾驶证): recorded by staff, audited, seen only by their holder, returned (放车还证)
only when every violation is handled and paid and a licence is not suspended, revoked or cancelled."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations import rules, selectors, services
from jiaoguan.violations.models import Detention
from tests.factories import make_vehicle
from tests.violations.detention_support import APPROVER, CLERK, citizen_user, detain, handle, handle_and_pay, on_site

pytestmark = pytest.mark.django_db

VIOLATION_STATUSES = ("recorded", "handled", "paid", "waived", "disputed", "revoked")
LICENCE_STATUSES = ("valid", "expired", "suspended", "revoked", "cancelled")


@pytest.fixture(autouse=True)
def _frozen(clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))


# --- the rule, alone ---------------------------------------------------------------------------------------------

violation_facts = st.builds(rules.DetainedViolation, pk=st.integers(1, 10_000),
                            status=st.sampled_from(VIOLATION_STATUSES), fine_fen=st.sampled_from([0, 5000, 20000]))


@pytest.mark.django_db(False)
@given(status=st.sampled_from(("held", "released", "cancelled")), kind=st.sampled_from(("vehicle", "licence")),
       violations=st.lists(violation_facts, min_size=1, max_size=5, unique_by=lambda v: v.pk),
       licence=st.sampled_from((None, *LICENCE_STATUSES)))
def test_returned_exactly_when_held_every_violation_settled_and_the_licence_returnable(status, kind, violations,
                                                                                        licence):
    refusals = rules.release_refusals(status=status, kind=kind, violations=tuple(violations), licence_status=licence)
    settled = all(v.status in ("paid", "waived", "revoked") or (v.status == "handled" and v.fine_fen == 0)
                  for v in violations)
    licence_ok = kind == "vehicle" or licence in ("valid", "expired")
    assert (refusals == []) == (status == "held" and settled and licence_ok)
    for r in refusals:  # Chinese first, English beside it, a stable code
        assert r.code.startswith("violations.detention_") and r.zh and r.en and r.zh != r.en
    if status == "held":  # one reason per violation in the way, each naming it
        blocking = [v for v in violations if not rules.violation_cleared(v)]
        named = [r for r in refusals if r.code in ("violations.detention_unhandled", "violations.detention_unpaid",
                                                   "violations.detention_disputed")]
        assert len(named) == len(blocking)
        assert all(f"{v.pk}" in r.zh for v, r in zip(sorted(blocking, key=lambda v: v.pk), named, strict=True))


@pytest.mark.django_db(False)
def test_the_life_cycle_ends_in_released_or_cancelled():
    assert rules.DETENTION.targets("held") == {"released", "cancelled"}
    assert rules.DETENTION.terminal == {"released", "cancelled"}
    with pytest.raises(Conflict) as exc:
        rules.DETENTION.check("released", "held")
    assert exc.value.code == "violations.detention_status" and "已放车还证" in exc.value.zh


# --- recording -----------------------------------------------------------------------------------------------------

def test_a_clerk_records_a_licence_detention_audited():
    user = citizen_user()
    d = detain(user.person)
    assert d.status == "held" and d.kind == "licence" and d.licence == user.person.licence and d.vehicle is None
    entry = AuditEntry.objects.get(action="detention.record")
    assert entry.object_id == str(d.pk) and entry.subject_person_id == user.person.pk
    assert entry.new["notice_number"] == d.notice_number and entry.new["violations"] == [
        v.pk for v in d.violations.all()]


def test_a_vehicle_detention_is_of_one_registered_vehicle_returned_to_its_owner():
    user = citizen_user()
    car, other = make_vehicle(owner=user.person), make_vehicle(owner=citizen_user().person)
    d = detain(user.person, kind="vehicle", violations=[on_site(car), on_site(car, code="1362")])
    assert d.vehicle == car and d.person == user.person and d.licence is None and d.violations.count() == 2
    with pytest.raises(InvalidInput) as exc:
        detain(user.person, kind="vehicle", violations=[on_site(car), on_site(other)])
    assert exc.value.code == "violations.detention_one_vehicle"
    with pytest.raises(Conflict) as exc:  # the car is held already
        detain(user.person, kind="vehicle", violations=[on_site(car)])
    assert exc.value.code == "violations.detention_vehicle_held"


def test_recording_is_refused_to_a_citizen_and_for_bad_input():
    user = citizen_user()
    car = make_vehicle(owner=user.person)
    v = on_site(car)
    base = dict(kind="licence", notice_number="440300KL9000001", violation_ids=[v.pk], held_at_name="福田大队",
                held_at_address="深圳市福田区福强路3028号", detained_at=v.occurred_at, id_number=user.person.id_number)
    with pytest.raises(Forbidden):
        services.detention_record(actor=Actor(id=user.pk, label="c", role="citizen"), **base)
    for change, code in (({"violation_ids": []}, "violations.detention_violations"),
                         ({"violation_ids": [v.pk + 999]}, "violations.detention_violations"),
                         ({"kind": "boat"}, "violations.detention_kind"),
                         ({"notice_number": " "}, "violations.detention_notice"),
                         ({"held_at_name": ""}, "violations.detention_place"),
                         ({"id_number": "440304198506151230"}, "id_number.check_digit")):
        with pytest.raises(InvalidInput) as exc:
            services.detention_record(actor=CLERK, **{**base, **change})
        assert exc.value.code == code, change
    services.detention_record(actor=CLERK, **base)
    with pytest.raises(Conflict) as exc:
        services.detention_record(actor=CLERK, **{**base, "notice_number": "440300KL9000002"})
    assert exc.value.code == "violations.detention_licence_held"
    with pytest.raises(Conflict) as exc:
        services.detention_record(actor=CLERK, **base)
    assert exc.value.code == "violations.detention_duplicate"
    assert Detention.objects.count() == 1


def test_a_citizen_sees_only_their_own_detentions():
    mine, theirs = citizen_user(), citizen_user()
    d = detain(mine.person)
    other = detain(theirs.person)
    assert list(selectors.my_detentions(user=mine)) == [d]
    assert selectors.my_detention(user=mine, detention_id=d.pk) == d
    with pytest.raises(Exception) as exc:
        selectors.my_detention(user=mine, detention_id=other.pk)
    assert getattr(exc.value, "code", "") == "core.not_found"


# --- the return --------------------------------------------------------------------------------------------------

def test_released_only_once_handled_and_paid():
    user = citizen_user()
    d = detain(user.person)
    v = d.violations.get()
    assert [r.code for r in selectors.detention_release_refusals(detention=d)] == ["violations.detention_unhandled"]
    handle(v, user.person)
    with pytest.raises(Conflict) as exc:
        services.detention_release(detention_id=d.pk, actor=Actor.system("test"), reference="SQ1")
    assert exc.value.code == "violations.detention_unpaid" and "罚款尚未缴纳" in exc.value.zh
    services.decision_settled(decision_id=v.decision.pk)
    released = services.detention_release(detention_id=d.pk, actor=Actor.system("test"), reference="SQ1")
    assert released.status == "released" and released.release_reference == "SQ1" and released.released_at
    entry = AuditEntry.objects.get(action="detention.release")
    assert entry.old["status"] == "held" and entry.new["status"] == "released"
    with pytest.raises(Conflict) as exc:  # once
        services.detention_release(detention_id=d.pk, actor=Actor.system("test"))
    assert exc.value.code == "violations.detention_status"


@pytest.mark.parametrize("status,code", [("suspended", "violations.detention_licence_suspended"),
                                         ("revoked", "violations.detention_licence_revoked"),
                                         ("cancelled", "violations.detention_licence_cancelled")])
def test_a_licence_not_returnable_is_kept_though_the_fine_is_paid(status, code):
    user = citizen_user()
    d = detain(user.person)
    handle_and_pay(d.violations.get(), user.person)
    assert selectors.detention_release_refusals(detention=d) == []
    DrivingLicence.objects.filter(person=user.person).update(status=status)  # e.g. a full score since the request
    d.refresh_from_db()
    with pytest.raises(Conflict) as exc:  # the release checks again under the lock
        services.detention_release(detention_id=d.pk, actor=Actor.system("test"))
    assert exc.value.code == code
    assert Detention.objects.get(pk=d.pk).status == "held"


def test_a_vehicle_needs_no_licence_check_and_a_revoked_violation_owes_nothing():
    user = citizen_user(licence=False)
    car = make_vehicle(owner=user.person)
    paid_one, void_one = on_site(car), on_site(car, code="1362")
    d = detain(user.person, kind="vehicle", violations=[paid_one, void_one])
    services.violation_revoke(violation=void_one, actor=APPROVER, reason="录入错误")
    assert [r.code for r in selectors.detention_release_refusals(detention=d)] == ["violations.detention_unhandled"]


def test_staff_release_needs_the_permission_and_cancel_is_for_approvers():
    user = citizen_user()
    d = detain(user.person)
    handle_and_pay(d.violations.get(), user.person)
    with pytest.raises(Forbidden):
        services.detention_release(detention_id=d.pk, actor=Actor(id=5, label="a", role="auditor"))
    with pytest.raises(Forbidden):
        services.detention_cancel(detention_id=d.pk, actor=CLERK, reason="录错")
    with pytest.raises(InvalidInput):
        services.detention_cancel(detention_id=d.pk, actor=APPROVER, reason=" ")
    cancelled = services.detention_cancel(detention_id=d.pk, actor=APPROVER, reason="凭证编号录错")
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "凭证编号录错"
    assert AuditEntry.objects.get(action="detention.cancel").reason == "凭证编号录错"
    with pytest.raises(Conflict):
        services.detention_release(detention_id=d.pk, actor=CLERK)


def test_a_licence_is_detained_only_for_the_drivers_own_violations():
    """Another citizen's violation is refused as the ground of a licence detention (its number and text would
    otherwise reach the holder among the reasons); one on the holder's car, or whose points went to the licence,
    is accepted."""
    driver, stranger = citizen_user(), citizen_user()
    theirs = on_site(make_vehicle(owner=stranger.person))
    with pytest.raises(InvalidInput) as exc:
        detain(driver.person, violations=[theirs])
    assert exc.value.code == "violations.detention_not_this_driver"
    borrowed = on_site(make_vehicle(owner=stranger.person))  # the driver drove a friend's car: points to them
    handle(borrowed, driver.person)
    assert detain(driver.person, violations=[borrowed]).kind == "licence"


@pytest.mark.django_db(transaction=True)
def test_the_database_keeps_one_held_detention_per_licence():
    """The check in detention_record runs before the insert; the partial unique index is the wall behind it."""
    from django.db import IntegrityError, transaction

    user = citizen_user()
    d = detain(user.person)
    with pytest.raises(IntegrityError), transaction.atomic():
        Detention.objects.create(kind="licence", notice_number="440300KL9999999", person_id=d.person_id,
                                 licence_id=d.licence_id, held_at_name="x", held_at_address="y",
                                 detained_at=d.detained_at, status="held", recorded_at=d.recorded_at,
                                 updated_at=d.updated_at)
