"""A booking rush with refusals under real parallel connections (PostgreSQL; issue 12 §2): citizens who each try
two slots of the same day at once, banned citizens, replays of the same Idempotency-Key, and more people than
seats. Refusals that need no lock are answered before it; the check under the lock still decides. Afterwards:
no slot over its seats, nobody with two live bookings for the day, no banned citizen booked, every 201 a live
booking, and every booked citizen told once (inbox) by the outbox after commit."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import LIVE_BOOKING, Booking, Penalty
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.models import AuditEntry
from jiaoguan.counters import services
from jiaoguan.notifications.models import Message
from tests.concurrency import in_threads
from tests.counters.conftest import citizen

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PEOPLE, BANNED = 40, 4
TIMES = [(9, 0), (9, 30), (10, 0), (10, 30)]  # 4 slots × 2 windows = 8 seats, all on one day


def test_rush_with_refusals_never_oversells_nor_double_books_a_day(city):
    slots = [city.slot(city.licence, hh, mm).pk for hh, mm in TIMES]
    people = [citizen() for _ in range(PEOPLE)]
    now = clock.now()
    for p in people[:BANNED]:
        Penalty.objects.create(party=f"person:{p.person_id}", kind="counter", reason_zh="3次取消预约",
                               reason_en="3 × cancellation", starts_at=now - dt.timedelta(hours=1),
                               ends_at=now + dt.timedelta(days=30), created_at=now)
    # each person: two different slots of the same day at once, and the first attempt sent twice (a replay)
    plan = [(p, slots[i % 4], f"rush-{i:04d}-a") for i, p in enumerate(people)]
    plan += [(p, slots[(i + 1) % 4], f"rush-{i:04d}-b") for i, p in enumerate(people)]
    plan += [(p, slots[i % 4], f"rush-{i:04d}-a") for i, p in enumerate(people[:10])]

    def attempt(i):
        user, slot_id, key = plan[i]
        status, body = once_for(user, "counter-book", key=key, fingerprint=str(slot_id), run=lambda: (
            201, {"id": services.appointment_book(user=user, slot_id=slot_id, actor=Actor.of(user)).pk}))
        return body["id"]

    results = in_threads(len(plan), attempt, pool=30)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, (Conflict, Forbidden))]
    assert not unexpected, unexpected[:3]
    codes = {r.code for r in results if isinstance(r, (Conflict, Forbidden))}
    assert codes <= {"bookings.full", "bookings.duplicate", "bookings.banned", "core.busy"}, codes
    booked_ids = {r for r in results if isinstance(r, int)}
    live = Booking.objects.filter(slot_id__in=slots, status__in=LIVE_BOOKING)
    assert live.count() == len(booked_ids) == 8  # every seat sold (36 eligible people for 8), none oversold
    for s in slots:
        assert live.filter(slot_id=s).count() == 2
    assert sorted(live.values_list("pk", flat=True)) == sorted(booked_ids)
    per_person = {}
    for user_id in live.values_list("user_id", flat=True):
        per_person[user_id] = per_person.get(user_id, 0) + 1
    assert max(per_person.values()) == 1  # nobody with two live bookings for the day
    assert not live.filter(user__in=people[:BANNED]).exists()
    # a replay is answered with the first result: two answers that booked name the same booking (a refusal
    # stores nothing, so a replay after a refusal is evaluated afresh)
    for i in range(10):
        first, replay = results[i], results[2 * PEOPLE + i]
        if isinstance(first, int) and isinstance(replay, int):
            assert first == replay, (first, replay)
    assert AuditEntry.objects.filter(action="booking.confirm", object_id__in=[str(b) for b in booked_ids]).count() == 8
    told = Message.objects.filter(template_code="booking.confirmed", channel="inbox")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(live.values_list("user_id", flat=True))
