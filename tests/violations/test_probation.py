"""Probation (实习期, DOMAIN §3, 公安部令第162号第七十七条): 12 points during probation cancels the licence instead of
suspending it; an A/B licence whose probation year ended with 6–11 points gets one more year of probation, once."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations import services
from jiaoguan.violations.models import PointsAccount
from tests.factories import make_licence, make_person, make_vehicle
from tests.notifications.helpers import last_sms, sms_outbox
from tests.violations.conftest import STAFF, record

pytestmark = pytest.mark.django_db


def _learner(classes="C1", *, months_ago=3):
    person = make_person()
    first = clock.today() - dt.timedelta(days=30 * months_ago)
    licence = make_licence(person=person, classes=classes, first_issue=first,
                           probation_until=rules.probation_end(first))
    car = make_vehicle(owner=person, registered=clock.today() - dt.timedelta(days=300))
    return person, licence, car


def test_a_full_score_in_probation_cancels_the_licence(payments):
    person, licence, car = _learner()
    for code in ("1625", "1636"):  # 6 + 6
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.status == DrivingLicence.Status.CANCELLED
    assert licence.status_reason == rules.CANCEL_PROBATION_FULL_SCORE
    assert AuditEntry.objects.filter(action="licence.cancel", object_id=str(licence.pk)).count() == 1
    assert not AuditEntry.objects.filter(action="licence.suspend", object_id=str(licence.pk)).exists()
    assert "实习期" in last_sms(person.phone) and "注销" in last_sms(person.phone)


def test_after_probation_a_full_score_suspends(payments):
    _person, licence, car = _learner(months_ago=14)
    for code in ("1625", "1636"):
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.status == DrivingLicence.Status.SUSPENDED


def _ended(classes, points, *, days_ago=5):
    """A licence whose probation (its first scoring cycle) ended ``days_ago`` days ago with ``points``."""
    person = make_person()
    end = clock.today() - dt.timedelta(days=days_ago)
    first = rules.add_years(end + dt.timedelta(days=1), -1)
    licence = make_licence(person=person, classes=classes, first_issue=first, probation_until=end)
    assert rules.probation_end(first) == end
    PointsAccount.objects.create(licence=licence, cycle_start=first, cycle_end=end, total=points)
    return person, licence


def test_the_review_extends_an_a_or_b_probation_with_6_to_11_points_once():
    person, b2 = _ended("B2", 6)
    _, b1_c1 = _ended("B1 C1", 11)
    _, c1 = _ended("C1", 8)  # not a large class
    _, few = _ended("A2", 5)
    _, none = _ended("B2", 0)
    _, old = _ended("B2", 7, days_ago=40)  # outside the review window
    assert services.probation_review() == 2
    for lic, until in ((b2, True), (b1_c1, True), (c1, False), (few, False), (none, False), (old, False)):
        before = lic.probation_until
        lic.refresh_from_db()
        assert (lic.probation_until == rules.probation_extended_until(before)) is until, lic.classes
    assert b2.probation_until == rules.add_years(b2.first_issue_date, 2) - dt.timedelta(days=1)
    assert rules.in_probation(b2.probation_until, clock.today())
    assert "实习期延长一年" in last_sms(person.phone)
    assert AuditEntry.objects.filter(action="licence.probation_extend").count() == 2
    assert services.probation_review() == 0  # once: an extended probation is not extended again
    clock.freeze(clock.local_datetime(b2.probation_until + dt.timedelta(days=3), dt.time(12)))
    try:
        PointsAccount.objects.create(licence=b2, cycle_start=b2.probation_until - dt.timedelta(days=364),
                                     cycle_end=b2.probation_until, total=9)
        assert services.probation_review() == 0
    finally:
        clock.reset()


@pytest.mark.parametrize("local_time", ["00:30", "23:59"])
def test_the_review_counts_days_in_beijing_time(local_time):
    """The probation ended yesterday (Beijing date): the review sees it at 00:30 and at 23:59 of today."""
    hour, minute = map(int, local_time.split(":"))
    clock.freeze(clock.local_datetime(dt.date(2026, 12, 8), dt.time(hour, minute)))
    try:
        _, licence = _ended("B2", 6, days_ago=1)
        assert licence.probation_until == dt.date(2026, 12, 7)
        assert services.probation_review() == 1
    finally:
        clock.reset()


@given(classes=st.lists(st.sampled_from(["A1", "A2", "A3", "B1", "B2", "C1", "C2", "D", "E"]), min_size=1,
                        max_size=3, unique=True),
       points=st.integers(0, 30), first=st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
       extended=st.booleans())
def test_the_extension_rule(classes, points, first, extended):
    end = rules.probation_end(first)
    until = rules.probation_extended_until(end) if extended else end
    done = rules.probation_extended(probation_until=until, start=first)
    assert done is extended
    got = rules.probation_extends(probation_classes=classes, points=points, extended=done)
    large = bool(set(classes) & {"A1", "A2", "A3", "B1", "B2"})
    assert got == (large and 6 <= points <= 11 and not extended)
    assert rules.probation_extended_until(end) == rules.probation_end(rules.add_years(first, 1))
    again = rules.extended_probation_cancels(probation_classes=classes, points_in_extension=points, extended=done,
                                             in_probation_now=True)
    assert again == (large and extended and points >= 6)


def test_a_probation_whose_classes_are_not_known_suspends(payments):
    """A probation date that is not the first year's, from the city's file without its classes: 12 points suspend
    the licence; they never cancel the classes held for years."""
    person = make_person()
    first = clock.today() - dt.timedelta(days=3650)
    licence = make_licence(person=person, classes="B2 C1", first_issue=first,
                           probation_until=clock.today() + dt.timedelta(days=100))
    assert licence.probation_classes == ""
    car = make_vehicle(owner=person, registered=clock.today() - dt.timedelta(days=300))
    for code in ("1625", "1636"):
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.status == DrivingLicence.Status.SUSPENDED and licence.classes == "B2 C1"


def _added(classes="B2 C1", added="B2", *, days_ago=100):
    """A C1 holder of ten years who added ``added`` ``days_ago`` days ago (增驾): only it is in probation."""
    person = make_person()
    first = clock.today() - dt.timedelta(days=3650)
    since = clock.today() - dt.timedelta(days=days_ago)
    licence = make_licence(person=person, classes=classes, first_issue=first, probation_until=rules.probation_end(since),
                           probation_classes=added)
    licence.class_since = {added: since.isoformat()}
    licence.save(update_fields=["class_since"])
    car = make_vehicle(owner=person, registered=clock.today() - dt.timedelta(days=300))
    return person, licence, car


def test_a_full_score_in_an_added_classs_probation_cancels_that_class_and_suspends_the_rest(payments):
    person, licence, car = _added()
    for code in ("1625", "1636"):
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.classes == "C1" and licence.status == DrivingLicence.Status.SUSPENDED
    assert licence.probation_until is None and licence.probation_classes == "" and licence.class_since == {}
    entry = AuditEntry.objects.get(action="licence.class_cancel", object_id=str(licence.pk))
    assert "B2" in str(entry.old) and not AuditEntry.objects.filter(action="licence.cancel").exists()
    texts = [sms.text for sms in sms_outbox() if sms.phone.endswith(person.phone[-11:])]
    assert any("实习的B2准驾车型驾驶资格已注销" in t for t in texts), texts
    assert "暂扣" in texts[-1]


def test_the_review_extends_an_added_classs_probation_by_its_own_points(payments):
    """The added class's probation year is not a scoring cycle: the points recorded in that year count."""
    person, licence, car = _added(days_ago=380)  # added 380 days ago: its probation ended 15 days ago
    clock.freeze(clock.now() - dt.timedelta(days=200))  # 6 points 200 days ago: inside the probation year
    try:
        services.violation_handle_counter(violation=record(car, code="1625"), licence=licence, actor=STAFF)
    finally:
        clock.reset()
    assert services.probation_review() == 1
    licence.refresh_from_db()
    assert rules.in_probation(licence.probation_until, clock.today()) and licence.probation_classes == "B2"
    assert services.probation_review() == 0


