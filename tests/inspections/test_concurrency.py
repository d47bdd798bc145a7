"""Concurrency on PostgreSQL with real parallel connections: the last seats of a slot, one live booking per
vehicle, one mark per due point."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import Booking, Slot
from jiaoguan.core.errors import DomainError
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking, InspectionMark
from tests.concurrency import in_threads
from tests.inspections.conftest import SYS, first_slot, make_station, owner

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_twelve_owners_three_seats():
    station = make_station("race", lanes=3, days=1)
    slot = first_slot(station)
    owners = [owner(name=f"抢{i}号") for i in range(12)]
    results = in_threads(12, lambda i: services.inspection_book(user=owners[i][0], vehicle_id=owners[i][1].pk,
                                                                slot_id=slot.pk, actor=SYS))
    ok = [r for r in results if isinstance(r, InspectionBooking)]
    assert len(ok) == 3, results
    assert all(isinstance(r, DomainError) and r.code == "bookings.full" for r in results if r not in ok)
    assert Booking.objects.filter(slot=slot).count() == 3 == InspectionBooking.objects.count()


def test_one_vehicle_two_slots_at_once():
    station = make_station("twice", lanes=5, days=1)
    slots = list(Slot.objects.filter(resource=station.resource).order_by("starts_at")[:4])
    user, car = owner()
    results = in_threads(4, lambda i: services.inspection_book(user=user, vehicle_id=car.pk, slot_id=slots[i].pk,
                                                               actor=SYS))
    assert sum(isinstance(r, InspectionBooking) for r in results) == 1, results
    assert Booking.objects.filter(status__in=("held", "confirmed")).count() == 1


def test_two_mark_applications_at_once_issue_one_mark():
    user, car = owner(years=4)
    old_due = car.inspection_due
    results = in_threads(4, lambda i: services.mark_apply(user=user, vehicle_id=car.pk, actor=SYS))
    assert sum(isinstance(r, InspectionMark) for r in results) == 1, results
    car.refresh_from_db()
    mark = InspectionMark.objects.get()
    assert mark.due_covered == old_due and car.inspection_due == mark.valid_until  # moved exactly once


def test_the_sweep_and_the_owner_at_once_issue_one_mark():
    """永不脱检's daily sweep runs while the owner applies for the same mark: one mark, the due date moved once, one
    parcel at most (only for the sweep's mark)."""
    from jiaoguan.postal.models import Shipment

    for _ in range(5):
        user, car = owner(years=4, name="并发检")
        old_due = car.inspection_due
        def act(i: int, user=user, car=car):
            return services.mark_apply(user=user, vehicle_id=car.pk, actor=SYS) if i == 0 else \
                services.marks_auto_issue()

        results = in_threads(2, act)
        marks = InspectionMark.objects.filter(vehicle=car)
        assert marks.count() == 1, results
        car.refresh_from_db()
        assert marks.get().due_covered == old_due and car.inspection_due == marks.get().valid_until
        swept = results[1] == 1
        assert isinstance(results[0], InspectionMark) != swept, results  # exactly one of them issued it
        assert Shipment.objects.filter(source_type=services.MARK_SOURCE,
                                       source_id=str(marks.get().pk)).exists() == swept
