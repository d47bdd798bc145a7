"""PostgreSQL with real parallel connections: one booking per plate per day, even at once."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.eastern import services
from jiaoguan.eastern.models import AreaBooking
from tests.concurrency import in_threads
from tests.eastern.conftest import bind_other, make_area, make_day, slots_of
from tests.portal.support import citizen

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_same_plate_booked_twice_at_once_gives_one():
    area = make_area()
    day = make_day(area, slots=2)
    other_day = make_day(make_area("meisha", "盐田梅沙", "Yantian Meisha"), date=day.date)
    owner, _, _, car = citizen()
    family, _, _, _ = citizen(vehicle=False)
    bind_other(family, car)
    users = [owner, family, owner, family]
    targets = [(day, 0), (day, 1), (other_day, 0), (other_day, 1)]

    def attempt(i):
        d, s = targets[i]
        return services.booking_create(user=users[i], area_code=d.area.code, date=d.date,
                                       slot_id=slots_of(d)[s].pk, vehicle_id=car.pk, actor=Actor.of(users[i])).pk

    results = in_threads(4, attempt)
    ok = [r for r in results if isinstance(r, int)]
    assert len(ok) == 1, results
    assert all(isinstance(r, DomainError) and r.code == "bookings.duplicate" for r in results if r not in ok), results
    assert AreaBooking.objects.count() == 1
    assert Booking.objects.filter(status="confirmed").count() == 1


def test_last_seat_many_plates_at_once():
    area = make_area()
    day = make_day(area, daily=4, merchant=0, slots=1)
    people = [citizen() for _ in range(10)]

    def attempt(i):
        user, _, _, car = people[i]
        return services.booking_create(user=user, area_code=area.code, date=day.date, slot_id=slots_of(day)[0].pk,
                                       vehicle_id=car.pk, actor=Actor.of(user)).pk

    results = in_threads(10, attempt)
    assert sum(1 for r in results if isinstance(r, int)) == 4, results
    assert AreaBooking.objects.count() == 4 == Booking.objects.count()
