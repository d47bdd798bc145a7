"""Creating and booking shipments: validation, idempotency, encryption at rest, audit, outbox events, the
booking retry sweep with backoff ending "failed", staff retry, and production refusing the simulator."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.errors import Conflict, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.postal import carriers, selectors, services, simulator
from jiaoguan.postal.carriers import CarrierError
from jiaoguan.postal.models import Shipment, ShipmentEvent, SimParcel
from jiaoguan.postal.tracking import is_tracking_number
from tests.postal.conftest import ADDRESS, CLERK, NAME, PHONE, emitted, make_shipment

pytestmark = pytest.mark.django_db


def test_create_books_with_the_simulator(listener):
    s = make_shipment(source_id="A1", recipient_phone="+86 139-1234-5678")
    assert s.status == "accepted" and s.carrier == "sim" and s.accepted_at is not None
    assert is_tracking_number(s.tracking_number) and s.tracking_number.endswith("CN")
    assert SimParcel.objects.get(reference=s.reference).tracking_number == s.tracking_number
    assert s.recipient_phone == PHONE and s.booking_attempts == 1 and s.next_booking_at is None
    assert emitted() == [{"shipment_id": s.pk, "tracking_number": s.tracking_number, "status": "accepted",
                          "source_type": "applications.application", "source_id": "A1"}]
    assert [e.status for e in s.events.all()] == ["created", "accepted"]
    actions = list(AuditEntry.objects.filter(object_type="postal.shipment", object_id=str(s.pk))
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["shipment.create", "shipment.accepted"]
    assert audit_verify().ok


def test_recipient_data_is_encrypted_at_rest_and_masked():
    s = make_shipment()
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipient_name, recipient_phone, address FROM postal_shipment WHERE id = %s", [s.pk])
        raw = cursor.fetchone()
    for stored, plain in zip(raw, (NAME, PHONE, ADDRESS)):
        assert plain not in stored and PHONE[-4:] not in stored
    fresh = Shipment.objects.get(pk=s.pk)
    assert (fresh.recipient_name, fresh.recipient_phone, fresh.address) == (NAME, PHONE, ADDRESS)
    assert fresh.recipient_name_masked == "张*明" and fresh.recipient_phone_masked == "139****5678"
    assert fresh.address_masked == "广东省深圳市****"
    audit = AuditEntry.objects.get(action="shipment.create", object_id=str(s.pk))
    assert PHONE not in str(audit.new) and ADDRESS not in str(audit.new) and NAME not in str(audit.new)
    summary = selectors.shipment_summary(shipment=fresh)
    assert PHONE not in str(summary) and ADDRESS not in str(summary) and NAME not in str(summary)


def test_a_repeat_returns_the_same_shipment(listener):
    first = make_shipment(source_id="A7")
    again = make_shipment(source_id="A7", recipient_name="李四", address="别的地址也不会改变已经创建的邮件")
    assert again.pk == first.pk and again.recipient_name == NAME
    assert Shipment.objects.count() == 1 and SimParcel.objects.count() == 1 and len(emitted()) == 1
    other_type = make_shipment(source_id="A7", source_type="plates.application")
    assert other_type.pk != first.pk


@pytest.mark.parametrize("field, value, code", [
    ("recipient_phone", "12345", "phone.format"),
    ("recipient_phone", "", "phone.format"),
    ("recipient_name", "   ", "postal.required"),
    ("recipient_name", "名" * 51, "postal.too_long"),
    ("address", "深圳市", "postal.too_short"),
    ("address", "深" * 201, "postal.too_long"),
    ("item_zh", "", "postal.required"),
    ("source_id", "", "postal.required"),
])
def test_bad_input_is_refused_with_a_field_message_and_nothing_written(field, value, code):
    with pytest.raises(InvalidInput) as exc:
        make_shipment(**{field: value})
    assert exc.value.field == field and field in exc.value.fields
    assert exc.value.code == code
    assert Shipment.objects.count() == 0 and SimParcel.objects.count() == 0


def test_several_bad_fields_are_told_at_once():
    with pytest.raises(InvalidInput) as exc:
        make_shipment(recipient_name="", recipient_phone="1", address="")
    assert exc.value.code == "postal.invalid"
    assert set(exc.value.fields) == {"recipient_name", "recipient_phone", "address"}


def test_the_simulator_books_each_reference_once():
    a = simulator.sim_book(reference="JGPX1", item="驾驶证")
    assert simulator.sim_book(reference="JGPX1", item="驾驶证") == a
    assert simulator.sim_query(reference="JGPX1").tracking_number == a
    assert simulator.sim_query(reference="nope") is None


class Down(simulator.SimulatorCarrier):
    def book(self, **kwargs):
        raise CarrierError("postal.carrier_down", "承运方不可用", "The carrier is unavailable")


@pytest.fixture
def carrier_down(monkeypatch):
    monkeypatch.setitem(carriers._CARRIERS, "sim", Down())


def test_a_booking_the_carrier_refuses_is_retried_with_backoff_then_fails_visibly(carrier_down, clock, settings,
                                                                                 listener):
    settings.JIAOGUAN_POSTAL_REBOOK_MINUTES = 5
    settings.JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS = 4
    start = dt.datetime(2026, 9, 30, 10, 0, tzinfo=dt.UTC)
    clock.freeze(start)
    s = make_shipment()
    assert s.status == "created" and s.tracking_number is None and s.booking_attempts == 1
    assert "carrier is unavailable" in s.last_error and s.next_booking_at == start + dt.timedelta(minutes=5)
    assert services.shipments_booking_retry_due() == 0  # not due yet
    assert Shipment.objects.get(pk=s.pk).booking_attempts == 1
    waits = []
    for _ in range(3):
        s.refresh_from_db()
        waits.append(s.next_booking_at - clock.now())
        clock.freeze(s.next_booking_at)
        services.shipments_booking_retry_due()
    assert waits == [dt.timedelta(minutes=m) for m in (5, 10, 20)]
    s.refresh_from_db()
    assert s.status == "failed" and s.booking_attempts == 4 and s.failed_at == clock.now()
    assert s.next_booking_at is None and "unavailable" in s.last_error
    assert [p["status"] for p in emitted()] == ["failed"]
    assert AuditEntry.objects.filter(action="shipment.booking_failed", object_id=str(s.pk)).count() == 3
    clock.advance(dt.timedelta(days=3))
    assert services.shipments_booking_retry_due() == 0  # failed stays failed for staff to see


def test_staff_retry_a_failed_booking(carrier_down, monkeypatch, settings, listener):
    settings.JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS = 1
    s = make_shipment()
    assert s.status == "failed"
    monkeypatch.setitem(carriers._CARRIERS, "sim", simulator.SimulatorCarrier())  # the carrier is back
    s = services.shipment_retry(shipment=s, actor=CLERK)
    assert s.status == "accepted" and s.tracking_number and s.booking_attempts == 1
    assert [p["status"] for p in emitted()] == ["failed", "created", "accepted"]
    with pytest.raises(Conflict):
        services.shipment_retry(shipment=s, actor=CLERK)


def test_a_lost_booking_answer_is_recovered_by_query(monkeypatch, clock):
    """The carrier booked it but our side never heard: the sweep asks the carrier first and adopts the number."""
    calls = []

    class LostAnswer(simulator.SimulatorCarrier):
        def book(self, **kwargs):
            number = super().book(**kwargs)
            calls.append(number)
            raise CarrierError("postal.timeout", "超时", "Timed out")

    monkeypatch.setitem(carriers._CARRIERS, "sim", LostAnswer())
    s = make_shipment()
    assert s.status == "created" and SimParcel.objects.count() == 0  # the failed attempt's savepoint rolled back
    # the carrier kept it this time (a real carrier is another system: our rollback cannot undo its booking)
    number = simulator.sim_book(reference=s.reference, item="驾驶证")
    clock.advance(dt.timedelta(minutes=6))
    assert services.shipments_booking_retry_due() == 1
    s.refresh_from_db()
    assert s.status == "accepted" and s.tracking_number == number and len(calls) == 1


def test_a_garbage_tracking_number_from_the_carrier_is_a_failed_attempt(monkeypatch):
    class Garbage(simulator.SimulatorCarrier):
        def book(self, **kwargs):
            return "EA123456784CN"  # wrong check digit

    monkeypatch.setitem(carriers._CARRIERS, "sim", Garbage())
    s = make_shipment()
    assert s.status == "created" and s.tracking_number is None and "check digit" in s.last_error


def test_production_refuses_the_simulator(settings):
    from jiaoguan.postal.checks import postal_carrier_check

    settings.PRODUCTION = True
    settings.JIAOGUAN_POSTAL_CARRIER = "sim"
    with pytest.raises(ImproperlyConfigured):
        make_shipment()
    with pytest.raises(NotFound):  # named by a caller (a callback): a 404, never a 500
        carriers.carrier_get("sim")
    assert [e.id for e in postal_carrier_check()] == ["postal.E001"]
    assert Shipment.objects.count() == 0
    settings.JIAOGUAN_POSTAL_CARRIER = None  # unset in production: no carrier at all, never the simulator
    assert carriers.configured_carrier() == "" and carriers.carrier_names() == []
    settings.PRODUCTION = False
    assert carriers.configured_carrier() == "sim" and postal_carrier_check() == []


@pytest.mark.parametrize("production", [True, False])
def test_no_carrier_is_a_valid_deployment_without_delivery(settings, production):
    """No carrier configured (production's default): the start-up check passes (manage.py check and migrate
    run), delivery is not offered, and a send by post is a 409 postal.unavailable, never a 500."""
    from jiaoguan.postal.checks import postal_carrier_check

    settings.PRODUCTION = production
    settings.JIAOGUAN_POSTAL_CARRIER = None if production else ""
    assert postal_carrier_check() == []
    assert selectors.delivery_available() is False
    assert selectors.delivery_refusal().code == "postal.unavailable"
    with pytest.raises(Conflict) as refused:
        make_shipment()
    assert refused.value.code == "postal.unavailable" and refused.value.status == 409
    assert Shipment.objects.count() == 0
    settings.PRODUCTION = False
    settings.JIAOGUAN_POSTAL_CARRIER = "sim"
    assert selectors.delivery_available() is True and selectors.delivery_refusal() is None


def test_an_unknown_configured_carrier_fails_the_start_up_check(settings):
    from jiaoguan.postal.checks import postal_carrier_check

    settings.JIAOGUAN_POSTAL_CARRIER = "ups"
    assert [e.id for e in postal_carrier_check()] == ["postal.E001"]
    assert selectors.delivery_available() is False


def test_an_unknown_carrier_is_refused(settings):
    settings.JIAOGUAN_POSTAL_CARRIER = "ups"
    with pytest.raises(NotFound):
        make_shipment()
    assert Shipment.objects.count() == 0


def test_selectors():
    s = make_shipment(source_id="77")
    assert selectors.shipment_for_source(source_type="applications.application", source_id=77).pk == s.pk
    assert selectors.shipment_for_source(source_type="applications.application", source_id="78") is None
    assert selectors.shipment_by_tracking(tracking_number=s.tracking_number.lower()).pk == s.pk
    assert selectors.shipment_by_tracking(tracking_number="EA123456785CN") is None
    with pytest.raises(InvalidInput):
        selectors.shipment_by_tracking(tracking_number="EA123456784CN")
    assert ShipmentEvent.objects.filter(shipment=s).count() == 2
