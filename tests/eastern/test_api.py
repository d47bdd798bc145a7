"""The eastern API: areas and days, booking (Idempotency-Key), my bookings, delay, cancel; staff endpoints."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core import clock
from jiaoguan.eastern.models import AreaBooking, BookingDay, Checkpoint, Exemption
from jiaoguan.identity import services as identity
from tests.eastern.conftest import slots_of
from tests.factories import make_person, make_vehicle
from tests.portal.support import citizen, staff_user

pytestmark = pytest.mark.django_db


def auth(user, key: str | None = None):
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    if key:
        h["HTTP_IDEMPOTENCY_KEY"] = key
    return h


def test_public_areas_and_day(client, day):
    areas = client.get("/api/v1/eastern/areas").json()
    assert areas[0]["code"] == "dapeng" and areas[0]["days"][0]["date"] == day.date.isoformat()
    assert areas[0]["days"][0]["public_free"] == 30 and areas[0]["days"][0]["merchant_free"] == 10
    d = client.get(f"/api/v1/eastern/areas/dapeng/days/{day.date.isoformat()}").json()
    assert [s["public"]["capacity"] for s in d["slots"]] == [15, 15]
    assert [s["merchant"]["capacity"] for s in d["slots"]] == [5, 5]
    assert client.get("/api/v1/eastern/areas/nowhere/days/2030-01-01").status_code == 404


def test_book_is_idempotent_then_list_delay_cancel(client, day, clock):
    user, _, _, car = citizen()
    body = {"area": "dapeng", "date": day.date.isoformat(), "slot_id": slots_of(day)[0].pk, "vehicle_id": car.pk}
    assert client.post("/api/v1/me/eastern-bookings", body, content_type="application/json",
                       **auth(user)).status_code == 422  # no Idempotency-Key
    r = client.post("/api/v1/me/eastern-bookings", body, content_type="application/json", **auth(user, "k-eastern-1"))
    assert r.status_code == 201, r.content
    again = client.post("/api/v1/me/eastern-bookings", body, content_type="application/json",
                        **auth(user, "k-eastern-1"))
    assert again.status_code == 201 and again.json() == r.json()
    assert AreaBooking.objects.count() == 1
    dup = client.post("/api/v1/me/eastern-bookings", {**body, "slot_id": slots_of(day)[1].pk},
                      content_type="application/json", **auth(user, "k-eastern-2"))
    assert dup.status_code == 409 and dup.json()["code"] == "bookings.duplicate"
    mine = client.get("/api/v1/me/eastern-bookings", **auth(user)).json()
    assert [m["plate"] for m in mine] == [car.plate] and mine[0]["status"] == "confirmed"
    bid = mine[0]["id"]
    other, _, _, _ = citizen()
    assert client.post(f"/api/v1/me/eastern-bookings/{bid}/delay", **auth(other)).status_code == 404
    assert client.post(f"/api/v1/me/eastern-bookings/{bid}/cancel", **auth(other)).status_code == 404
    d = client.post(f"/api/v1/me/eastern-bookings/{bid}/delay", **auth(user))
    assert d.status_code == 200 and d.json()["delay_reported_at"]
    assert client.post(f"/api/v1/me/eastern-bookings/{bid}/delay", **auth(user)).status_code == 409
    c = client.post(f"/api/v1/me/eastern-bookings/{bid}/cancel", **auth(user))
    assert c.status_code == 200 and c.json()["status"] == "cancelled"


@pytest.mark.parametrize("case", ["stranger", "ten_seats", "taxi", "past", "unknown_slot"])
def test_bad_bookings_are_4xx_and_write_nothing(client, day, clock, case):
    user, person, _, car = citizen()
    body = {"area": "dapeng", "date": day.date.isoformat(), "slot_id": slots_of(day)[0].pk, "vehicle_id": car.pk}
    expected = 422
    if case == "stranger":
        body["vehicle_id"] = make_vehicle(owner=make_person(name="他人")).pk
        expected = 404
    elif case in ("ten_seats", "taxi"):
        from jiaoguan.registry.models import Vehicle

        Vehicle.objects.filter(pk=car.pk).update(**({"seats": 12} if case == "ten_seats" else {"use": "taxi"}))
    elif case == "past":
        clock.freeze(slots_of(day)[0].starts_at + dt.timedelta(minutes=1))
    else:
        body["slot_id"] = 999999
        expected = 404
    r = client.post("/api/v1/me/eastern-bookings", body, content_type="application/json", **auth(user, f"k-{case}-001"))
    assert r.status_code == expected, r.content
    assert r.json()["message"]
    assert Booking.objects.count() == 0 and AreaBooking.objects.count() == 0


def test_merchant_endpoint(client, day):
    from tests.eastern.test_services import merchant_user

    hotel = merchant_user()
    guest = make_vehicle(owner=make_person(name="客人"))
    body = {"area": "dapeng", "date": day.date.isoformat(), "slot_id": slots_of(day)[1].pk,
            "plates": [{"plate": guest.plate}, {"plate": "湘A11111", "plate_type": "02"}]}
    r = client.post("/api/v1/me/eastern-bookings/merchant", body, content_type="application/json",
                    **auth(hotel, "merchant-key-1"))
    assert r.status_code == 200 and r.json()["booked"] == 2, r.content
    user, _, _, _ = citizen()
    r = client.post("/api/v1/me/eastern-bookings/merchant", body, content_type="application/json",
                    **auth(user, "merchant-key-2"))
    assert r.status_code == 403


def test_staff_endpoints_need_booking_manage(client):
    clerk = staff_user("clerk", "clerk0101")
    approver = staff_user("approver", "appr0101")
    citizen_user, _, _, _ = citizen()
    for who in (clerk, citizen_user):
        assert client.get("/api/v1/staff/eastern/areas", **auth(who)).status_code == 403
    h = auth(approver)
    r = client.post("/api/v1/staff/eastern/areas", {"code": "meisha", "name_zh": "盐田梅沙", "name_en": "Meisha"},
                    content_type="application/json", **h)
    assert r.status_code == 201, r.content
    date = (clock.today() + dt.timedelta(days=5)).isoformat()
    r = client.post("/api/v1/staff/eastern/days", {"area": "meisha", "date": date, "daily_quota": 100,
                                                   "merchant_quota": 20, "slots": 4, "period_key": "2026-x"},
                    content_type="application/json", **h)
    assert r.status_code == 201 and len(r.json()["slots"]) == 4, r.content
    assert BookingDay.objects.get().period_key == "2026-x"
    r = client.post("/api/v1/staff/eastern/days", {"area": "meisha", "date": date, "daily_quota": 10,
                                                   "merchant_quota": 20}, content_type="application/json", **h)
    assert r.status_code == 422 and "merchant_quota" in r.json()["fields"]
    r = client.post("/api/v1/staff/eastern/exemptions", {"area": "meisha", "plate": "粤B12345", "reason": "居民",
                                                         "valid_until": date}, content_type="application/json", **h)
    assert r.status_code == 201
    eid = r.json()["id"]
    assert client.get("/api/v1/staff/eastern/exemptions", **h).json()[0]["plate"] == "粤B12345"
    assert client.post(f"/api/v1/staff/eastern/exemptions/{eid}/revoke", **h).json()["revoked"] is True
    assert Exemption.objects.get().revoked_at is not None
    r = client.post("/api/v1/staff/eastern/checkpoints", {"area": "meisha", "name": "梅沙卡口"},
                    content_type="application/json", **h)
    assert r.status_code == 201 and r.json()["secret"]
    assert "secret" not in client.get("/api/v1/staff/eastern/checkpoints", **h).json()[0]
    assert Checkpoint.objects.count() == 1
