"""Concurrency on PostgreSQL with real parallel connections (tests.concurrency.in_threads): a number is held by
exactly one of many people choosing it at once; expired holds are released exactly once by parallel sweeps;
many people drawing and holding at once never share a number."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.plates import services
from jiaoguan.plates.models import PlateNumber
from tests.concurrency import in_threads
from tests.plates.conftest import SYSTEM, new_office, owner_with_new_car

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pool():
    office = new_office(batch_size=5, redraws=1)
    services.plate_pool_generate(office=office, kind="02", series="A00##", actor=SYSTEM, seed=3)
    return office


def selections(n):
    out = []
    for _ in range(n):
        user, car = owner_with_new_car()
        out.append((user, services.selection_start(user=user, vehicle_id=car.pk)))
    return out


@pytest.mark.parametrize("people", [2, 20])
def test_same_number_at_once_one_holder(pool, people):
    sels = selections(people)
    number = "粤BA0042"
    results = in_threads(people, lambda i: services.selection_hold(user=sels[i][0], selection_id=sels[i][1].pk,
                                                                   number=number).held_by_id)
    wins = [r for r in results if isinstance(r, int)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == people - 1, results
    assert all(e.code == "plates.taken" for e in losses)
    row = PlateNumber.objects.get(number=number)
    assert row.status == "held" and row.held_by_id == wins[0]
    assert AuditEntry.objects.filter(action="plates.hold").count() == 1


def test_composed_new_number_at_once_one_holder(pool):
    sels = selections(8)
    number = "粤B7K777"  # not in the pool: the first to hold it creates the row
    results = in_threads(8, lambda i: services.selection_hold(user=sels[i][0], selection_id=sels[i][1].pk,
                                                              number=number).held_by_id)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert PlateNumber.objects.filter(number=number).count() == 1


def test_expired_holds_released_exactly_once_by_parallel_sweeps(pool):
    sels = selections(6)
    for i, (user, sel) in enumerate(sels):
        services.selection_hold(user=user, selection_id=sel.pk, number=f"粤BA00{10 + i}")
    clock.advance(dt.timedelta(minutes=20))
    try:
        counts = in_threads(4, lambda i: services.plates_release_expired(chunk=2))
    finally:
        clock.reset()
    assert all(isinstance(c, int) for c in counts), counts
    assert sum(counts) == 6
    assert AuditEntry.objects.filter(action="plates.hold_expire").count() == 6
    assert not PlateNumber.objects.filter(status="held").exists()


def test_many_draw_and_hold_at_once_never_share(pool):
    sels = selections(12)

    def go(i):
        user, sel = sels[i]
        sel = services.selection_draw(user=user, selection_id=sel.pk, ip=f"10.0.0.{i}")
        for number in sel.offered:
            try:
                return services.selection_hold(user=user, selection_id=sel.pk, number=number).number
            except Conflict:
                continue
        return None

    results = in_threads(12, go)
    held = [r for r in results if isinstance(r, str)]
    assert len(held) == len(set(held))
    assert PlateNumber.objects.filter(status="held").count() == len(held)
