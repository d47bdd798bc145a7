"""Booking days, booking by plate, exemptions, delays, cancellations and no-shows (DOMAIN §6)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiaoguan.bookings.models import Booking, Penalty, Quota
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.eastern import selectors, services
from jiaoguan.eastern.models import AreaBooking, BookingDay
from jiaoguan.registry.models import Vehicle
from tests.eastern.conftest import MANAGER, bind_other, make_area, make_day, slots_of
from tests.factories import make_person, make_vehicle
from tests.portal.support import citizen, register

pytestmark = pytest.mark.django_db


def book(user, day, *, slot=0, **kw):
    kw.setdefault("actor", Actor.of(user))
    return services.booking_create(user=user, area_code=day.area.code, date=day.date,
                                   slot_id=slots_of(day)[slot].pk, **kw)


def citizen_with(**vehicle):
    """A registered citizen owning one vehicle made with ``vehicle`` (made before registering: own vehicles are
    bound when the account is made)."""
    seats = vehicle.pop("seats", None)
    person = make_person(name="周九")
    car = make_vehicle(owner=person, **vehicle)
    if seats is not None:
        Vehicle.objects.filter(pk=car.pk).update(seats=seats)
    return register(person), car


def nothing_written():
    return AreaBooking.objects.count() == 0 and Booking.objects.count() == 0


# --- days ----------------------------------------------------------------------------------------------------------

def test_day_splits_quota_across_slots_with_merchant_share(area):
    day = make_day(area, daily=40_000, merchant=10_000, slots=6, first=dt.time(6, 0), minutes=120)
    rows = list(Quota.objects.filter(slot__resource=area.resource).values_list("slot_id", "name", "capacity"))
    assert sum(c for _, n, c in rows if n == "public") == 30_000
    assert sum(c for _, n, c in rows if n == "merchant") == 10_000
    slots = slots_of(day)
    assert len(slots) == 6
    assert all(s.period_key == "2026-test-holiday" for s in slots)
    assert [timezone.localtime(s.starts_at).hour for s in slots] == [6, 8, 10, 12, 14, 16]


def test_day_refusals(area):
    tomorrow = clock.today() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as e:
        services.day_create(area=area, date=clock.today(), actor=MANAGER, spec=services.DaySpec(10, 0))
    assert "date" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        services.day_create(area=area, date=tomorrow, actor=MANAGER, spec=services.DaySpec(10, 11))
    assert "merchant_quota" in e.value.fields
    with pytest.raises(InvalidInput):
        services.day_create(area=area, date=tomorrow, actor=MANAGER,
                            spec=services.DaySpec(10, 0, first_slot=dt.time(20, 0), slots=3))
    with pytest.raises(Forbidden):
        services.day_create(area=area, date=tomorrow, actor=Actor(id=1, label="c", role="clerk"),
                            spec=services.DaySpec(10, 0))
    make_day(area, date=tomorrow)
    with pytest.raises(Conflict):
        make_day(area, date=tomorrow)
    assert BookingDay.objects.count() == 1


# --- booking -------------------------------------------------------------------------------------------------------

def test_book_own_car(day):
    user, _, _, car = citizen()
    ab = book(user, day, vehicle_id=car.pk)
    assert ab.booking.status == Booking.Status.CONFIRMED
    assert ab.booking.party == f"plate:{car.plate}"
    assert ab.booking.exclusive_key == f"eastern:{day.date.isoformat()}:{car.plate}"
    assert ab.booking.quota.name == "public"
    assert ab.entry_ends_at == slots_of(day)[0].ends_at
    assert selectors.day_slots(day=day)[0].public_free == 14


def test_book_by_typing_own_local_plate(day):
    user, _, _, car = citizen()
    ab = book(user, day, plate=car.plate)
    assert ab.vehicle_id == car.pk


def test_book_bound_vehicle_of_someone_else(day):
    owner = make_person(name="王五")
    car = make_vehicle(owner=owner)
    user, _, _, _ = citizen(vehicle=False)
    bind_other(user, car)
    assert book(user, day, vehicle_id=car.pk).plate == car.plate


def test_my_vehicle_summaries_lists_own_then_bound_vehicles_for_booking_and_choices(day):
    # one list of the citizen's vehicles, read by the booking (services) and the form's choices (selectors)
    user, own = citizen_with()
    other = make_vehicle(owner=make_person(name="王五"))
    bind_other(user, other)
    summaries = services.my_vehicle_summaries(user=user)
    assert [(s.vehicle_id, s.plate) for s in summaries] == [(own.pk, own.plate), (other.pk, other.plate)]
    assert [c.vehicle.vehicle_id for c in selectors.my_vehicle_choices(user=user)] == [own.pk, other.pk]
    assert services.my_vehicle_summaries(user=citizen(vehicle=False)[0]) == []


def test_another_persons_vehicle_is_404_and_nothing_written(day):
    user, _, _, _ = citizen()
    stranger = make_vehicle(owner=make_person(name="赵六"))
    with pytest.raises(NotFound):
        book(user, day, vehicle_id=stranger.pk)
    with pytest.raises(NotFound):
        book(user, day, plate=stranger.plate)
    assert nothing_written()


def test_car_from_another_city_by_typed_plate(day):
    user, _, _, _ = citizen(vehicle=False)
    ab = book(user, day, plate="湘A12345", plate_type="02")
    assert ab.vehicle_id is None and ab.plate == "湘A12345"
    with pytest.raises(InvalidInput):  # a large-vehicle plate cannot be typed
        book(user, day, slot=1, plate="湘A54321", plate_type="01")
    with pytest.raises(Conflict) as e:  # one typed plate per account and day
        book(user, day, slot=1, plate="湘A54321", plate_type="02")
    assert e.value.code == "eastern.typed_limit"


def test_ten_seats_refused(day):
    user, van = citizen_with(seats=11)
    with pytest.raises(InvalidInput) as e:
        book(user, day, vehicle_id=van.pk)
    assert e.value.code == "eastern.too_many_seats"
    assert nothing_written()


@pytest.mark.parametrize("kind,use", [("bus", "passenger_commercial"), ("truck", "freight"),
                                      ("small_car", "taxi"), ("small_car", "official")])
def test_exempt_vehicles_need_no_booking(day, kind, use):
    user, car = citizen_with(kind=kind, use=use)
    with pytest.raises(InvalidInput) as e:
        book(user, day, vehicle_id=car.pk)
    assert e.value.code == "eastern.exempt"
    assert "无需预约" in e.value.zh
    assert nothing_written()


def test_registered_local_vehicle_needs_no_booking(day):
    user, _, _, car = citizen()
    services.exemption_add(area=day.area, plate=car.plate, reason="南澳居民", valid_until=day.date, actor=MANAGER)
    with pytest.raises(InvalidInput) as e:
        book(user, day, vehicle_id=car.pk)
    assert e.value.code == "eastern.exempt"
    other = make_area("meisha", "盐田梅沙", "Yantian Meisha")
    other_day = make_day(other)
    assert book(user, other_day, vehicle_id=car.pk)  # the list is per area


def test_one_booking_per_plate_per_day_across_areas(day):
    user, _, _, car = citizen()
    book(user, day, vehicle_id=car.pk)
    other_day = make_day(make_area("meisha", "盐田梅沙", "Yantian Meisha"), date=day.date)
    with pytest.raises(Conflict) as e:
        book(user, other_day, vehicle_id=car.pk)
    assert e.value.code == "bookings.duplicate"
    with pytest.raises(Conflict):
        book(user, day, slot=1, vehicle_id=car.pk)
    assert AreaBooking.objects.count() == 1


def test_full_slot(area):
    day = make_day(area, daily=2, merchant=1, slots=1)
    u1, _, _, c1 = citizen()
    u2, _, _, c2 = citizen()
    book(u1, day, vehicle_id=c1.pk)
    with pytest.raises(Conflict) as e:
        book(u2, day, vehicle_id=c2.pk)
    assert e.value.code == "bookings.full"
    assert AreaBooking.objects.count() == 1


def test_slot_in_the_past_and_wrong_slot(day, clock):
    user, _, _, car = citizen()
    clock.freeze(slots_of(day)[0].starts_at + dt.timedelta(minutes=5))
    with pytest.raises(InvalidInput) as e:
        book(user, day, slot=0, vehicle_id=car.pk)
    assert e.value.code == "bookings.slot_past"
    other_day = make_day(make_area("meisha", "盐田梅沙", "Yantian Meisha"), date=day.date + dt.timedelta(days=1))
    with pytest.raises(NotFound):  # a slot of another area
        services.booking_create(user=user, area_code=day.area.code, date=day.date,
                                slot_id=slots_of(other_day)[0].pk, vehicle_id=car.pk, actor=Actor.of(user))
    with pytest.raises(InvalidInput) as e:  # a date that needs no booking
        services.booking_create(user=user, area_code=day.area.code, date=day.date + dt.timedelta(days=3),
                                slot_id=slots_of(day)[1].pk, vehicle_id=car.pk, actor=Actor.of(user))
    assert e.value.code == "eastern.no_booking_day"
    assert nothing_written()


# --- delay, cancel, penalties ----------------------------------------------------------------------------------------

def test_delay_once_before_the_slot_ends(day, clock):
    user, _, _, car = citizen()
    ab = book(user, day, vehicle_id=car.pk)
    clock.freeze(ab.slot_ends_at - dt.timedelta(minutes=10))
    ab = services.booking_delay(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    assert ab.entry_ends_at == ab.slot_ends_at + dt.timedelta(hours=6)
    with pytest.raises(Conflict) as e:
        services.booking_delay(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    assert e.value.code == "eastern.delay_once"


def test_delay_too_late_or_not_mine(day, clock):
    user, _, _, car = citizen()
    other, _, _, _ = citizen()
    ab = book(user, day, vehicle_id=car.pk)
    with pytest.raises(NotFound):
        services.booking_delay(user=other, area_booking_id=ab.pk, actor=Actor.of(other))
    clock.freeze(ab.slot_ends_at)
    with pytest.raises(Conflict) as e:
        services.booking_delay(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    assert e.value.code == "eastern.delay_too_late"


def test_three_cancellations_lose_the_holiday_for_the_plate(area):
    day1 = make_day(area, slots=3)
    day2 = make_day(area, date=day1.date + dt.timedelta(days=1), slots=3)  # the same holiday (period key)
    owner, person, _, car = citizen()
    for i in range(3):
        ab = book(owner, day1, slot=i, vehicle_id=car.pk)
        services.booking_cancel(user=owner, area_booking_id=ab.pk, actor=Actor.of(owner))
    assert selectors.plate_penalties(plate=car.plate)
    # another account that bound the car is refused too: penalties follow the plate
    family, _, _, _ = citizen(vehicle=False)
    bind_other(family, car)
    with pytest.raises(Forbidden) as e:
        book(family, day2, vehicle_id=car.pk)
    assert e.value.code == "bookings.banned"
    # a later holiday is fine
    later = make_day(area, date=day1.date + dt.timedelta(days=30), period_key="2026-other")
    assert book(owner, later, vehicle_id=car.pk)


def test_three_no_shows_blacklist_for_the_year(area, clock):
    clock.freeze(dt.date(clock.today().year, 3, 2))
    owner, _, _, car = citizen()
    start = clock.today()
    days = [make_day(area, date=start + dt.timedelta(days=1 + i), period_key=f"p{i}") for i in range(5)]
    for d in days[:3]:
        book(owner, d, vehicle_id=car.pk)
    clock.freeze(days[2].date + dt.timedelta(days=1))
    assert services.no_shows_mark() == 3
    assert Booking.objects.filter(status=Booking.Status.NO_SHOW).count() == 3
    assert Penalty.objects.filter(party=f"plate:{car.plate}", kind="eastern").exists()
    with pytest.raises(Forbidden) as e:  # another holiday, the same year
        book(owner, days[4], vehicle_id=car.pk)
    assert e.value.code == "bookings.banned"


def test_no_show_sweep_marks_entered_cars_attended_and_waits_for_the_grace(day, clock):
    u1, _, _, c1 = citizen()
    u2, _, _, c2 = citizen()
    a1 = book(u1, day, vehicle_id=c1.pk)
    a2 = book(u2, day, vehicle_id=c2.pk)
    AreaBooking.objects.filter(pk=a1.pk).update(entered_at=a1.starts_at + dt.timedelta(minutes=1))
    clock.freeze(a1.entry_ends_at + dt.timedelta(minutes=5))
    assert services.no_shows_mark() == 0  # within the grace period
    clock.freeze(a1.entry_ends_at + dt.timedelta(hours=2))
    assert services.no_shows_mark() == 2
    assert Booking.objects.get(pk=a1.booking_id).status == Booking.Status.ATTENDED
    assert Booking.objects.get(pk=a2.booking_id).status == Booking.Status.NO_SHOW
    assert services.no_shows_mark() == 0


# --- merchants --------------------------------------------------------------------------------------------------

def merchant_user():
    from jiaoguan.identity.models import Enterprise, User

    ent = Enterprise.objects.create(name="南澳海景酒店", uscc="91440300MA5EXAMPLE", created_at=clock.now())
    return User.objects.create(username="hotel001", role="enterprise", enterprise=ent, date_joined=clock.now())


def test_merchant_books_guests_plates_from_merchant_quota(day):
    hotel = merchant_user()
    guest = make_vehicle(owner=make_person(name="钱七"))
    bus = make_vehicle(owner=make_person(name="孙八"), kind="bus", use="passenger_commercial")
    results = services.merchant_book(user=hotel, area_code=day.area.code, date=day.date,
                                     slot_id=slots_of(day)[0].pk, actor=Actor.of(hotel),
                                     plates=[(guest.plate, ""), ("湘A88888", "02"), (bus.plate, ""),
                                             ("粤B00000", "02")])
    ok = [r for r in results if r.booking]
    assert [r.plate for r in ok] == [guest.plate, "湘A88888"]
    assert {r.booking.booking.quota.name for r in ok} == {"merchant"}
    assert [r.error.code for r in results if r.error] == ["eastern.exempt", "eastern.unknown_plate"]
    v = selectors.day_slots(day=day)[0]
    assert (v.merchant_free, v.public_free) == (3, 15)


def test_citizens_cannot_use_the_merchant_quota(day):
    user, _, _, car = citizen()
    with pytest.raises(Forbidden):
        services.merchant_book(user=user, area_code=day.area.code, date=day.date, slot_id=slots_of(day)[0].pk,
                               plates=[(car.plate, "")], actor=Actor.of(user))


# --- typed plates cannot be used to get a stranger's car banned (review fix) -----------------------------------

def test_typed_plate_no_shows_fall_on_the_booker_not_the_plate(area, clock):
    """Anyone may type a plate from another city; if the plate answered for the booking, a stranger could book a
    car that is not theirs on three days, not come, and get it blacklisted for the year."""
    clock.freeze(dt.date(clock.today().year, 3, 2))
    griefer, _, _, _ = citizen(vehicle=False)
    start = clock.today()
    days = [make_day(area, date=start + dt.timedelta(days=1 + i), period_key=f"p{i}") for i in range(6)]
    for d in days[:3]:
        ab = book(griefer, d, plate="湘A12345", plate_type="02")
        assert ab.booking.party == f"person:{griefer.person_id}"
    clock.freeze(days[2].date + dt.timedelta(days=1))
    assert services.no_shows_mark() == 3
    assert not Penalty.objects.filter(party="plate:湘A12345").exists()
    assert Penalty.objects.filter(party=f"person:{griefer.person_id}", kind="eastern").exists()
    # the real driver (another account) can still book the car; the griefer cannot book anything
    driver, _, _, _ = citizen(vehicle=False)
    assert book(driver, days[4], plate="湘A12345", plate_type="02")
    with pytest.raises(Forbidden) as e:
        book(griefer, days[5], plate="湘B54321", plate_type="02")
    assert e.value.code == "bookings.banned"


def test_typed_plate_still_refused_when_the_plate_itself_is_banned(area, clock):
    from jiaoguan.bookings.models import PenaltyRule

    d = make_day(area)
    rule = PenaltyRule.objects.filter(kind="eastern").first()
    Penalty.objects.create(party="plate:湘A12345", kind="eastern", rule=rule, period_key="", starts_at=clock.now(),
                           ends_at=clock.now() + dt.timedelta(days=300), reason_zh="3次未按预约通行",
                           reason_en="3 no-shows", created_at=clock.now())
    user, _, _, _ = citizen(vehicle=False)
    with pytest.raises(Forbidden) as e:
        book(user, d, plate="湘A12345", plate_type="02")
    assert e.value.code == "eastern.plate_banned"
    assert nothing_written()
