"""The checkpoint API for the roadside cameras: signed, idempotent per record id, records the violation."""
from __future__ import annotations

import base64
import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core.audit import Actor
from jiaoguan.eastern import services
from jiaoguan.eastern.models import AreaBooking, Passage
from jiaoguan.violations.models import Violation
from tests.eastern.conftest import MANAGER, at_slot, signed, slots_of
from tests.factories import make_person, make_vehicle
from tests.portal.support import citizen

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)


def ask(client, checkpoint, plate, at, *, record_id=None, plate_type="02", **extra):
    body = {"record_id": record_id or f"R{plate}{at.timestamp():.0f}", "plate": plate, "plate_type": plate_type,
            "at": at.isoformat(), **extra}
    return signed(client, checkpoint, body)


def booked(day, slot=0):
    user, _, _, car = citizen()
    ab = services.booking_create(user=user, area_code=day.area.code, date=day.date,
                                 slot_id=slots_of(day)[slot].pk, vehicle_id=car.pk, actor=Actor.of(user))
    return user, car, ab


def test_booked_car_within_its_slot_is_allowed_and_marked_attended(client, day, checkpoint, clock):
    _, car, ab = booked(day)
    when = at_slot(day)
    clock.freeze(when)
    r = ask(client, checkpoint, car.plate, when)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["allowed"] is True and body["reason"] == "booked" and body["booking"] == ab.booking.reference
    assert Booking.objects.get(pk=ab.booking_id).status == Booking.Status.ATTENDED
    assert AreaBooking.objects.get(pk=ab.pk).entered_at == when
    # leave and come back within the window: still allowed
    later = when + dt.timedelta(minutes=30)
    clock.freeze(later)
    assert ask(client, checkpoint, car.plate, later).json()["allowed"] is True
    assert Violation.objects.count() == 0


def test_no_booking_records_the_violation_once(client, day, checkpoint, clock):
    car = make_vehicle(owner=make_person(name="吴十"))
    when = at_slot(day)
    clock.freeze(when)
    r = ask(client, checkpoint, car.plate, when, record_id="CAM-1", photos=[base64.b64encode(JPEG).decode()])
    body = r.json()
    assert r.status_code == 200 and body["allowed"] is False and body["reason"] == "not_booked"
    v = Violation.objects.get()
    assert (v.code.code, v.fine_fen, v.points, v.source, v.plate) == ("9301", 30000, 1, "device", car.plate)
    assert v.place.startswith("大鹏半岛") and v.device_id == checkpoint.device_id
    assert v.evidence.count() == 1
    again = ask(client, checkpoint, car.plate, when, record_id="CAM-1")
    assert again.json() == {**body, "repeat": True}
    assert Violation.objects.count() == 1 and Passage.objects.count() == 1


def test_outside_the_window_is_refused(client, day, checkpoint, clock):
    _, car, ab = booked(day, slot=1)
    when = at_slot(day, 0)  # slot 0, but the booking is for slot 1
    clock.freeze(when)
    body = ask(client, checkpoint, car.plate, when).json()
    assert body["allowed"] is False and body["reason"] == "outside_window"
    assert Violation.objects.filter(plate=car.plate).count() == 1
    assert Booking.objects.get(pk=ab.booking_id).status == Booking.Status.CONFIRMED


