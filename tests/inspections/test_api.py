"""The inspections API: stations and slots, eligibility, booking (Idempotency-Key), confirm, cancel, marks,
verification, staff endpoints and their roles; bad input → 4xx with nothing written."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking, Slot
from jiaoguan.core import clock as core_clock
from jiaoguan.identity import services as identity
from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station
from tests.inspections.conftest import first_slot, owner, unsettled_violation
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def auth(user, key: str | None = None) -> dict:
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    if key:
        h["HTTP_IDEMPOTENCY_KEY"] = key
    return h


def post(client, url, data, **h):
    return client.post(url, data=data, content_type="application/json", **h)


def test_stations_and_slots_are_public(client, station):
    r = client.get("/api/v1/inspection-stations")
    assert r.status_code == 200 and [s["code"] for s in r.json()] == ["ns01"]
    day = (core_clock.today() + dt.timedelta(days=1)).isoformat()
    r = client.get(f"/api/v1/inspection-stations/{station.pk}/slots?date={day}")
    slots = r.json()["slots"]
    assert r.status_code == 200 and len(slots) == 3 and slots[0]["free"] == 2 and slots[0]["capacity"] == 2
    assert client.get(f"/api/v1/inspection-stations/{station.pk}/slots?date=tomorrow").status_code == 422
    assert client.get("/api/v1/inspection-stations/99999/slots").status_code == 404


def test_eligibility_lists_every_own_vehicle(client, station):
    user, car = owner()
    from tests.inspections.conftest import due_vehicle

    exempt = due_vehicle(user.person, years=4)
    later = due_vehicle(user.person, days_ahead=300)
    unsettled_violation(later)
    r = client.get("/api/v1/me/inspection-eligibility", **auth(user))
    by_id = {v["vehicle_id"]: v for v in r.json()}
    assert by_id[car.pk]["action"] == "book" and by_id[car.pk]["on_site"] is True
    assert by_id[exempt.pk]["action"] == "mark" and by_id[exempt.pk]["on_site"] is False
    assert by_id[later.pk]["action"] == "none"
    assert {x["code"] for x in by_id[later.pk]["reasons"]} == {"inspections.not_due",
                                                               "inspections.unsettled_violations"}
    assert client.get("/api/v1/me/inspection-eligibility").status_code == 401


def test_book_confirm_cancel(client, station):
    user, car = owner()
    slot = first_slot(station)
    body = {"vehicle_id": car.pk, "slot_id": slot.pk}
    assert post(client, "/api/v1/me/inspection-bookings", body, **auth(user)).status_code == 422  # no key
    r1 = post(client, "/api/v1/me/inspection-bookings", body, **auth(user, "insp-book-0001"))
    r2 = post(client, "/api/v1/me/inspection-bookings", body, **auth(user, "insp-book-0001"))
    assert r1.status_code == 201 and r2.status_code == 201 and r1.json() == r2.json()
    assert Booking.objects.count() == 1
    b = r1.json()
    assert b["status"] == "held" and b["hold_expires_at"] and b["plate"] == car.plate
    r = post(client, f"/api/v1/me/inspection-bookings/{b['id']}/confirm", {}, **auth(user))
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    mine = client.get("/api/v1/me/inspection-bookings", **auth(user)).json()
    assert [x["reference"] for x in mine] == [b["reference"]]
    r = post(client, f"/api/v1/me/inspection-bookings/{b['id']}/cancel", {}, **auth(user))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_bad_input_is_4xx_and_writes_nothing(client, station, clock):
    user, car = owner()
    _other, other_car = owner(name="冯别人")
    exempt_user, exempt = owner(years=4, name="陈免检")
    slot = first_slot(station)

    def attempt(u, vehicle_id, slot_id, key):
        return post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": vehicle_id, "slot_id": slot_id},
                    **auth(u, key))

    assert attempt(user, other_car.pk, slot.pk, "bad-00001").status_code == 404
    assert attempt(user, car.pk, 999999, "bad-00002").status_code == 404
    r = attempt(exempt_user, exempt.pk, slot.pk, "bad-00003")
    assert r.status_code == 409 and r.json()["code"] == "inspections.not_eligible" and r.json()["fields"]
    r = post(client, "/api/v1/me/inspection-marks", {"vehicle_id": car.pk}, **auth(user, "bad-00004"))
    assert r.status_code == 409 and "上线检验" in r.json()["message"]
    r = post(client, "/api/v1/me/inspection-marks", {"vehicle_id": car.pk}, HTTP_ACCEPT_LANGUAGE="en",
             **auth(user, "bad-00005"))
    assert "on site" in r.json()["message"]
    r = post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": "x"}, **auth(user, "bad-00006"))
    assert r.status_code == 422
    clock.freeze(slot.starts_at + dt.timedelta(minutes=1))
    r = attempt(user, car.pk, slot.pk, "bad-00007")
    assert r.status_code == 422 and r.json()["code"] == "inspections.slot_past"
    assert Booking.objects.count() == 0 and InspectionBooking.objects.count() == 0
    assert InspectionMark.objects.count() == 0


def test_full_slot_is_409(client):
    from tests.inspections.conftest import make_station

    s = make_station("full", lanes=1, days=1)
    slot = first_slot(s)
    u1, c1 = owner()
    u2, c2 = owner(name="褚后来")
    assert post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": c1.pk, "slot_id": slot.pk},
                **auth(u1, "full-0001")).status_code == 201
    r = post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": c2.pk, "slot_id": slot.pk},
             **auth(u2, "full-0002"))
    assert r.status_code == 409 and r.json()["code"] == "bookings.full"


def test_mark_and_public_verification(client):
    user, car = owner(years=4)
    r1 = post(client, "/api/v1/me/inspection-marks", {"vehicle_id": car.pk}, **auth(user, "mark-00001"))
    r2 = post(client, "/api/v1/me/inspection-marks", {"vehicle_id": car.pk}, **auth(user, "mark-00001"))
    assert r1.status_code == 201 and r1.json() == r2.json() and InspectionMark.objects.count() == 1
    m = InspectionMark.objects.get()
    assert r1.json()["number"] == m.number and m.token in r1.json()["verify_url"]
    assert [x["number"] for x in client.get("/api/v1/me/inspection-marks", **auth(user)).json()] == [m.number]
    v = client.get(f"/api/v1/inspection-marks/verify?number={m.number}&token={m.token}").json()
    assert v["current"] is True and v["plate"] != car.plate and v["plate"].endswith(car.plate[-2:])
    assert set(v) == {"number", "plate", "year", "valid_until", "current"}
    assert client.get(f"/api/v1/inspection-marks/verify?number={m.number}&token=x").status_code == 404


def test_staff_endpoints_and_roles(client, clock):
    clerk = staff_user("clerk", "clerk701")
    approver = staff_user("approver", "appr701")
    citizen, car = owner()
    station = {"code": "api01", "name_zh": "接口站", "name_en": "API station", "address": "深圳市福田区1号",
               "district": "福田区", "lanes": 2}
    assert post(client, "/api/v1/staff/inspection-stations", station, **auth(clerk)).status_code == 403
    assert post(client, "/api/v1/staff/inspection-stations", station, **auth(citizen)).status_code == 403
    r = post(client, "/api/v1/staff/inspection-stations", station, **auth(approver))
    assert r.status_code == 201
    sid = r.json()["id"]
    first = (core_clock.today() + dt.timedelta(days=1)).isoformat()
    gen = {"first": first, "last": first, "opens": "09:00", "closes": "11:00", "minutes": 30}
    r = post(client, f"/api/v1/staff/inspection-stations/{sid}/slots", gen, **auth(approver))
    assert r.status_code == 200 and r.json() == {"created": 4, "skipped": 0}
    bad = {**gen, "closes": "08:00"}
    r = post(client, f"/api/v1/staff/inspection-stations/{sid}/slots", bad, **auth(approver))
    assert r.status_code == 422 and "closes" in r.json()["fields"]
    slot = first_slot(Station.objects.get(pk=sid))
    b = post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": car.pk, "slot_id": slot.pk},
             **auth(citizen, "staff-0001")).json()
    post(client, f"/api/v1/me/inspection-bookings/{b['id']}/confirm", {}, **auth(citizen))
    day = client.get(f"/api/v1/staff/inspection-stations/{sid}/day?date={first}", **auth(clerk)).json()
    shown = day["slots"][0]["bookings"][0]
    assert shown["reference"] == b["reference"] and shown["plate"] != car.plate
    assert client.get(f"/api/v1/staff/inspection-stations/{sid}/day", **auth(citizen)).status_code == 403
    clock.freeze(slot.starts_at + dt.timedelta(minutes=2))
    r = post(client, f"/api/v1/staff/inspection-bookings/{b['id']}/attendance", {"attended": True}, **auth(clerk))
    assert r.status_code == 200 and r.json()["status"] == "attended"
    r = post(client, f"/api/v1/staff/inspection-bookings/{b['id']}/result", {"passed": True}, **auth(clerk))
    assert r.status_code == 200 and r.json()["result"] == "passed"
    car.refresh_from_db()
    assert car.last_inspection_date is not None
    assert post(client, "/api/v1/staff/inspection-bookings/999999/result", {"passed": True},
                **auth(clerk)).status_code == 404
    assert Slot.objects.filter(resource__inspection_station__pk=sid).count() == 4


def test_openapi_lists_the_inspection_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/inspection-stations", "/api/v1/me/inspection-eligibility", "/api/v1/me/inspection-bookings",
              "/api/v1/me/inspection-marks", "/api/v1/staff/inspection-stations/{station_id}/slots"):
        assert p in paths, p
