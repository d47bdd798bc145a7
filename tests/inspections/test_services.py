"""Services: stations and slot generation, booking an on-site test (every refusal, nothing written), confirm,
cancel, attendance and results (the registry's due date moves), the online mark for exempt years."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking, Slot
from jiaoguan.core import clock as core_clock
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.inspections import selectors, services
from jiaoguan.inspections.models import InspectionBooking, InspectionMark
from jiaoguan.registry.models import Vehicle
from tests.factories import make_person, make_policy
from tests.inspections.conftest import (
    APPROVER,
    CLERK,
    SYS,
    due_vehicle,
    first_slot,
    make_station,
    owner,
    unsettled_violation,
)

pytestmark = pytest.mark.django_db


def counts():
    return (Booking.objects.count(), InspectionBooking.objects.count(), InspectionMark.objects.count(),
            AuditEntry.objects.count())


def book(user, car, slot):
    return services.inspection_book(user=user, vehicle_id=car.pk, slot_id=slot.pk, actor=SYS)


# --- stations and slots ---------------------------------------------------------------------------------------------

def test_station_create_makes_a_first_come_inspection_resource():
    s = make_station("ft01", lanes=3, days=2)
    assert s.resource.kind == "inspection" and s.resource.policy == "first_come" and s.resource.hold_minutes == 10
    slots = Slot.objects.filter(resource=s.resource)
    assert slots.count() == 2 * 3  # 09:00, 10:00, 11:00 on two days
    assert all(q.capacity == 3 for slot in slots for q in slot.quotas.all())
    assert AuditEntry.objects.filter(action="inspection.station_create").count() == 1


def test_station_create_checks_input_and_role():
    with pytest.raises(InvalidInput) as e:
        services.station_create(code="bad code!", name_zh="", name_en="x", address="", district="", lanes=0, actor=SYS)
    assert {"code", "name_zh", "address", "district", "lanes"} <= set(e.value.fields)
    with pytest.raises(Forbidden):
        services.station_create(code="x1", name_zh="站", name_en="S", address="路", district="区", actor=CLERK)
    services.station_create(code="x1", name_zh="站", name_en="S", address="路", district="区", actor=APPROVER)
    with pytest.raises(Conflict):
        services.station_create(code="x1", name_zh="站", name_en="S", address="路", district="区", actor=APPROVER)


def test_generation_is_rerunnable_and_validated(station):
    first = core_clock.today() + dt.timedelta(days=1)
    again = services.slots_generate(station_id=station.pk, first=first, last=first + dt.timedelta(days=2),
                                    opens=dt.time(9), closes=dt.time(12), minutes=60, actor=SYS)
    assert again.created == 0 and again.skipped == 9
    more = services.slots_generate(station_id=station.pk, first=first, last=first, opens=dt.time(13),
                                   closes=dt.time(15), minutes=30, lanes=5, actor=SYS)
    assert more.created == 4
    with pytest.raises(InvalidInput) as e:
        services.slots_generate(station_id=station.pk, first=first, last=first - dt.timedelta(days=1),
                                opens=dt.time(12), closes=dt.time(9), minutes=5, actor=SYS)
    assert {"last", "closes", "minutes"} <= set(e.value.fields)
    with pytest.raises(Forbidden):
        services.slots_generate(station_id=station.pk, first=first, last=first, opens=dt.time(9),
                                closes=dt.time(10), minutes=30, actor=CLERK)


def test_cancel_hours_before_is_configuration(settings):
    settings.JIAOGUAN_INSPECTIONS = {"CANCEL_HOURS_BEFORE": 24}
    s = make_station("c24", days=2, first=core_clock.today() + dt.timedelta(days=2))
    slot = first_slot(s)
    assert slot.cancel_until == slot.starts_at - dt.timedelta(hours=24)


# --- booking --------------------------------------------------------------------------------------------------------

def test_book_hold_confirm_and_see_it(station):
    user, car = owner()
    assert selectors.my_vehicle_options(user=user)[0].action == "book"
    ib = book(user, car, first_slot(station))
    assert ib.booking.status == "held" and ib.booking.hold_expires_at is not None
    assert ib.booking.exclusive_key == f"inspection:vehicle:{car.pk}:0" and ib.booking.party == f"person:{car.owner_id}"
    ib = services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    assert ib.booking.status == "confirmed"
    opt = selectors.my_vehicle_options(user=user)[0]
    assert opt.action == "booked" and opt.booking.pk == ib.pk
    assert [b.pk for b in selectors.my_inspection_bookings(user=user)] == [ib.pk]
    assert AuditEntry.objects.filter(action="inspection.book").exists()


def test_another_persons_vehicle_is_404_and_nothing_written(station):
    user, _car = owner()
    _other_user, other_car = owner(name="赵他人")
    before = counts()
    with pytest.raises(NotFound):
        book(user, other_car, first_slot(station))
    with pytest.raises(NotFound):
        services.mark_apply(user=user, vehicle_id=other_car.pk, actor=SYS)
    assert counts() == before


def test_a_vehicle_sold_or_scrapped_is_not_the_owners_any_more(station):
    user, car = owner()
    Vehicle.objects.filter(pk=car.pk).update(status=Vehicle.Status.SCRAPPED)
    with pytest.raises(NotFound):
        book(user, car, first_slot(station))


def test_slot_in_the_past(station, clock):
    user, car = owner()
    slot = first_slot(station)
    clock.freeze(slot.starts_at + dt.timedelta(minutes=1))
    before = counts()
    with pytest.raises(InvalidInput) as e:
        book(user, car, slot)
    assert e.value.code == "inspections.slot_past" and counts() == before


def test_full_slot():
    s = make_station("one", lanes=1, days=1)
    slot = first_slot(s)
    u1, c1 = owner()
    u2, c2 = owner(name="钱后到")
    book(u1, c1, slot)
    before = counts()
    with pytest.raises(Conflict) as e:
        book(u2, c2, slot)
    assert e.value.code == "bookings.full" and counts() == before


def test_not_due_yet(station):
    user, car = owner(days_ahead=200)
    before = counts()
    with pytest.raises(Conflict) as e:
        book(user, car, first_slot(station))
    assert e.value.code == "inspections.not_eligible" and "方可办理检验" in e.value.zh and counts() == before
    assert selectors.my_vehicle_options(user=user)[0].action == "none"


def test_insurance_lapsed_on_the_slots_day(station):
    person = make_person(name="孙断保")
    car = due_vehicle(person, insured=False)
    today = core_clock.today()
    make_policy(vehicle=car, starts_on=today - dt.timedelta(days=364), ends_on=today)  # ends today
    from tests.portal.support import register

    user = register(person)
    before = counts()
    with pytest.raises(Conflict) as e:
        book(user, car, first_slot(station))  # tomorrow: no cover
    assert "交强险" in e.value.zh and "compulsory insurance" in e.value.en and counts() == before


def test_unsettled_violations_and_all_reasons_at_once(station):
    user, car = owner(days_ahead=200, insured=False)
    unsettled_violation(car)
    before = counts()
    with pytest.raises(Conflict) as e:
        book(user, car, first_slot(station))
    reasons = e.value.fields
    assert len(reasons) == 3 and counts() == before
    assert {"not yet handled" in en or "compulsory insurance" in en or "can be done from" in en
            for _zh, en in reasons.values()} == {True}


def test_exempt_car_cannot_book_and_non_exempt_cannot_get_a_mark(station):
    user, exempt = owner(years=4)
    with pytest.raises(Conflict) as e:
        book(user, exempt, first_slot(station))
    assert "免检" in e.value.zh
    user2, on_site = owner(name="周上线")
    before = counts()
    with pytest.raises(Conflict) as e:
        services.mark_apply(user=user2, vehicle_id=on_site.pk, actor=SYS)
    assert "上线检验" in e.value.zh and counts() == before


def test_one_live_booking_per_vehicle(station):
    user, car = owner()
    slots = list(Slot.objects.filter(resource=station.resource).order_by("starts_at"))
    book(user, car, slots[0])
    with pytest.raises(Conflict) as e:
        book(user, car, slots[1])
    assert e.value.code == "inspections.already_booked"


def test_closed_station(station):
    user, car = owner()
    services.station_set_active(station_id=station.pk, active=False, actor=APPROVER)
    with pytest.raises(Conflict):
        book(user, car, first_slot(station))
    assert list(selectors.stations()) == []


def test_hold_expires_and_the_seat_is_free_again(clock):
    s = make_station("exp", lanes=1, days=1)
    slot = first_slot(s)
    user, car = owner()
    ib = book(user, car, slot)
    clock.advance(dt.timedelta(minutes=11))
    with pytest.raises(Conflict) as e:
        services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    assert e.value.code == "bookings.hold_expired"
    u2, c2 = owner(name="吴下一位")
    assert book(u2, c2, slot).booking.status == "held"


def test_release_a_hold_and_cancel_a_confirmed_booking(station):
    user, car = owner()
    ib = book(user, car, first_slot(station))
    ib = services.inspection_cancel(user=user, booking_id=ib.booking_id, actor=SYS)
    assert ib.booking.status == "released"
    ib = book(user, car, first_slot(station))
    services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    ib = services.inspection_cancel(user=user, booking_id=ib.booking_id, actor=SYS)
    assert ib.booking.status == "cancelled" and ib.booking.cancelled_by == "citizen"
    assert selectors.my_vehicle_options(user=user)[0].action == "book"


def test_cancel_deadline(settings, clock):
    settings.JIAOGUAN_INSPECTIONS = {"CANCEL_HOURS_BEFORE": 24}
    s = make_station("dl", days=1, first=core_clock.today() + dt.timedelta(days=3))
    slot = first_slot(s)
    user, car = owner()
    ib = book(user, car, slot)
    services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    clock.freeze(slot.starts_at - dt.timedelta(hours=23))
    with pytest.raises(Conflict) as e:
        services.inspection_cancel(user=user, booking_id=ib.booking_id, actor=SYS)
    assert e.value.code == "bookings.cancel_closed"


def test_someone_elses_booking_is_404(station):
    user, car = owner()
    ib = book(user, car, first_slot(station))
    intruder, _ = owner(name="郑别人")
    for fn in (services.inspection_confirm, services.inspection_cancel):
        with pytest.raises(NotFound):
            fn(user=intruder, booking_id=ib.booking_id, actor=SYS)


# --- attendance and results -----------------------------------------------------------------------------------------

def confirmed(station, user, car, slot=None):
    ib = book(user, car, slot or first_slot(station))
    return services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)


def test_pass_moves_the_registrys_due_date(station, clock):
    user, car = owner()
    old_due = car.inspection_due
    ib = confirmed(station, user, car)
    with pytest.raises(Conflict):  # not started yet
        services.inspection_attendance(booking_id=ib.booking_id, attended=True, actor=CLERK)
    with pytest.raises(Conflict):  # not attended yet
        services.inspection_result(booking_id=ib.booking_id, passed=True, actor=CLERK)
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=5))
    ib = services.inspection_attendance(booking_id=ib.booking_id, attended=True, actor=CLERK)
    assert ib.booking.status == "attended"
    assert selectors.my_vehicle_options(user=user)[0].action == "booked"  # awaiting the result
    ib = services.inspection_result(booking_id=ib.booking_id, passed=True, actor=CLERK)
    car.refresh_from_db()
    assert ib.result == "passed" and car.inspection_due > old_due
    assert car.last_inspection_date == selectors.local_date(ib.booking.slot.starts_at)
    assert AuditEntry.objects.filter(action="vehicle.inspect", object_id=str(car.pk)).exists()
    assert AuditEntry.objects.filter(action="inspection.result").exists()
    with pytest.raises(Conflict):
        services.inspection_result(booking_id=ib.booking_id, passed=True, actor=CLERK)
    with pytest.raises(Forbidden):
        services.inspection_attendance(booking_id=ib.booking_id, attended=True, actor=SYS.__class__(
            id=1, label="citizen", role="citizen"))


def test_fail_needs_a_note_and_allows_a_retest(station, clock):
    user, car = owner()
    ib = confirmed(station, user, car)
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=5))
    services.inspection_attendance(booking_id=ib.booking_id, attended=True, actor=CLERK)
    with pytest.raises(InvalidInput):
        services.inspection_result(booking_id=ib.booking_id, passed=False, actor=CLERK)
    ib = services.inspection_result(booking_id=ib.booking_id, passed=False, note="制动不合格", actor=CLERK)
    car.refresh_from_db()
    assert ib.result == "failed" and car.last_inspection_date is None
    later = Slot.objects.filter(resource=station.resource, starts_at__gt=core_clock.now()).order_by("starts_at")[1]
    retest = book(user, car, later)
    assert retest.round == 1 and retest.booking.exclusive_key.endswith(":1")


def test_no_show(station, clock):
    user, car = owner()
    ib = confirmed(station, user, car)
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=30))
    ib = services.inspection_attendance(booking_id=ib.booking_id, attended=False, actor=CLERK)
    assert ib.booking.status == "no_show"
    later = Slot.objects.filter(resource=station.resource, starts_at__gt=core_clock.now()).order_by("starts_at")[0]
    assert book(user, car, later).round == 0  # a no-show frees the vehicle's key


# --- the online mark ------------------------------------------------------------------------------------------------

def test_mark_issued_at_once(clock):
    user, car = owner(years=4)
    old_due = car.inspection_due
    assert selectors.my_vehicle_options(user=user)[0].action == "mark"
    m = services.mark_apply(user=user, vehicle_id=car.pk, actor=SYS)
    car.refresh_from_db()
    assert m.number and len(m.number) == 13 and m.year == core_clock.today().year
    assert m.due_covered == old_due and m.valid_until == car.inspection_due > old_due
    assert car.last_inspection_date == core_clock.today()
    assert AuditEntry.objects.filter(action="inspection.mark_issue", object_id=str(m.pk)).exists()
    assert AuditEntry.objects.filter(action="vehicle.inspect", object_id=str(car.pk)).exists()
    assert selectors.mark_verify(number=m.number, token=m.token) == m and selectors.mark_current(m)
    with pytest.raises(NotFound):
        selectors.mark_verify(number=m.number, token="wrong")
    before = counts()
    with pytest.raises(Conflict) as e:  # the next point is two years away (and on site)
        services.mark_apply(user=user, vehicle_id=car.pk, actor=SYS)
    assert e.value.code == "inspections.not_eligible" and counts() == before


def test_mark_refused_with_unsettled_violations_or_no_insurance():
    user, car = owner(years=2, insured=False)
    unsettled_violation(car)
    before = counts()
    with pytest.raises(Conflict) as e:
        services.mark_apply(user=user, vehicle_id=car.pk, actor=SYS)
    assert len(e.value.fields) == 2 and counts() == before
