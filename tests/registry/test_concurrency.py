"""Contended registry writes with real parallel connections (PostgreSQL): lock, then check, then write."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import outbox
from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.registry import services
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle
from tests.concurrency import in_threads
from tests.factories import make_licence, make_person, make_vehicle, unique_id_number

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
CLERK = Actor(id=1, label="clerk", role="clerk")




def test_two_clerks_suspend_the_same_licence_once():
    licence = make_licence(person=make_person())
    results = in_threads(4, lambda i: services.licence_suspend(
        licence=DrivingLicence.objects.get(pk=licence.pk), actor=CLERK, reason=f"clerk {i}"))
    assert sum(isinstance(r, DrivingLicence) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3
    assert AuditEntry.objects.filter(action="licence.suspend").count() == 1
    assert audit_verify().ok


def test_the_same_person_created_twice_at_once():
    number = unique_id_number()
    results = in_threads(3, lambda i: services.person_create(name="张三", id_number=number, actor=CLERK))
    assert sum(isinstance(r, Person) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Person))
    assert Person.objects.count() == 1


def test_parallel_issues_get_distinct_file_numbers():
    persons = [make_person(birth=dt.date(1990, 1, 1)) for _ in range(4)]
    results = in_threads(4, lambda i: services.licence_issue(
        person=persons[i], classes="C1", first_issue_date=dt.date(2025, 1, 1), actor=CLERK))
    assert all(isinstance(r, DrivingLicence) for r in results), results
    numbers = {r.file_number for r in results}
    assert len(numbers) == 4
    assert audit_verify().ok


def on_vehicle_event(payload: dict) -> None:
    """A subscriber, so the services write outbox rows in these tests."""


HANDLER = f"{__name__}:on_vehicle_event"


@pytest.fixture
def vehicle_listener(monkeypatch):
    for topic in ("registry.vehicle_owner_changed", "registry.vehicle_status_changed"):
        monkeypatch.setitem(outbox._subscribers, topic, [*outbox.subscribers(topic), HANDLER])


def test_parallel_sales_of_one_car_each_see_the_previous_owner(vehicle_listener):
    seller = make_person()
    buyers = [make_person() for _ in range(3)]
    car = make_vehicle(owner=seller)
    results = in_threads(3, lambda i: services.vehicle_transfer(
        vehicle=Vehicle.objects.get(pk=car.pk), new_owner=buyers[i], actor=CLERK, reason=f"sale {i}"))
    assert all(isinstance(r, Vehicle) for r in results), results
    rows = list(AuditEntry.objects.filter(action="vehicle.transfer").order_by("id"))
    events = [e.payload for e in OutboxEvent.objects.filter(topic="registry.vehicle_owner_changed",
                                                              handler=HANDLER).order_by("id")]
    # locked, then read: each sale starts from the owner the previous one left (no lost update)
    chain = [seller.pk] + [r.new["owner_id"] for r in rows]
    assert [r.old["owner_id"] for r in rows] == chain[:-1]
    assert [(e["old_owner_id"], e["new_owner_id"]) for e in events] == list(zip(chain, chain[1:]))
    assert Vehicle.objects.get(pk=car.pk).owner_id == chain[-1] and set(chain[1:]) == {b.pk for b in buyers}
    assert audit_verify().ok


def test_scrapping_and_selling_at_once(vehicle_listener):
    car = make_vehicle(owner=make_person())
    buyer = make_person()
    results = in_threads(2, lambda i: (
        services.vehicle_set_status(vehicle=Vehicle.objects.get(pk=car.pk), status="scrapped", actor=CLERK, reason="x")
        if i == 0 else
        services.vehicle_transfer(vehicle=Vehicle.objects.get(pk=car.pk), new_owner=buyer, actor=CLERK, reason="x")))
    assert isinstance(results[0], Vehicle)  # scrapping is always possible from normal
    final = Vehicle.objects.get(pk=car.pk)
    assert final.status == "scrapped"
    actions = list(AuditEntry.objects.filter(action__startswith="vehicle.").order_by("id").values_list("action", flat=True))
    if isinstance(results[1], Vehicle):  # the sale came first
        assert actions == ["vehicle.transfer", "vehicle.set_status"] and final.owner_id == buyer.pk
    else:  # the car was scrapped first: no sale of a scrapped car
        assert isinstance(results[1], Conflict) and results[1].code == "registry.vehicle_status"
        assert actions == ["vehicle.set_status"] and final.owner_id != buyer.pk
    assert OutboxEvent.objects.filter(handler=HANDLER).count() == len(actions)


def test_parallel_rollovers_clear_points_once():
    from jiaoguan.core import clock

    lic = make_licence(person=make_person(), first_issue=dt.date(2018, 3, 20), valid_until=None, cycle_points=5,
                       points_cycle_start=dt.date(2020, 3, 20))
    results = in_threads(3, lambda i: services.licences_points_rollover(on=clock.today()))
    assert sum(r["cleared"] for r in results) == 1, results
    assert AuditEntry.objects.filter(action="licence.points_rollover", object_id=str(lic.pk)).count() == 1


def test_two_classes_granted_at_once_to_a_person_with_no_licence():
    """Two permits (C1 and E) complete at the same moment: one first licence with both classes, both in probation —
    the person's row is locked first, so the second grant adds to the licence the first issued."""
    from jiaoguan.core import clock

    person = make_person(birth=dt.date(1995, 5, 5))
    results = in_threads(2, lambda i: services.licence_class_add(
        person=Person.objects.get(pk=person.pk), licence_class=("C1", "E")[i], on=clock.today(), actor=CLERK,
        reason="科目全部合格"))
    assert all(isinstance(r, DrivingLicence) for r in results), results
    licence = DrivingLicence.objects.get(person=person)
    assert licence.classes == "C1 E" and licence.probation_classes == "C1 E"
    assert AuditEntry.objects.filter(action__in=("licence.issue", "licence.class_add")).count() == 2
    assert audit_verify().ok
