"""增驾: a holder applies online for one class; the regulation's conditions (registry.rules.add_class_refusal), a
health check meeting the class's conditions and no running permit are checked before submission and again on
approval; approval issues the learner's permit; passing every subject puts the class on the licence with its own
probation."""
import datetime as dt

import pytest

from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.exams.models import Permit
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations.models import PointsAccount
from tests.applications.services.support import approve_standard, hospital_check, reasons, submit
from tests.applications.support import citizen

pytestmark = pytest.mark.django_db
S = Application.Status


def holder(classes="C1", years=5, *, health=True, **check):
    user = citizen()
    first = rules.add_years(clock.today(), -years) - dt.timedelta(days=10)
    DrivingLicence.objects.filter(person=user.person).update(
        classes=classes, first_issue_date=first, valid_from=first, valid_until=rules.add_years(first, 6)
        if years < 6 else None, validity="6y" if years < 6 else "long", probation_until=rules.probation_end(first),
        probation_classes=classes)
    if health:
        hospital_check(user.person, **check)
    return user, DrivingLicence.objects.get(person=user.person)


def apply(user, klass="B2"):
    return submit(user, "licence_add_class", {"licence_class": klass}, {})


def test_the_forms_classes_are_the_rules():
    field = catalogue().get("licence_add_class").field("licence_class")
    assert tuple(field.choice_values()) == rules.ADDABLE_CLASSES


def test_approval_issues_the_permit_and_passing_adds_the_class(workday):
    from jiaoguan.exams.services import _grant_class

    user, licence = holder()
    app = approve_standard(apply(user))
    assert app.status == S.APPROVED
    out = app.outcome["licence_add_class.permit"]
    permit = Permit.objects.get(person=user.person, licence_class="B2")
    assert out["learner_permit"] == permit.number and permit.status == Permit.Status.ACTIVE
    with pytest.raises(Ineligible) as exc:  # the permit runs: no second application for B2
        apply(user)
    assert "licence.class_permit_running" in reasons(exc.value)
    # every subject passed (the exams app's step, tested with results in tests/exams): the class is added
    from tests.applications.support import actor, staff
    _grant_class(permit=permit, recorded_by=actor(staff("clerk")))
    licence.refresh_from_db()
    assert licence.class_list == ["B2", "C1"]
    assert licence.probation_classes == "B2" and licence.class_since == {"B2": clock.today().isoformat()}
    assert licence.probation_until == rules.probation_end(clock.today())
    assert AuditEntry.objects.filter(action="licence.class_add", object_id=str(licence.pk)).count() == 1


@pytest.mark.parametrize("classes,years,klass,code", [
    ("C1", 5, "C1", "licence.class_held"),
    ("B2", 5, "C1", "licence.class_held"),  # B2 permits C1
    ("C1", 1, "B1", "licence.class_prerequisite"),  # B1 needs C1 for 2 years
    ("C1", 5, "A2", "licence.class_prerequisite"),  # A2 needs B1/B2 (or A1)
    ("B2", 2, "A1", "licence.class_prerequisite"),  # A1 needs B2 for 3 years
])
def test_the_regulations_conditions(workday, classes, years, klass, code):
    user, _licence = holder(classes, years)
    with pytest.raises(Ineligible) as exc:
        apply(user, klass)
    assert code in reasons(exc.value)


def test_a_full_score_in_the_cycles_named_refuses(workday):
    user, licence = holder("B2", 5)
    start, _end = rules.scoring_cycle(licence.first_issue_date, clock.today())
    prev = rules.add_years(start, -2)  # two cycles back: counts for A2 (2 cycles), not for B1's neighbour C6
    PointsAccount.objects.create(licence=licence, cycle_start=prev, cycle_end=rules.add_years(prev, 1) -
                                 dt.timedelta(days=1), total=12)
    with pytest.raises(Ineligible) as exc:
        apply(user, "A2")
    assert "licence.class_full_score" in reasons(exc.value)
    app = apply(user, "E")  # one cycle back only: the full score two cycles ago does not count
    assert app.status != S.DRAFT


def test_the_health_check_must_meet_the_new_classs_conditions(workday):
    user, _licence = holder(vision_left="4.9", vision_right="4.9")  # enough for C1, not for B2
    with pytest.raises(Ineligible) as exc:
        apply(user, "B2")
    assert "licence.class_health_check" in reasons(exc.value)
    assert apply(user, "E").status != S.DRAFT


def test_a_suspended_or_missing_licence_is_refused_before_the_form(workday):
    user, licence = holder()
    DrivingLicence.objects.filter(pk=licence.pk).update(status="suspended")
    with pytest.raises(Ineligible) as exc:
        apply(user)
    assert "licence.not_valid" in reasons(exc.value)
    nobody = citizen(licence=False)
    with pytest.raises(Ineligible) as exc:
        apply(nobody)
    assert "licence.none" in reasons(exc.value)


def test_approval_checks_again(workday):
    """A full score between submission and approval: the approval fails with the reason, no permit."""
    user, licence = holder()
    app = apply(user)
    start, end = rules.scoring_cycle(licence.first_issue_date, clock.today())
    PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=12)
    with pytest.raises(Conflict) as exc:
        approve_standard(app)
    assert exc.value.code == "licence.class_full_score"
    assert not Permit.objects.filter(person=user.person).exists()


@pytest.mark.parametrize("local_time", ["00:30", "23:59"])
def test_years_held_count_in_beijing_days(local_time):
    """C1 obtained on 2024-12-08: B1 (2 years) is allowed from 2026-12-08 Beijing time, at 00:30 and at 23:59."""
    hour, minute = map(int, local_time.split(":"))
    for day, ok in ((dt.date(2026, 12, 7), False), (dt.date(2026, 12, 8), True)):
        clock.freeze(clock.local_datetime(day, dt.time(hour, minute)))
        try:
            refusal = rules.add_class_refusal(
                classes=["C1"], class_since={}, first_issue_date=dt.date(2024, 12, 8), status="valid",
                birth_date=dt.date(1990, 1, 1), new_class="B1", on=clock.today(), full_score_in_window=False)
            assert (refusal is None) is ok, (day, refusal)
        finally:
            clock.reset()
