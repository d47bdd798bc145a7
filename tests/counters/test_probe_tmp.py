import pytest
from tests.counters.conftest import DAY, bearer, citizen, enterprise_user
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
HUGE = 10**30
BIG = 2**63

def test_probe(client, city):
    client.raise_request_exception = False
    u = citizen()
    ent, cars = enterprise_user()
    clerk = staff_user("clerk", "clerk802")
    slot = city.slot(city.licence, 9)
    vslot = city.slot(city.vehicle, 9)
    res = []
    def g(url, params=None, **h):
        r = client.get(url, params or {}, **h); res.append((url, params, r.status_code)); return r
    def p(url, data, h, key=None):
        extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        r = client.post(url, data=data, content_type="application/json", **h, **extra); res.append((url, data, r.status_code)); return r
    o = city.office.pk
    for d in ("9999-12-31", "0001-01-01"):
        g(f"/api/v1/counter-offices/{o}/slots", {"service": "licence", "date": d})
    g(f"/api/v1/counter-offices/{BIG}/slots", {"service": "licence", "date": DAY.isoformat()})
    g(f"/api/v1/counter-offices/{HUGE}/slots", {"service": "licence", "date": DAY.isoformat()})
    p("/api/v1/me/appointments", {"slot_id": BIG}, bearer(u), "k-0000001")
    p("/api/v1/me/appointments", {"slot_id": "x"}, bearer(u), "k-0000002")
    p(f"/api/v1/me/appointments/{BIG}/cancel", {}, bearer(u))
    p("/api/v1/me/appointments/batch", {"items": [{"slot_id": BIG, "vehicle_id": cars[0].pk}]}, bearer(ent), "k-0000003")
    p("/api/v1/me/appointments/batch", {"items": [{"slot_id": vslot.pk, "vehicle_id": BIG}]}, bearer(ent), "k-0000004")
    p("/api/v1/me/appointments/batch", {"items": [{"slot_id": vslot.pk, "vehicle_id": cars[0].pk}, {"slot_id": BIG, "vehicle_id": cars[1].pk}]}, bearer(ent), "k-0000005")
    p("/api/v1/me/appointments/batch", {"items": "x"}, bearer(ent), "k-0000006")
    p(f"/api/v1/staff/appointments/{BIG}/attendance", {"attended": True}, bearer(clerk))
    client.force_login(u)
    for d in ("9999-12-31", "0001-01-01"):
        g("/me/appointments/book/", {"office": o, "service": "licence", "date": d})
    g("/me/appointments/book/", {"office": "²", "service": "licence"})
    g("/me/appointments/book/", {"office": str(BIG), "service": "licence"})
    for sid in ("²", str(BIG), "9" * 40):
        r = client.post("/me/appointments/book/", {"slot_id": sid, "idempotency_key": "k" * 20 + sid}); res.append(("book", sid, r.status_code))
    r = client.post(f"/me/appointments/{BIG}/cancel/"); res.append(("cancel", r.status_code))
    client.force_login(ent)
    r = client.post("/me/appointments/batch/", {f"slot_{cars[0].pk}": "²", "idempotency_key": "k" * 30}); res.append(("batch²", r.status_code))
    r = client.post("/me/appointments/batch/", {f"slot_{cars[0].pk}": str(BIG), "idempotency_key": "k" * 31}); res.append(("batchBIG", r.status_code))
    client.force_login(clerk)
    for d in ("9999-12-31", "0001-01-01", "x"):
        g(f"/console/appointments/{city.licence.pk}/{d}/")
    g(f"/console/appointments/{BIG}/2026-03-03/")
    r = client.post(f"/console/appointments/bookings/{BIG}/mark/", {"attended": "1"}); res.append(("mark", r.status_code))
    for x in res: print(x)
    assert all(x[-1] < 500 for x in res), [x for x in res if x[-1] >= 500]
