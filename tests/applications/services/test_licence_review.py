"""驾驶证审验: an A/B licence whose last scoring cycle had points owes a review; the holder applies with the study
(at least 3 hours, the service's data) and its certificate; on approval the registry records it, once per cycle."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations.models import PointsAccount
from tests.applications.services.support import approve_standard, reasons, submit
from tests.applications.support import PDF, citizen

pytestmark = pytest.mark.django_db
S = Application.Status


def driver(classes="B2", points=3):
    user = citizen()
    licence = DrivingLicence.objects.get(person=user.person)
    DrivingLicence.objects.filter(pk=licence.pk).update(classes=classes)
    licence.refresh_from_db()
    start, end = rules.review_cycle(licence.first_issue_date, clock.today())
    if points:
        PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=points)
    return user, licence, end


def apply(user, hours=3):
    return submit(user, "licence_review", {"study_hours": hours, "study_provider": "深圳市交通安全教育平台"},
                  {"study_certificate": PDF})


def test_reviewed_once_for_the_cycle(workday):
    user, licence, end = driver()
    app = approve_standard(apply(user))
    assert app.status == S.APPROVED and app.outcome["licence_review.registry"]["cycle_end"] == end.isoformat()
    licence.refresh_from_db()
    assert licence.reviewed_through == end
    assert AuditEntry.objects.filter(action="licence.review", object_id=str(licence.pk)).count() == 1
    with pytest.raises(Ineligible) as exc:  # done: no second review for the cycle
        apply(user)
    assert "licence.review_not_due" in reasons(exc.value)


def test_fewer_hours_than_the_service_asks_are_refused(workday):
    from jiaoguan.core.errors import InvalidInput

    user, _licence, _end = driver()
    with pytest.raises(InvalidInput):
        apply(user, hours=2)


@pytest.mark.parametrize("classes,points,code", [
    ("C1", 3, "licence.review_not_required"),
    ("B2", 0, "licence.review_not_due"),
])
def test_who_owes_no_review(workday, classes, points, code):
    user, _licence, _end = driver(classes=classes, points=points)
    with pytest.raises(Ineligible) as exc:
        apply(user)
    assert code in reasons(exc.value)


@given(first=st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)), days=st.integers(0, 4000),
       points=st.integers(0, 20), large=st.booleans(), reviewed=st.sampled_from(["none", "old", "this"]))
def test_the_review_rule(first, days, points, large, reviewed):
    on = first + dt.timedelta(days=days)
    cycle = rules.review_cycle(first, on)
    through = {"none": None, "old": first - dt.timedelta(days=1), "this": cycle[1] if cycle else None}[reviewed]
    due = rules.review_due(classes=["A2", "D"] if large else ["C1"], first_issue_date=first, on=on,
                           points_of_cycle=points, reviewed_through=through)
    expected = large and points > 0 and cycle is not None and (through is None or through < cycle[1])
    assert (due is not None) == expected
    if due is not None:
        assert due.cycle_end < on and due.deadline == due.cycle_end + dt.timedelta(days=30)
        assert rules.scoring_cycle(first, due.cycle_end) == (due.cycle_start, due.cycle_end)


def test_the_demo_trucker_owes_a_review(clock):
    """demo_city's "trucker" (README) can walk the journey: 3 points in the last cycle, a review owed."""
    from jiaoguan.applications.plugins.licence_review import review_owed
    from jiaoguan.registry import selectors as registry_selectors
    from jiaoguan.registry.demo import generate_city
    from tests.violations.test_points_opening import deliver

    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    city = generate_city(persons=20, seed=5)
    deliver()  # the ledger's opening balances travel by the outbox
    licence = registry_selectors.licence_for_person(person=city.showcase["trucker"])
    owed = review_owed(licence)
    assert owed is not None and owed.cycle_end < clock.today()
    assert licence.cycle_points == 0  # the points were the last cycle's, not this one's


def test_points_carried_in_are_not_the_cycles_own(workday):
    """A cycle whose only points carried in from the one before (unpaid fines) had no 记分 of its own: no review."""
    user, licence, end = driver(points=0)
    start, _ = rules.review_cycle(licence.first_issue_date, clock.today())
    PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=3, carried_in=3)
    with pytest.raises(Ineligible) as exc:
        apply(user)
    assert "licence.review_not_due" in reasons(exc.value)
