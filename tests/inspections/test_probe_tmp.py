import datetime as dt
import pytest
from tests.inspections.conftest import first_slot, owner
from tests.inspections.test_api import auth, post
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
HUGE = 10**30
BIG = 2**63

def test_probe(client, station):
    client.raise_request_exception = False
    user, car = owner()
    slot = first_slot(station)
    clerk = staff_user("clerk", "clerk801")
    res = []
    def g(url, **h):
        r = client.get(url, **h); res.append((url, r.status_code)); return r
    def p(url, data, **h):
        r = post(client, url, data, **h); res.append((url, data, r.status_code)); return r
    for d in ("9999-12-31", "0001-01-01", "2026-02-30", "x"):
        g(f"/api/v1/inspection-stations/{station.pk}/slots?date={d}")
        g(f"/api/v1/staff/inspection-stations/{station.pk}/day?date={d}", **auth(clerk))
    g(f"/api/v1/inspection-stations/{BIG}/slots")
    g(f"/api/v1/inspection-stations/{HUGE}/slots")
    p("/api/v1/me/inspection-bookings", {"vehicle_id": BIG, "slot_id": slot.pk}, **auth(user, "k-000001"))
    p("/api/v1/me/inspection-bookings", {"vehicle_id": car.pk, "slot_id": BIG}, **auth(user, "k-000002"))
    p("/api/v1/me/inspection-bookings", {"vehicle_id": car.pk, "slot_id": HUGE}, **auth(user, "k-000003"))
    p("/api/v1/me/inspection-bookings", {"vehicle_id": "abc", "slot_id": slot.pk}, **auth(user, "k-000004"))
    p("/api/v1/me/inspection-bookings", [1, 2], **auth(user, "k-000005"))
    r = client.post("/api/v1/me/inspection-bookings", data="{bad", content_type="application/json", **auth(user, "k-000006")); res.append(("badjson", r.status_code))
    p(f"/api/v1/me/inspection-bookings/{BIG}/confirm", {}, **auth(user))
    p(f"/api/v1/me/inspection-bookings/{BIG}/cancel", {}, **auth(user))
    p("/api/v1/me/inspection-marks", {"vehicle_id": BIG}, **auth(user, "k-000007"))
    g(f"/api/v1/inspection-marks/verify?number={'9'*500}&token=x")
    admin = staff_user("approver", "appr801")
    p(f"/api/v1/staff/inspection-stations/{station.pk}/slots", {"first": "9999-12-30", "last": "9999-12-31", "opens": "09:00", "closes": "10:00"}, **auth(admin))
    p(f"/api/v1/staff/inspection-stations/{station.pk}/slots", {"first": "2026-12-30", "last": "2026-12-31", "opens": "09:00", "closes": "10:00", "lanes": BIG}, **auth(admin))
    p(f"/api/v1/staff/inspection-stations/{station.pk}/slots", {"first": "2026-12-30", "last": "2026-12-31", "opens": "09:00", "closes": "10:00", "weekdays": [BIG]}, **auth(admin))
    p(f"/api/v1/staff/inspection-stations/{station.pk}/slots", {"first": "2026-12-30", "last": "2026-12-31", "opens": "09:00", "closes": "10:00", "minutes": BIG}, **auth(admin))
    p("/api/v1/staff/inspection-stations", {"code": "x1", "name_zh": "a", "name_en": "a", "address": "a", "district": "a", "lanes": BIG}, **auth(admin))
    p(f"/api/v1/staff/inspection-bookings/{BIG}/attendance", {"attended": True}, **auth(clerk))
    p(f"/api/v1/staff/inspection-bookings/{BIG}/result", {"passed": True}, **auth(clerk))
    # pages
    client.force_login(user)
    for d in ("9999-12-31", "0001-01-01"):
        g(f"/me/inspections/book/{car.pk}/stations/{station.pk}/?date={d}")
    g(f"/me/inspections/book/{BIG}/")
    g(f"/me/inspections/book/{car.pk}/stations/{BIG}/")
    g(f"/me/inspections/bookings/{BIG}/")
    g(f"/me/inspections/marks/{'9'*300}/")
    for sid in ("²", "99999999999999999999999", str(BIG), "-1", ""):
        r = client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": sid, "idempotency_key": "k"*20 + sid}); res.append(("hold", sid, r.status_code))
    client.force_login(clerk)
    for d in ("9999-12-31", "0001-01-01"):
        g(f"/console/inspections/stations/{station.pk}/day/?date={d}")
    r = client.post(f"/console/inspections/bookings/{BIG}/attendance/", {"attended": "1"}); res.append(("att", r.status_code))
    for x in res: print(x)
    assert all(x[-1] < 500 for x in res), [x for x in res if x[-1] >= 500]
