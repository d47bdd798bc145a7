"""Carrier status callbacks over HTTP: signatures (missing, forged, unknown key, stale, replayed → 401 and nothing
changed), idempotency, out-of-order events never moving a shipment backwards, final states, bad bodies."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.postal.carriers import sign, signed_headers
from jiaoguan.postal.models import CallbackNonce, Shipment, ShipmentEvent
from jiaoguan.postal.simulator import sim_callback, sim_key_id, sim_keys, simulator_advance
from tests.api.helpers import assert_error
from tests.postal.conftest import deliver, emitted, make_shipment, parcel_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quiet")]


def snapshot(shipment):
    s = Shipment.objects.get(pk=shipment.pk)
    return (s.status, s.updated_at, ShipmentEvent.objects.filter(shipment=s).count(), CallbackNonce.objects.count(),
            AuditEntry.objects.count())


def test_a_signed_callback_moves_the_shipment(listener):
    s = make_shipment(source_id="A1")
    body, headers = sim_callback(parcel_of(s), "in_transit")
    r = deliver(body, headers)
    assert r.status_code == 200 and r.json() == {"result": "applied"}
    s.refresh_from_db()
    assert s.status == "in_transit" and s.in_transit_at is not None
    last = s.events.last()
    assert (last.source, last.location, last.changed) == ("carrier", "深圳邮件处理中心", True)
    assert emitted()[-1] == {"shipment_id": s.pk, "tracking_number": s.tracking_number, "status": "in_transit",
                             "source_type": "applications.application", "source_id": "A1"}
    assert AuditEntry.objects.filter(action="shipment.in_transit", actor_label="carrier:sim").count() == 1


def _tampered(body, headers):
    return {
        "missing everything": (body, {}),
        "no signature": (body, {k: v for k, v in headers.items() if k != "X-Carrier-Signature"}),
        "no nonce": (body, {k: v for k, v in headers.items() if k != "X-Carrier-Nonce"}),
        "no key id": (body, {k: v for k, v in headers.items() if k != "X-Carrier-Key"}),
        "altered body": (body.replace(b"in_transit", b"delivered"), headers),
        "wrong key": (body, {**headers, "X-Carrier-Signature": sign(secret="guess", timestamp=headers[
            "X-Carrier-Timestamp"], nonce=headers["X-Carrier-Nonce"], body=body)}),
        "unknown key id": (body, {**headers, "X-Carrier-Key": "sim-0"}),
        "other nonce": (body, {**headers, "X-Carrier-Nonce": "another-nonce-123"}),
    }


@pytest.mark.parametrize("case", ["missing everything", "no signature", "no nonce", "no key id", "altered body",
                                  "wrong key", "unknown key id", "other nonce"])
def test_unsigned_or_forged_callbacks_are_refused_and_change_nothing(case, listener):
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit")
    bad_body, bad_headers = _tampered(body, headers)[case]
    before, events = snapshot(s), len(emitted())
    body_json = assert_error(deliver(bad_body, bad_headers), 401)
    assert body_json["code"] in {"postal.callback_unsigned", "postal.callback_signature"}
    assert snapshot(s) == before and len(emitted()) == events


def test_a_replayed_callback_is_refused(listener):
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit")
    assert deliver(body, headers).json() == {"result": "applied"}
    before, events = snapshot(s), len(emitted())
    assert_error(deliver(body, headers), 401, "postal.callback_replayed")
    assert snapshot(s) == before and len(emitted()) == events


def test_a_stale_callback_is_refused(clock, settings):
    settings.JIAOGUAN_POSTAL_CALLBACK_MAX_SKEW_SECONDS = 300
    s = make_shipment()
    old = int(clock.now().timestamp()) - 301
    body, headers = sim_callback(parcel_of(s), "in_transit", timestamp=old)
    before = snapshot(s)
    assert_error(deliver(body, headers), 401, "postal.callback_stale")
    future = sim_callback(parcel_of(s), "in_transit", timestamp=int(clock.now().timestamp()) + 360)  # margins: a slow request
    assert_error(deliver(*future), 401, "postal.callback_stale")
    assert snapshot(s) == before
    fresh = sim_callback(parcel_of(s), "in_transit", timestamp=int(clock.now().timestamp()) - 200)
    assert deliver(*fresh).status_code == 200


def test_a_short_nonce_is_refused():
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit", nonce="abc")
    assert_error(deliver(body, headers), 401, "postal.callback_nonce")


def test_a_previous_key_still_verifies_during_rotation(settings):
    settings.JIAOGUAN_POSTAL_SIM_KEY_ID = "sim-2"
    settings.JIAOGUAN_POSTAL_SIM_KEY = "new-secret"
    settings.JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS = {"sim-1": "old-secret"}
    s = make_shipment()
    old = sim_callback(parcel_of(s), "in_transit", key_id="sim-1", secret="old-secret")
    assert deliver(*old).json() == {"result": "applied"}
    new = sim_callback(parcel_of(s), "delivered")
    assert new[1]["X-Carrier-Key"] == "sim-2" and deliver(*new).json() == {"result": "applied"}
    settings.JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS = {}
    s2 = make_shipment()
    assert_error(deliver(*sim_callback(parcel_of(s2), "in_transit", key_id="sim-1", secret="old-secret")), 401)


def test_a_repeated_event_changes_nothing(listener):
    s = make_shipment()
    parcel = parcel_of(s)
    first = sim_callback(parcel, "in_transit", event_id="EV-1")
    again = sim_callback(parcel, "in_transit", event_id="EV-1")  # the carrier re-sends: new nonce, same event
    assert deliver(*first).json() == {"result": "applied"}
    before, events = snapshot(s), len(emitted())
    assert deliver(*again).json() == {"result": "duplicate"}
    after = snapshot(s)
    assert after[:3] == before[:3] and len(emitted()) == events


def test_out_of_order_events_never_move_backwards(listener, clock):
    s = make_shipment()
    parcel = parcel_of(s)
    t0 = clock.now()
    late_transit = sim_callback(parcel, "in_transit", occurred_at=t0 + dt.timedelta(hours=1))
    out = sim_callback(parcel, "out_for_delivery", occurred_at=t0 + dt.timedelta(hours=5))
    delivered = sim_callback(parcel, "delivered", occurred_at=t0 + dt.timedelta(hours=6))
    late_accept = sim_callback(parcel, "accepted", occurred_at=t0)
    assert deliver(*out).json() == {"result": "applied"}  # skipped in_transit
    assert deliver(*late_transit).json() == {"result": "recorded"}
    s.refresh_from_db()
    assert s.status == "out_for_delivery" and s.in_transit_at is None
    assert deliver(*delivered).json() == {"result": "applied"}
    assert deliver(*late_accept).json() == {"result": "recorded"}
    s.refresh_from_db()
    assert s.status == "delivered" and s.delivered_at == t0 + dt.timedelta(hours=6)
    assert [p["status"] for p in emitted()] == ["accepted", "out_for_delivery", "delivered"]
    timeline = [(e.status, e.changed) for e in s.events.order_by("occurred_at", "pk")]
    assert ("in_transit", False) in timeline and timeline[-1] == ("delivered", True)


def test_final_states_are_final(listener):
    s = make_shipment()
    parcel = parcel_of(s)
    assert deliver(*sim_callback(parcel, "returned")).json() == {"result": "applied"}
    assert deliver(*sim_callback(parcel, "delivered")).json() == {"result": "recorded"}
    s.refresh_from_db()
    assert s.status == "returned" and s.returned_at and s.delivered_at is None
    assert emitted()[-1]["status"] == "returned"


def test_a_callback_for_a_booking_whose_answer_was_lost_adopts_the_number(monkeypatch):
    """The carrier booked it, we never heard; its first callback names our reference and its number."""
    from jiaoguan.postal import carriers, simulator
    from jiaoguan.postal.carriers import CarrierError
    from jiaoguan.postal.simulator import SimulatorCarrier

    class Down(SimulatorCarrier):
        def book(self, **kwargs):
            raise CarrierError("postal.down", "不可用", "Unavailable")

    monkeypatch.setitem(carriers._CARRIERS, "sim", Down())
    s = make_shipment()
    monkeypatch.setitem(carriers._CARRIERS, "sim", SimulatorCarrier())
    number = simulator.sim_book(reference=s.reference, item="驾驶证")
    r = deliver(*sim_callback(parcel_of(s), "accepted"))
    assert r.json() == {"result": "applied"}
    s.refresh_from_db()
    assert s.status == "accepted" and s.tracking_number == number and s.next_booking_at is None


def test_unknown_carrier_shipment_or_bad_body():
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit")
    assert_error(deliver(body, headers, carrier="ems"), 404, "postal.carrier_unknown")
    parcel = parcel_of(s)
    parcel.tracking_number, parcel.reference = "EA123456785CN", "JGP-NOT-OURS"
    assert_error(deliver(*sim_callback(parcel, "in_transit")), 404, "core.not_found")
    assert CallbackNonce.objects.count() == 0  # rolled back with the refusal

    good = json.loads(body)
    for broken, field in [({**good, "status": "lost"}, "status"), ({**good, "tracking_number": "EA123456784CN"},
                                                                   "tracking_number"),
                          ({**good, "occurred_at": "yesterday"}, "occurred_at"),
                          ({**good, "occurred_at": "2026-10-01T09:00:00"}, "occurred_at"),
                          ({**good, "event_id": ""}, "event_id"), (b"not json", "body"), ([1, 2], "body")]:
        raw = broken if isinstance(broken, bytes) else json.dumps(broken).encode()
        headers = signed_headers(key_id=sim_key_id(), secret=sim_keys()[sim_key_id()], body=raw,
                                 nonce=f"nonce-{field}-{len(raw)}")
        assert_error(deliver(raw, headers), 422, "postal.callback_invalid", {field})
    assert Shipment.objects.get(pk=s.pk).status == "accepted"


def test_simulator_advance_returns_its_callbacks_when_quiet():
    s = make_shipment()
    callbacks = simulator_advance(s.tracking_number, to="out_for_delivery")
    assert [json.loads(b)["status"] for b, _ in callbacks] == ["in_transit", "out_for_delivery"]
    assert Shipment.objects.get(pk=s.pk).status == "accepted"  # nothing sent: the test delivers
    for body, headers in reversed(callbacks):
        deliver(body, headers)
    assert Shipment.objects.get(pk=s.pk).status == "out_for_delivery"


def test_the_simulator_s_callback_in_production_is_a_404_not_a_500(settings):
    """A refused simulator is not there for a caller (as the payment simulator): an anonymous callback to it in
    production answers 404, never ImproperlyConfigured's 500."""
    s = make_shipment()
    body, headers = sim_callback(parcel_of(s), "in_transit")
    settings.PRODUCTION = True
    assert_error(deliver(body, headers), 404, "postal.carrier_unknown")
    assert not ShipmentEvent.objects.filter(shipment=s, status="in_transit").exists()