def test_six_points_again_in_the_extended_year_cancel_the_class(payments):
    person, licence, car = _added(days_ago=400)
    start = dt.date.fromisoformat(licence.class_since["B2"])
    licence.probation_until = rules.probation_extended_until(rules.probation_end(start))
    licence.save(update_fields=["probation_until"])
    services.violation_handle_counter(violation=record(car, code="1362"), licence=licence, actor=STAFF)  # 3
    licence.refresh_from_db()
    assert licence.classes == "B2 C1"
    services.violation_handle_counter(violation=record(car, code="1357"), licence=licence, actor=STAFF)  # 3 more
    licence.refresh_from_db()
    assert licence.classes == "C1" and licence.status == DrivingLicence.Status.VALID
    assert "B2" in last_sms(person.phone)


def test_a_c_class_added_is_not_extended_or_cancelled_for_six(payments):
    _person, licence, car = _added(classes="C1 E", added="E", days_ago=400)
    start = dt.date.fromisoformat(licence.class_since["E"])
    licence.probation_until = rules.probation_extended_until(rules.probation_end(start))
    licence.save(update_fields=["probation_until"])
    services.violation_handle_counter(violation=record(car, code="1625"), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.classes == "C1 E"


def test_points_in_probation_leave_out_a_revoked_violation(payments):
    """A violation handled in the added class's probation year and revoked after it ended does not count."""
    from jiaoguan.violations import selectors

    _person, licence, car = _added(days_ago=380)
    start = dt.date.fromisoformat(licence.class_since["B2"])
    clock.freeze(clock.now() - dt.timedelta(days=200))
    try:
        violation = record(car, code="1625")
        services.violation_handle_counter(violation=violation, licence=licence, actor=STAFF)
    finally:
        clock.reset()
    end = rules.probation_end(start)
    assert selectors.points_during(licence=licence, start=start, end=end) == 6
    services.points_reverse(violation=violation, actor=STAFF)  # today: after the probation year
    assert selectors.points_during(licence=licence, start=start, end=end) == 0
    assert services.probation_review() == 0


def test_a_full_score_only_carried_in_is_not_a_new_one():
    """full_score_between: a cycle that merely carried 12 points in (unpaid fines) did not reach 12 itself."""
    from jiaoguan.violations.selectors import full_score_between

    person = make_person()
    licence = make_licence(person=person, classes="C1", first_issue=dt.date(2016, 3, 1))
    PointsAccount.objects.create(licence=licence, cycle_start=dt.date(2024, 3, 1), cycle_end=dt.date(2025, 2, 28),
                                 total=12)
    PointsAccount.objects.create(licence=licence, cycle_start=dt.date(2025, 3, 1), cycle_end=dt.date(2026, 2, 28),
                                 total=12, carried_in=12)
    assert full_score_between(licence=licence, start=dt.date(2024, 3, 1), end=dt.date(2026, 12, 8))
    assert not full_score_between(licence=licence, start=dt.date(2025, 3, 1), end=dt.date(2026, 12, 8))
