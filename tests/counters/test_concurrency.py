"""Counter appointments under real parallel connections (PostgreSQL)."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import LIVE_BOOKING, Booking
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from jiaoguan.counters import services
from jiaoguan.counters.models import EnterpriseBatch
from tests.concurrency import in_threads
from tests.counters.conftest import citizen, enterprise_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_many_citizens_for_the_last_seats(city):
    slot = city.slot(city.vehicle, 9)  # 3 windows
    people = [citizen() for _ in range(40)]
    results = in_threads(40, lambda i: services.appointment_book(user=people[i], slot_id=slot.pk,
                                                                  actor=Actor.of(people[i])))
    booked = [r for r in results if isinstance(r, Booking)]
    full = [r for r in results if isinstance(r, Conflict) and r.code == "bookings.full"]
    assert len(booked) == 3 and len(full) == 37, [r for r in results if not isinstance(r, (Booking, Conflict))]
    assert Booking.objects.filter(slot=slot, status__in=LIVE_BOOKING).count() == 3


def test_same_person_twice_at_once_gets_one(city):
    u = citizen()
    slots = [city.slot(city.licence, 9).pk, city.slot(city.licence, 10).pk]
    results = in_threads(2, lambda i: services.appointment_book(user=u, slot_id=slots[i], actor=Actor.of(u)))
    assert sum(isinstance(r, Booking) for r in results) == 1
    assert Booking.objects.filter(user=u, status__in=LIVE_BOOKING).count() == 1


ROUNDS = [((9, 0), (9, 30)), ((10, 0), (10, 30)), ((11, 0), (11, 30)), ((13, 30), (14, 0)), ((14, 30), (15, 0)),
          ((15, 30), (16, 0))]


@pytest.mark.parametrize("first,second", ROUNDS)
def test_batches_and_citizens_on_the_same_slots_do_not_deadlock(city, first, second):
    """Two enterprise batches over the same two slots in opposite item order, while citizens book the same
    slots: no deadlock (a batch takes all its quota locks first, in one order, before its first audit row), no
    slot over its windows, each batch all or none."""
    a_user, a_cars = enterprise_user(uscc="91440300MA5G00000A", vehicles=2)
    b_user, b_cars = enterprise_user(uscc="91440300MA5G00000B", vehicles=2)
    s1, s2 = city.slot(city.vehicle, *first).pk, city.slot(city.vehicle, *second).pk
    people = [citizen() for _ in range(6)]

    def work(i):
        if i == 0:
            return services.batch_book(user=a_user, items=[services.BatchItem(s1, a_cars[0].pk),
                                                            services.BatchItem(s2, a_cars[1].pk)],
                                       actor=Actor.of(a_user))
        if i == 1:
            return services.batch_book(user=b_user, items=[services.BatchItem(s2, b_cars[0].pk),
                                                            services.BatchItem(s1, b_cars[1].pk)],
                                       actor=Actor.of(b_user))
        p = people[i - 2]
        return services.appointment_book(user=p, slot_id=s2 if i % 2 else s1, actor=Actor.of(p))

    results = in_threads(8, work)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    assert not unexpected, unexpected
    for s in (s1, s2):
        assert Booking.objects.filter(slot_id=s, status__in=LIVE_BOOKING).count() <= 3
    for batch in EnterpriseBatch.objects.all():
        assert Booking.objects.filter(pk__in=batch.booking_ids, status="confirmed").count() == 2
    batch_bookings = Booking.objects.filter(party__startswith="enterprise:").count()
    assert batch_bookings == 2 * EnterpriseBatch.objects.count()


def test_two_batches_sharing_vehicles_on_different_slots_do_not_deadlock(city):
    """Review finding: two batches of one enterprise (e.g. sent from two tabs) over *different* slots but the same
    vehicles, in crossed order. Each inserts one vehicle's key and audits it, then tries the other's key, which
    waits on the other's uncommitted index row while that one waits for the audit head: a deadlock, unless every
    key is locked (in one order) before the first audit row. Exactly one batch wins, the other is a clean 409."""
    user, cars = enterprise_user(vehicles=2)
    s = [city.slot(city.vehicle, hh, mm).pk for hh, mm in ((9, 0), (9, 30), (10, 0), (10, 30))]
    plans = [[services.BatchItem(s[0], cars[0].pk), services.BatchItem(s[2], cars[1].pk)],
             [services.BatchItem(s[1], cars[1].pk), services.BatchItem(s[3], cars[0].pk)]]
    for _ in range(3):
        results = in_threads(2, lambda i: services.batch_book(user=user, items=plans[i], actor=Actor.of(user)))
        unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
        assert not unexpected, unexpected
        assert sum(isinstance(r, tuple) for r in results) <= 1
        assert EnterpriseBatch.objects.count() == 1
        assert Booking.objects.filter(party__startswith="enterprise:", status__in=LIVE_BOOKING).count() == 2
        for b in Booking.objects.filter(party__startswith="enterprise:"):  # the next round starts empty
            b.delete()
        EnterpriseBatch.objects.all().delete()