def test_reported_delay_extends_the_window(client, day, checkpoint, clock):
    user, car, ab = booked(day)
    clock.freeze(ab.slot_ends_at - dt.timedelta(minutes=5))
    services.booking_delay(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    when = ab.slot_ends_at + dt.timedelta(hours=5)
    clock.freeze(when)
    body = ask(client, checkpoint, car.plate, when).json()
    assert body["allowed"] is True and body["reason"] == "booked"
    too_late = ab.slot_ends_at + dt.timedelta(hours=6, minutes=1)
    clock.freeze(too_late)
    other_area_car = make_vehicle(owner=make_person(name="郑一"))
    assert ask(client, checkpoint, other_area_car.plate, too_late).json()["allowed"] is False


def test_exempt_vehicles_and_days_without_booking(client, day, checkpoint, clock):
    taxi = make_vehicle(owner=make_person(name="冯二"), use="taxi")
    local = make_vehicle(owner=make_person(name="陈三"))
    services.exemption_add(area=day.area, plate=local.plate, reason="南澳居民", valid_until=day.date, actor=MANAGER)
    when = at_slot(day)
    clock.freeze(when)
    for plate, plate_type, detail in ((taxi.plate, "02", "exempt_use"), (local.plate, "02", "exempt_local"),
                                      ("湘A99999", "01", "exempt_plate_type")):
        body = ask(client, checkpoint, plate, when, plate_type=plate_type).json()
        assert (body["allowed"], body["reason"], body["detail"]) == (True, "exempt", detail)
    next_day = when + dt.timedelta(days=1)  # not a booking day
    clock.freeze(next_day)
    stranger = make_vehicle(owner=make_person(name="褚四"))
    body = ask(client, checkpoint, stranger.plate, next_day).json()
    assert body["allowed"] is True and body["reason"] == "no_booking_needed"
    assert Violation.objects.count() == 0


def test_unknown_local_plate_is_answered_without_a_violation(client, day, checkpoint, clock):
    when = at_slot(day)
    clock.freeze(when)
    body = ask(client, checkpoint, "粤B0ZZ99", when).json()
    assert body["allowed"] is False and body["violation_id"] is None
    assert Passage.objects.get().violation_error == "violations.unknown_plate"


def test_signature_and_device_checks(client, day, checkpoint, clock):
    from jiaoguan.violations import signing

    when = at_slot(day)
    clock.freeze(when)
    body = {"record_id": "X", "plate": "粤B12345", "plate_type": "02", "at": when.isoformat()}
    r = client.post("/api/v1/eastern/checkpoint", data=body, content_type="application/json")
    assert r.status_code == 401
    checkpoint.plain_secret = "wrong"
    assert signed(client, checkpoint, body).status_code == 401
    device, secret = signing.device_create(name="深南大道电警01")  # a violations camera, not a checkpoint
    device.device = device
    device.device_id = device.pk
    device.plain_secret = secret
    r = signed(client, device, body)  # its key's scope lacks the checkpoint endpoint (violations.signing)
    assert r.status_code == 403 and r.json()["code"] == "violations.device_scope"
    # a key scoped for the endpoint but mapped to no checkpoint
    device, secret = signing.device_create(name="未绑定卡口", kind="checkpoint")
    device.device = device
    device.device_id = device.pk
    device.plain_secret = secret
    r = signed(client, device, body)
    assert r.status_code == 403 and r.json()["code"] == "eastern.not_a_checkpoint"
    assert Passage.objects.count() == 0


def test_bad_records_are_422_and_write_nothing(client, day, checkpoint, clock):
    when = at_slot(day)
    clock.freeze(when)
    for bad in ({"record_id": "A", "plate": "粤B1234", "plate_type": "02", "at": when.isoformat()},
                {"record_id": "B", "plate": "粤B12345", "plate_type": "99", "at": when.isoformat()},
                {"record_id": "C", "plate": "粤B12345", "plate_type": "02",
                 "at": (when + dt.timedelta(hours=1)).isoformat()},
                {"record_id": "D", "plate": "粤B12345", "plate_type": "02", "at": "yesterday"},
                {"record_id": "E", "plate": "粤B12345", "plate_type": "02", "at": when.isoformat(), "extra": 1}):
        r = signed(client, checkpoint, bad)
        assert r.status_code == 422, (bad, r.content)
    assert Passage.objects.count() == 0


def test_checkpoint_time_is_the_cameras(client, day, checkpoint, clock):
    """A camera uploading a little late is judged by the time it saw the car."""
    _, car, ab = booked(day)
    when = at_slot(day)
    clock.freeze(ab.slot_ends_at + dt.timedelta(minutes=20))
    assert ask(client, checkpoint, car.plate, when).json()["allowed"] is True
    assert Booking.objects.get(pk=ab.booking_id).status == Booking.Status.ATTENDED
    assert clock.now() > when


def test_replayed_nonce_is_refused_and_a_repeat_record_cannot_change_the_answer(client, day, checkpoint, clock):
    """Review: a captured request cannot be replayed (the nonce is stored), and a repeated record id with a
    different plate gets the first answer without a second passage or violation."""
    stranger = make_vehicle(owner=make_person(name="陈十一"))
    _, car, _ab = booked(day)
    when = at_slot(day)
    clock.freeze(when)
    body = {"record_id": "CAM-9", "plate": car.plate, "plate_type": "02", "at": when.isoformat()}
    first = signed(client, checkpoint, body, nonce="nonce-0000000001")
    assert first.status_code == 200 and first.json()["allowed"] is True
    replay = signed(client, checkpoint, body, nonce="nonce-0000000001")
    assert replay.status_code == 401
    other = signed(client, checkpoint, {**body, "plate": stranger.plate})
    assert other.status_code == 200 and other.json()["plate"] == car.plate and other.json()["allowed"] is True
    assert other.json()["repeat"] is True
    assert Passage.objects.count() == 1 and Violation.objects.count() == 0
