"""The counters API: offices and slots, booking with an Idempotency-Key, my appointments, cancel, batches."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core.models import AuditEntry
from jiaoguan.counters.models import EnterpriseBatch
from tests.counters.conftest import DAY, at, bearer, citizen, enterprise_user

pytestmark = pytest.mark.django_db


def post(client, url, data, headers, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data=data, content_type="application/json", **headers, **extra)


def test_offices_and_slots_are_public(client, city):
    offices = client.get("/api/v1/counter-offices").json()
    assert offices[0]["name_zh"] == "福田车管所"
    assert [s["code"] for s in offices[0]["services"]] == ["licence", "vehicle"]
    r = client.get(f"/api/v1/counter-offices/{city.office.pk}/slots", {"service": "licence", "date": DAY.isoformat()})
    slots = r.json()["slots"]
    assert len(slots) == 13 and slots[0]["capacity"] == 2 and slots[0]["free"] == 2 and slots[0]["bookable"]
    assert client.get(f"/api/v1/counter-offices/{city.office.pk}/slots",
                      {"service": "nope", "date": DAY.isoformat()}).status_code == 404
    assert client.get(f"/api/v1/counter-offices/{city.office.pk}/slots",
                      {"service": "licence", "date": "2026-13-01"}).status_code == 422


def test_book_idempotent_201_then_full_409(client, city):
    slot = city.slot(city.licence, 9)
    h = bearer(u := citizen())
    assert post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h).status_code == 422  # no key
    r1 = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h, key="book-000001")
    r2 = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h, key="book-000001")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    body = r1.json()
    assert set(body) == {"id", "reference", "status", "slot_id"} and body["status"] == "confirmed"
    assert Booking.objects.filter(user=u).count() == 1
    post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, bearer(citizen()), key="book-000002")
    before = (Booking.objects.count(), AuditEntry.objects.count())
    r = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, bearer(citizen()), key="book-000003")
    assert r.status_code == 409 and r.json()["code"] == "bookings.full"
    assert (Booking.objects.count(), AuditEntry.objects.count()) == before


def test_bad_input(client, city, clock):
    h = bearer(citizen())
    assert post(client, "/api/v1/me/appointments", {"slot_id": "x"}, h, key="bad-000001").status_code == 422
    assert post(client, "/api/v1/me/appointments", {}, h, key="bad-000002").status_code == 422
    assert post(client, "/api/v1/me/appointments", {"slot_id": 99999}, h, key="bad-000003").status_code == 404
    assert post(client, "/api/v1/me/appointments", {"slot_id": 1}, {}, key="bad-000004").status_code == 401
    past = city.slot(city.licence, 9)
    clock.freeze(at(DAY, 10))
    r = post(client, "/api/v1/me/appointments", {"slot_id": past.pk}, h, key="bad-000005")
    assert r.status_code == 422 and r.json()["code"] == "bookings.slot_past"
    assert not Booking.objects.exists()


def test_mine_and_cancel_and_other_peoples_404(client, city):
    a, b = citizen(), citizen()
    ha, hb = bearer(a), bearer(b)
    made = post(client, "/api/v1/me/appointments", {"slot_id": city.slot(city.licence, 9).pk}, ha,
                key="mine-000001").json()
    mine = client.get("/api/v1/me/appointments", **ha).json()
    assert [m["id"] for m in mine] == [made["id"]] and mine[0]["office"]["name_zh"] == "福田车管所"
    assert mine[0]["service"]["code"] == "licence"
    assert client.get("/api/v1/me/appointments", **hb).json() == []
    r = client.post(f"/api/v1/me/appointments/{made['id']}/cancel", **hb)
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert client.post("/api/v1/me/appointments/999999/cancel", **hb).json() == r.json()
    r = client.post(f"/api/v1/me/appointments/{made['id']}/cancel", **ha)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/me/appointments/{made['id']}/cancel", **ha).status_code == 409


def test_batch_api(client, city):
    user, cars = enterprise_user(vehicles=2)
    h = bearer(user)
    items = [{"slot_id": city.slot(city.vehicle, 9).pk, "vehicle_id": cars[0].pk},
             {"slot_id": city.slot(city.vehicle, 10).pk, "vehicle_id": cars[1].pk}]
    r = post(client, "/api/v1/me/appointments/batch", {"items": items}, h, key="batch-00001")
    assert r.status_code == 201, r.content
    assert len(r.json()["appointments"]) == 2 and EnterpriseBatch.objects.count() == 1
    again = post(client, "/api/v1/me/appointments/batch", {"items": items}, h, key="batch-00001")
    assert again.json() == r.json() and Booking.objects.count() == 2


def test_batch_refused_lists_items_and_writes_nothing(client, city):
    user, cars = enterprise_user(vehicles=1)
    _, foreign = enterprise_user(uscc="91440300MA5G000002", vehicles=1)
    h = bearer(user)
    items = [{"slot_id": city.slot(city.vehicle, 9).pk, "vehicle_id": cars[0].pk},
             {"slot_id": city.slot(city.vehicle, 9).pk, "vehicle_id": foreign[0].pk}]
    before = (Booking.objects.count(), AuditEntry.objects.count())
    r = post(client, "/api/v1/me/appointments/batch", {"items": items}, h, key="batch-00002")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "counters.batch_refused" and body["items"] == [
        {"index": 1, "code": "core.not_found", "message": "车辆不存在"}]
    assert (Booking.objects.count(), AuditEntry.objects.count()) == before
    too_many = [items[0]] * 21
    assert post(client, "/api/v1/me/appointments/batch", {"items": too_many}, h, key="batch-00003").status_code == 422


def test_batch_by_a_citizen_is_403(client, city):
    _, cars = enterprise_user(vehicles=1)
    r = post(client, "/api/v1/me/appointments/batch",
             {"items": [{"slot_id": city.slot(city.vehicle, 9).pk, "vehicle_id": cars[0].pk}]},
             bearer(citizen()), key="batch-00004")
    assert r.status_code == 403 and not Booking.objects.exists()


def test_staff_attendance_api(client, city, clock):
    from jiaoguan.identity.models import User

    u = citizen()
    made = post(client, "/api/v1/me/appointments", {"slot_id": city.slot(city.licence, 9).pk}, bearer(u),
                key="att-0000001").json()
    clerk = User.objects.create_user(username="clerk9", password=None, role="clerk")
    url = f"/api/v1/staff/appointments/{made['id']}/attendance"
    assert post(client, url, {"attended": True}, bearer(u)).status_code == 403
    assert post(client, url, {"attended": True}, bearer(clerk)).status_code == 409  # not started
    clock.freeze(at(DAY, 9, 3))
    r = post(client, url, {"attended": True}, bearer(clerk))
    assert r.status_code == 200 and r.json()["status"] == "attended"
