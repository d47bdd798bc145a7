"""Counter appointments: offices and slots, booking, one per person/service/day, cancel, attendance, batches."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking, Slot
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry, HolidayOverride
from jiaoguan.counters import selectors, services
from jiaoguan.counters.models import EnterpriseBatch
from tests.counters.conftest import APPROVER, CLERK, DAY, NOW, USCC, at, citizen, enterprise_user

pytestmark = pytest.mark.django_db


def me(user):
    return Actor.of(user)


# --- slots ---------------------------------------------------------------------------------------------------------

def test_generated_slots_follow_hours_break_and_windows(city):
    starts = [s.slot.starts_at for s in selectors.day_slots(office_service=city.licence, day=DAY)]
    # 09:00–12:00 and 13:30–17:00 in 30-minute slots: 6 + 7
    assert len(starts) == 13
    assert starts[0] == at(DAY, 9) and starts[5] == at(DAY, 11, 30) and starts[6] == at(DAY, 13, 30)
    assert starts[-1] == at(DAY, 16, 30)
    rows = selectors.day_slots(office_service=city.vehicle, day=DAY)
    assert {r.capacity for r in rows} == {3} and all(r.bookable for r in rows)


def test_generation_skips_non_workdays_existing_and_past(city):
    # Sat 7 and Sun 8 March 2026 are weekend days; Mon 9 is a workday made a holiday by an override
    HolidayOverride.objects.create(date=dt.date(2026, 3, 9), is_workday=False, name="test")
    g = services.slots_generate(office_service_id=city.licence.pk, first_day=dt.date(2026, 3, 2),
                                last_day=dt.date(2026, 3, 9), actor=APPROVER)
    # 2 March: the clock is 08:00, all 13 slots lie ahead; 3 March already exists; 4–6 March new
    assert g.days == 5 and g.skipped_existing == 13 and g.created == 13 * 4
    again = services.slots_generate(office_service_id=city.licence.pk, first_day=dt.date(2026, 3, 2),
                                    last_day=dt.date(2026, 3, 9), actor=APPROVER)
    assert again.created == 0 and again.skipped_existing == 13 * 5
    assert not Slot.objects.filter(resource=city.licence.resource, starts_at__date=dt.date(2026, 3, 7)).exists()


def test_generation_needs_manage_permission_and_a_sane_range(city):
    with pytest.raises(Forbidden):
        services.slots_generate(office_service_id=city.licence.pk, first_day=DAY, last_day=DAY, actor=CLERK)
    with pytest.raises(InvalidInput):
        services.slots_generate(office_service_id=city.licence.pk, first_day=DAY, last_day=DAY - dt.timedelta(1),
                                actor=APPROVER)
    with pytest.raises(InvalidInput):
        services.slots_generate(office_service_id=city.licence.pk, first_day=DAY,
                                last_day=DAY + dt.timedelta(days=100), actor=APPROVER)


def test_office_input_is_checked(db):
    with pytest.raises(InvalidInput) as e:
        services.office_create(code="bad code!", name_zh="", name_en="", address_zh="", actor=APPROVER,
                               opens=dt.time(17), closes=dt.time(9))
    assert {"code", "name_zh", "address_zh", "closes"} <= set(e.value.fields)


def test_day_starts_pure():
    class Office:
        opens, closes, break_starts, break_ends = dt.time(8, 30), dt.time(11, 0), dt.time(9, 45), dt.time(10, 0)

    got = [s.strftime("%H:%M") for s in services.day_starts(office=Office, day=DAY, minutes=30)]
    assert got == ["08:30", "09:00", "10:00", "10:30"]


# --- booking -------------------------------------------------------------------------------------------------------

def test_book_confirmed_and_audited(city):
    u = citizen()
    slot = city.slot(city.licence, 9)
    b = services.appointment_book(user=u, slot_id=slot.pk, actor=me(u))
    assert b.status == Booking.Status.CONFIRMED and b.party == f"person:{u.person_id}"
    assert b.exclusive_key == f"counter:licence:{DAY.isoformat()}:person:{u.person_id}"
    assert AuditEntry.objects.filter(action="booking.confirm", object_id=str(b.pk)).exists()
    assert [x.pk for x in selectors.my_appointments(user=u)] == [b.pk]


def test_one_live_appointment_per_person_service_day(city):
    u = citizen()
    services.appointment_book(user=u, slot_id=city.slot(city.licence, 9).pk, actor=me(u))
    with pytest.raises(Conflict) as e:
        services.appointment_book(user=u, slot_id=city.slot(city.licence, 14).pk, actor=me(u))
    assert e.value.code == "bookings.duplicate"
    # another service the same day is fine
    services.appointment_book(user=u, slot_id=city.slot(city.vehicle, 14).pk, actor=me(u))
    assert Booking.objects.filter(user=u).count() == 2


def test_full_slot_refused_nothing_written(city):
    slot = city.slot(city.licence, 10)
    for _ in range(2):
        u = citizen()
        services.appointment_book(user=u, slot_id=slot.pk, actor=me(u))
    late = citizen()
    before = (Booking.objects.count(), AuditEntry.objects.count())
    with pytest.raises(Conflict) as e:
        services.appointment_book(user=late, slot_id=slot.pk, actor=me(late))
    assert e.value.code == "bookings.full"
    assert (Booking.objects.count(), AuditEntry.objects.count()) == before


def test_past_and_closed_slots_refused(city, clock):
    u = citizen()
    slot = city.slot(city.licence, 9)
    clock.freeze(at(DAY, 9, 10))
    with pytest.raises(InvalidInput) as e:
        services.appointment_book(user=u, slot_id=slot.pk, actor=me(u))
    assert e.value.code == "bookings.slot_past"
    from jiaoguan.bookings import services as engine

    clock.freeze(NOW)
    closed = city.slot(city.licence, 15)
    engine.slot_cancel(slot_id=closed.pk, actor=APPROVER, reason="网点停电")
    with pytest.raises(Conflict):
        services.appointment_book(user=u, slot_id=closed.pk, actor=me(u))
    assert not Booking.objects.filter(user=u).exists()


def test_non_counter_slot_is_not_found(city):
    from jiaoguan.bookings import services as engine

    r = engine.resource_create(kind="inspection", code="insp:1", name_zh="检测站", name_en="Station", actor=APPROVER)
    other = engine.slot_create(resource=r, starts_at=at(DAY, 9), ends_at=at(DAY, 10), actor=APPROVER,
                               quotas=[engine.QuotaSpec("public", 5)])
    u = citizen()
    with pytest.raises(NotFound):
        services.appointment_book(user=u, slot_id=other.pk, actor=me(u))
    with pytest.raises(NotFound):
        services.appointment_book(user=u, slot_id=999999, actor=me(u))


def test_staff_cannot_book(city):
    from jiaoguan.identity.models import User

    staff = User.objects.create_user(username="clerk1", password=None, role="clerk")
    with pytest.raises(Forbidden):
        services.appointment_book(user=staff, slot_id=city.slot(city.licence, 9).pk, actor=me(staff))


def test_cancel_until_start_then_not(city, clock):
    u = citizen()
    b = services.appointment_book(user=u, slot_id=city.slot(city.licence, 9).pk, actor=me(u))
    b2 = services.appointment_book(user=u, slot_id=city.slot(city.vehicle, 9).pk, actor=me(u))
    assert services.appointment_cancel(user=u, booking_id=b.pk, actor=me(u)).status == Booking.Status.CANCELLED
    # the seat is free again and the person may book that service again the same day
    services.appointment_book(user=u, slot_id=city.slot(city.licence, 10).pk, actor=me(u))
    clock.freeze(at(DAY, 9, 0))
    with pytest.raises(Conflict) as e:
        services.appointment_cancel(user=u, booking_id=b2.pk, actor=me(u))
    assert e.value.code == "bookings.cancel_closed"


def test_someone_elses_appointment_is_not_found(city):
    a, b = citizen(), citizen()
    bk = services.appointment_book(user=a, slot_id=city.slot(city.licence, 9).pk, actor=me(a))
    with pytest.raises(NotFound):
        services.appointment_cancel(user=b, booking_id=bk.pk, actor=me(b))
    assert Booking.objects.get(pk=bk.pk).status == Booking.Status.CONFIRMED


def test_attendance_after_start_only(city, clock):
    u, v = citizen(), citizen()
    b = services.appointment_book(user=u, slot_id=city.slot(city.licence, 9).pk, actor=me(u))
    c = services.appointment_book(user=v, slot_id=city.slot(city.licence, 9).pk, actor=me(v))
    with pytest.raises(Conflict):
        services.appointment_mark(booking_id=b.pk, attended=True, actor=CLERK)
    clock.freeze(at(DAY, 9, 5))
    with pytest.raises(Forbidden):
        services.appointment_mark(booking_id=b.pk, attended=True, actor=Actor(id=None, label="x", role="citizen"))
    assert services.appointment_mark(booking_id=b.pk, attended=True, actor=CLERK).status == Booking.Status.ATTENDED
    assert services.appointment_mark(booking_id=c.pk, attended=False, actor=CLERK).status == Booking.Status.NO_SHOW


# --- enterprise batches --------------------------------------------------------------------------------------------

def test_batch_books_all(city):
    user, cars = enterprise_user()
    items = [services.BatchItem(city.slot(city.vehicle, 9).pk, cars[0].pk),
             services.BatchItem(city.slot(city.vehicle, 9).pk, cars[1].pk),
             services.BatchItem(city.slot(city.vehicle, 10).pk, cars[2].pk)]
    batch, booked = services.batch_book(user=user, items=items, actor=me(user))
    assert [b.subject for b in booked] == [f"vehicle:{c.pk}" for c in cars]
    assert all(b.status == "confirmed" and b.meta["batch"] == batch.reference for b in booked)
    assert batch.booking_ids == [b.pk for b in booked] and batch.items == 3
    assert AuditEntry.objects.filter(action="booking.confirm").count() == 3  # each item audited
    assert AuditEntry.objects.filter(action="counters.batch_book", object_id=str(batch.pk)).exists()


def test_batch_all_or_nothing(city):
    user, cars = enterprise_user(vehicles=4)
    slot = city.slot(city.vehicle, 9)  # 3 windows
    stranger = make_foreign_vehicle()
    before = (Booking.objects.count(), AuditEntry.objects.count(), EnterpriseBatch.objects.count())
    items = [services.BatchItem(slot.pk, c.pk) for c in cars] + [services.BatchItem(slot.pk, stranger.pk)]
    with pytest.raises(services.BatchRefused) as e:
        services.batch_book(user=user, items=items, actor=me(user))
    codes = {i: x.code for i, x in e.value.items}
    assert codes == {3: "bookings.full", 4: "core.not_found"}
    body = e.value.as_dict("en")
    assert body["code"] == "counters.batch_refused" and [x["index"] for x in body["items"]] == [3, 4]
    assert (Booking.objects.count(), AuditEntry.objects.count(), EnterpriseBatch.objects.count()) == before


def test_batch_rules(city):
    user, cars = enterprise_user(vehicles=1)
    with pytest.raises(Forbidden):
        services.batch_book(user=citizen(), items=[services.BatchItem(1, cars[0].pk)], actor=APPROVER)
    with pytest.raises(InvalidInput):
        services.batch_book(user=user, items=[], actor=me(user))
    with pytest.raises(InvalidInput):
        services.batch_book(user=user, items=[services.BatchItem(1, cars[0].pk)] * (services.MAX_BATCH + 1),
                            actor=me(user))
    # an in-person service cannot be batch-booked; the same vehicle twice the same day is refused
    with pytest.raises(services.BatchRefused) as e:
        services.batch_book(user=user, items=[services.BatchItem(city.slot(city.licence, 9).pk, cars[0].pk)],
                            actor=me(user))
    assert e.value.items[0][1].code == "counters.not_vehicle_service"
    with pytest.raises(services.BatchRefused) as e:
        services.batch_book(user=user, items=[services.BatchItem(city.slot(city.vehicle, 9).pk, cars[0].pk),
                                              services.BatchItem(city.slot(city.vehicle, 14).pk, cars[0].pk)],
                            actor=me(user))
    assert [i for i, _ in e.value.items] == [1] and e.value.items[0][1].code == "bookings.duplicate"
    assert not Booking.objects.exists()


def make_foreign_vehicle():
    from tests.factories import make_vehicle

    v = make_vehicle(owner=None)
    v.owner_uscc = "91440300MA5G999999"
    v.save(update_fields=["owner_uscc"])
    return v


def test_enterprise_vehicles_selector(city):
    user, cars = enterprise_user(uscc=USCC, vehicles=2)
    make_foreign_vehicle()
    assert [v.pk for v in selectors.enterprise_vehicles(enterprise=user.enterprise)] == sorted(
        [c.pk for c in cars], key=lambda pk: next(c.plate for c in cars if c.pk == pk))
