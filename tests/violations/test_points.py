"""The points ledger: once per violation, per licence and scoring cycle; 12 suspends the licence."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.rules import scoring_cycle
from jiaoguan.violations import selectors, services
from jiaoguan.violations.models import PointsAccount, PointsEntry
from tests.factories import make_licence, make_person, make_vehicle
from tests.violations.conftest import APPROVER, STAFF, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver():
    person = make_person()
    licence = make_licence(person=person)
    car = make_vehicle(owner=person, registered=clock.today() - dt.timedelta(days=300))
    return person, licence, car


def test_points_assigned_once(driver, payments):
    person, licence, car = driver
    v = record(car, code="1625")
    d = services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
    assert d.points == 6 and len(d.number) == 15
    assert services.points_in_cycle(licence=licence) == 6
    # handling again gives the same decision, and never the points twice
    assert services.violation_handle_counter(violation=v, licence=licence, actor=STAFF).pk == d.pk
    with pytest.raises(Conflict):
        services.points_assign(violation=v, licence=licence, actor=STAFF)
    assert PointsEntry.objects.filter(violation=v).count() == 1
    assert services.points_in_cycle(licence=licence) == 6
    assert payments.created[0]["amount_fen"] == 50000 and payments.created[0]["late_fee"] is True
    assert payments.created[0]["source_id"] == str(d.pk)
    assert payments.created[0]["payer_person_id"] == person.pk


def test_full_score_suspends_the_licence(driver, payments):
    _person, licence, car = driver
    for code in ("1625", "1352", "1357"):  # 6 + 3 + 3
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.status == DrivingLicence.Status.SUSPENDED
    assert services.points_in_cycle(licence=licence) == 12
    acc = PointsAccount.objects.get(licence=licence)
    assert acc.full_score_at is not None
    assert AuditEntry.objects.filter(action="licence.suspend", object_id=str(licence.pk)).count() == 1
    # more points in the same cycle do not suspend it again
    services.violation_handle_counter(violation=record(car, code="1373"), licence=licence, actor=STAFF)
    assert AuditEntry.objects.filter(action="licence.suspend", object_id=str(licence.pk)).count() == 1


def test_points_go_to_the_cycle_of_the_handling_day(driver, payments, clock):
    _person, licence, car = driver
    start, end = scoring_cycle(licence.first_issue_date, clock.today())
    clock.freeze(dt.datetime.combine(end, dt.time(12)))
    services.violation_handle_counter(violation=record(car, code="1352"), licence=licence, actor=STAFF)
    clock.freeze(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(12)))
    services.violation_handle_counter(violation=record(car, code="1625"), licence=licence, actor=STAFF)
    assert selectors.licence_points(licence=licence, cycle_start=start) == 3
    # the unpaid fine's 3 points carried into the new cycle, plus the new 6
    assert services.points_in_cycle(licence=licence) == 9


def test_reversal_removes_points_once(driver, payments):
    _person, licence, car = driver
    v = record(car, code="1625")
    d = services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
    services.violation_revoke(violation=v, actor=APPROVER, reason="设备故障 camera fault")
    assert services.points_in_cycle(licence=licence) == 0
    assert services.points_reverse(violation=v, actor=STAFF) is None
    assert services.points_in_cycle(licence=licence) == 0
    assert payments.cancelled == [{"source_type": "violations.decision", "source_id": str(d.pk), "actor": APPROVER,
                                   "reason": "设备故障 camera fault"}]


def test_unpaid_fine_points_for_the_rollover(driver, payments):
    _person, licence, car = driver
    v1 = record(car, code="1625")
    v2 = record(car, code="1352")
    services.violation_handle_counter(violation=v1, licence=licence, actor=STAFF)
    services.violation_handle_counter(violation=v2, licence=licence, actor=STAFF)
    start, end = scoring_cycle(licence.first_issue_date, clock.today())
    assert selectors.unpaid_fine_points(licence, start, end) == 9
    services.violation_mark_paid(violation=v1, actor=STAFF)
    assert selectors.unpaid_fine_points(licence, start, end) == 3


def test_full_score_sends_an_sms_and_the_licence_card_shows_the_points(driver, payments):
    from jiaoguan.registry.selectors import licence_summary
    from tests.notifications.helpers import last_sms

    person, licence, car = driver
    for code in ("1625", "1636"):
        services.violation_handle_counter(violation=record(car, code=code), licence=licence, actor=STAFF)
    assert "12" in (last_sms(person.phone) or "") and "暂扣" in last_sms(person.phone)
    licence.refresh_from_db()
    assert licence.cycle_points == 12 and licence.status == "suspended"
    assert licence_summary(licence=licence).points == 12


def test_revoking_takes_the_points_off_the_licence_card(driver, payments):
    _person, licence, car = driver
    v = record(car, code="1352")
    services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
    licence.refresh_from_db()
    assert licence.cycle_points == 3
    services.violation_revoke(violation=v, actor=APPROVER, reason="核实有误 wrong record")
    licence.refresh_from_db()
    assert licence.cycle_points == 0


def _cycle_end(licence):
    return scoring_cycle(licence.first_issue_date, clock.today())[1]


@pytest.mark.parametrize("paid,expected", [(True, 0), (False, 3)])
def test_cycle_end_clears_paid_and_carries_unpaid(driver, payments, clock, paid, expected):
    _person, licence, car = driver
    end = _cycle_end(licence)
    clock.freeze(dt.datetime.combine(end - dt.timedelta(days=10), dt.time(12)))
    v = record(car, code="1352")
    services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
    if paid:
        services.violation_mark_paid(violation=v, actor=STAFF)
    clock.freeze(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(1)))
    assert services.points_in_cycle(licence=licence) == expected
    assert services.points_cycles_open() == 1
    assert services.points_cycles_open() == 0  # idempotent
    if not paid:  # paying after the cycle ended does not clear what was carried
        services.violation_mark_paid(violation=v, actor=STAFF)
    assert services.points_in_cycle(licence=licence) == expected
    acc = PointsAccount.objects.get(licence=licence, cycle_start=end + dt.timedelta(days=1))
    assert acc.carried_in == expected


def test_full_score_carries_whole(driver, payments, clock):
    _person, licence, car = driver
    end = _cycle_end(licence)
    clock.freeze(dt.datetime.combine(end - dt.timedelta(days=5), dt.time(12)))
    for code in ("1625", "1636"):
        v = record(car, code=code)
        services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
        services.violation_mark_paid(violation=v, actor=STAFF)
    clock.freeze(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(1)))
    assert services.points_in_cycle(licence=licence) == 12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["1352", "1116", "1625", "1357"]), st.booleans()), max_size=3))
def test_carry_is_the_unpaid_points_under_twelve(driver, payments, cases):
    from jiaoguan.core import clock as core_clock
    from jiaoguan.registry.rules import FULL_SCORE
    _person, licence, car = driver
    PointsEntry.objects.all().delete()
    PointsAccount.objects.all().delete()
    # the card mirrors the ledger: emptied with it (else its figure is an opening balance the ledger never saw)
    DrivingLicence.objects.filter(pk=licence.pk).update(cycle_points=0)
    end = _cycle_end(licence)
    core_clock.freeze(dt.datetime.combine(end - dt.timedelta(days=5), dt.time(12)))
    try:
        total = unpaid = 0
        for code, pay in cases:
            v = record(car, code=code)
            if v.status != "recorded":
                continue
            d = services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
            total += d.points
            if pay:
                services.violation_mark_paid(violation=v, actor=STAFF)
            else:
                unpaid += d.points
        core_clock.freeze(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(1)))
        expected = total if total >= FULL_SCORE else unpaid
        assert services.points_in_cycle(licence=licence) == expected
    finally:
        core_clock.reset()
