"""永不脱检: the daily sweep issues the marks of exempt-year vehicles due within 30 days and posts the printed mark to
the owner's address on file; vehicles that are on site this time, uninsured, with unsettled violations, or whose
owner has no account are left to their owners; a second run issues nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionMark
from jiaoguan.postal.models import Shipment
from tests.factories import make_person
from tests.inspections.conftest import due_vehicle, owner
from tests.inspections.test_services import unsettled_violation

pytestmark = pytest.mark.django_db


def test_exempt_cars_due_get_their_mark_posted_and_a_notice(clock):
    user, car = owner(years=4, days_ahead=20)
    old_due = car.inspection_due
    _u2, far = owner(years=4, days_ahead=60, name="李未到")  # due in two months: not yet
    _u3, on_site = owner(years=6, days_ahead=10, name="张上线")  # its 6th year is an on-site test
    _u4, uninsured = owner(years=2, days_ahead=10, insured=False, name="赵无保")
    _u5, fined = owner(years=2, days_ahead=10, name="钱违法")
    unsettled_violation(fined)
    no_account = due_vehicle(make_person(name="孙无号"), years=4, days_ahead=10)
    assert services.marks_auto_issue() == 1
    mark = InspectionMark.objects.get()
    assert mark.vehicle_id == car.pk and mark.user_id == user.pk and mark.due_covered == old_due
    car.refresh_from_db()
    assert car.inspection_due > old_due and mark.valid_until == car.inspection_due
    shipment = Shipment.objects.get(source_type=services.MARK_SOURCE, source_id=str(mark.pk))
    assert car.plate in shipment.item_zh and shipment.address == user.person.address
    assert user.messages.filter(template_code="inspection.mark_issued").exists()
    assert AuditEntry.objects.filter(action="inspection.mark_issue", actor_label="inspections.marks_auto").exists()
    assert services.marks_auto_issue() == 0  # once per due point
    for v in (far, on_site, uninsured, fined, no_account):
        assert not InspectionMark.objects.filter(vehicle=v).exists()


def test_the_owner_who_applied_first_is_not_issued_twice(clock):
    user, car = owner(years=4, days_ahead=20)
    services.mark_apply(user=user, vehicle_id=car.pk, actor=services.Actor.of(user))
    assert services.marks_auto_issue() == 0 and InspectionMark.objects.count() == 1


def test_switched_off_the_owners_apply(clock, settings):
    settings.JIAOGUAN_INSPECTIONS = {"MARK_AUTO": False}
    owner(years=4, days_ahead=20)
    assert services.marks_auto_issue() == 0


@pytest.mark.parametrize("hour,minute", [(0, 30), (23, 59)])
def test_the_window_is_counted_in_local_days(clock, hour, minute):
    """Due 31 local days ahead: not yet; 30: in — at 00:30 and 23:59 Beijing time alike (a UTC date would be a
    day behind at 00:30)."""
    _user, car = owner(years=4, days_ahead=20)
    for days, expected in ((31, 0), (30, 1)):
        day = car.inspection_due - dt.timedelta(days=days)
        clock.freeze(dt.datetime(day.year, day.month, day.day, hour, minute))
        assert services.marks_auto_issue() == expected, days


def test_vehicles_that_do_not_qualify_never_starve_the_ones_that_do(clock):
    """The sweep walks every candidate page by page: ones left to their owners (on site this time) ahead of an
    exempt one in due order do not keep it from its mark."""
    for i in range(3):
        owner(years=6, days_ahead=5 + i, name=f"上线{i}")  # on-site year, due first
    user, car = owner(years=4, days_ahead=20)
    assert services.marks_auto_issue(batch=1) == 1
    assert InspectionMark.objects.get().vehicle_id == car.pk
