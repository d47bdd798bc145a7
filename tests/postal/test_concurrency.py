"""Real parallel connections (PostgreSQL): the same shipment requested twice at once is created and booked once;
the same carrier event delivered twice at once moves the shipment once; a burst of events never moves it back."""
from __future__ import annotations

import pytest

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.postal import services
from jiaoguan.postal.models import Shipment, ShipmentEvent, SimParcel
from jiaoguan.postal.simulator import sim_callback
from tests.concurrency import in_threads
from tests.postal.conftest import HANDLER, make_shipment, parcel_of

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def changed_events():
    return list(OutboxEvent.objects.filter(topic=services.TOPIC, handler=HANDLER).order_by("pk")
                .values_list("payload", flat=True))


def test_two_identical_creates_at_once_make_one_shipment(listener):
    results = in_threads(2, lambda i: make_shipment(source_id="SAME-1"))
    assert all(isinstance(r, Shipment) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Shipment.objects.count() == 1 and SimParcel.objects.count() == 1
    s = Shipment.objects.get()
    assert s.status == "accepted" and s.tracking_number
    assert AuditEntry.objects.filter(action="shipment.create").count() == 1
    assert [p["status"] for p in changed_events()] == ["accepted"]
    assert audit_verify().ok


def test_many_identical_creates_at_once(listener):
    results = in_threads(8, lambda i: make_shipment(source_id="SAME-8"))
    assert len({r.pk for r in results if isinstance(r, Shipment)}) == 1, results
    assert Shipment.objects.count() == 1 and SimParcel.objects.count() == 1


def test_the_same_event_twice_at_once_moves_once(quiet, listener):
    s = make_shipment()
    parcel = parcel_of(s)
    copies = [sim_callback(parcel, "delivered", event_id="EV-SAME") for _ in range(2)]  # two nonces, one event
    results = in_threads(2, lambda i: services.callback_receive(carrier="sim", body=copies[i][0],
                                                                headers=copies[i][1]))
    assert sorted(results) == ["applied", "duplicate"], results
    s.refresh_from_db()
    assert s.status == "delivered"
    assert ShipmentEvent.objects.filter(shipment=s, status="delivered").count() == 1
    assert [p["status"] for p in changed_events()] == ["accepted", "delivered"]
    assert AuditEntry.objects.filter(action="shipment.delivered").count() == 1


def test_the_same_signed_callback_twice_at_once_is_applied_once(quiet, listener):
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit")
    results = in_threads(2, lambda i: services.callback_receive(carrier="sim", body=body, headers=headers))
    assert sorted(type(r).__name__ for r in results) == ["Unauthenticated", "str"], results
    assert [r for r in results if isinstance(r, str)] == ["applied"]
    assert Shipment.objects.get(pk=s.pk).status == "in_transit"
    assert [p["status"] for p in changed_events()] == ["accepted", "in_transit"]


def test_a_burst_of_events_ends_at_the_furthest_step(quiet, listener):
    s = make_shipment()
    parcel = parcel_of(s)
    statuses = ["in_transit", "out_for_delivery", "delivered", "in_transit", "out_for_delivery", "accepted"]
    calls = [sim_callback(parcel, st) for st in statuses]
    results = in_threads(len(calls), lambda i: services.callback_receive(carrier="sim", body=calls[i][0],
                                                                         headers=calls[i][1]))
    assert set(results) <= {"applied", "recorded"}, results
    s.refresh_from_db()
    assert s.status == "delivered"
    moves = [p["status"] for p in changed_events()][1:]
    assert len(moves) == results.count("applied") and moves[-1] == "delivered"
    ranks = {"accepted": 1, "in_transit": 2, "out_for_delivery": 3, "delivered": 4}
    assert [ranks[m] for m in moves] == sorted(ranks[m] for m in moves) and len(set(moves)) == len(moves)
    assert audit_verify().ok
