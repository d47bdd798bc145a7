"""The API: citizens' selection end to end with Idempotency-Key, bad input (4xx, nothing written), staff."""
from __future__ import annotations

import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services as identity
from jiaoguan.plates.models import PlateNumber, Selection, WithholdPolicy
from tests.plates.conftest import owner_with_new_car
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def post(client, url, h, body=None, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data=body or {}, content_type="application/json", **h, **extra)


def test_citizen_journey(client, owner):
    user, car = owner
    h = auth(user)
    vehicles = client.get("/api/v1/me/plates/vehicles", **h).json()
    assert vehicles == [{"vehicle_id": car.pk, "plate": car.plate, "plate_type": "02", "eligible": True,
                         "reasons": [], "selection_id": None}]
    r = post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": car.pk})
    assert r.status_code == 201
    sid = r.json()["id"]
    base = f"/api/v1/me/plates/selections/{sid}"
    assert post(client, f"{base}/draw", h).status_code == 422  # no Idempotency-Key
    d1 = post(client, f"{base}/draw", h, key="draw-000001")
    d1b = post(client, f"{base}/draw", h, key="draw-000001")
    assert d1.status_code == d1b.status_code == 200 and d1.json() == d1b.json()
    body = d1.json()
    assert body["draws_used"] == 1 and body["draws_left"] == 1 and len(body["offered"]) == 5
    d2 = post(client, f"{base}/draw", h, key="draw-000002").json()
    d3 = post(client, f"{base}/draw", h, key="draw-000003")
    assert d3.status_code == 409 and d3.json()["code"] == "plates.redraw_limit"
    assert client.get(base, **h, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    number = d2["offered"][0]["number"]
    held = post(client, f"{base}/hold", h, {"number": number}, key="hold-0000001").json()
    assert held["held"]["number"] == number
    c = post(client, f"{base}/confirm", h, key="confirm-00001")
    assert c.status_code == 200 and c.json()["status"] == "confirmed" and c.json()["plate"] == number
    car.refresh_from_db()
    assert car.plate == number
    assert [s["id"] for s in client.get("/api/v1/me/plates/selections", **h).json()] == [sid]


def test_compose_and_release(client, owner):
    user, car = owner
    h = auth(user)
    sid = post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": car.pk}).json()["id"]
    base = f"/api/v1/me/plates/selections/{sid}"
    ok = post(client, f"{base}/compose", h, {"number": "粤B·8K123"})
    assert ok.status_code == 200 and ok.json() == {"number": "粤B8K123", "available": True}
    bad = post(client, f"{base}/compose", h, {"number": "粤BAB1C2"})
    assert bad.status_code == 422 and bad.json()["code"] == "plates.too_many_letters"
    assert "number" in bad.json()["fields"]
    bad = post(client, f"{base}/compose", h, {"number": "粤B1A2B3"}, )
    assert bad.status_code == 422
    r = post(client, f"{base}/hold", h, {"number": "粤B8K123"}, key="hold-0000002")
    assert r.status_code == 200 and r.json()["held"]["number"] == "粤B8K123"
    r = post(client, f"{base}/release", h, key="release-0001")
    assert r.status_code == 200 and r.json()["held"] is None
    assert PlateNumber.objects.get(number="粤B8K123").status == "available"


def test_bad_input_writes_nothing(client, owner):
    user, car = owner
    other_user, other_car = owner_with_new_car()
    h = auth(user)
    before = AuditEntry.objects.count()
    r = post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": other_car.pk})
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": 999999}).status_code == 404
    assert post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": "x"}).status_code == 422
    assert not Selection.objects.exists() and AuditEntry.objects.count() == before
    # someone else's selection
    other_sid = post(client, "/api/v1/me/plates/selections", auth(other_user),
                     {"vehicle_id": other_car.pk}).json()["id"]
    count = AuditEntry.objects.count()
    for action in ("draw", "hold", "confirm", "release"):
        r = post(client, f"/api/v1/me/plates/selections/{other_sid}/{action}", h, {"number": "粤BA0001"},
                 key=f"{action}-other-1")
        assert r.status_code == 404, action
    assert client.get(f"/api/v1/me/plates/selections/{other_sid}", **h).status_code == 404
    assert AuditEntry.objects.count() == count
    # a composed number that is withheld, or breaks the rules
    sid = post(client, "/api/v1/me/plates/selections", h, {"vehicle_id": car.pk}).json()["id"]
    WithholdPolicy.objects.all().delete()
    from jiaoguan.plates import services
    from tests.plates.conftest import APPROVER

    services.policy_add(office=Selection.objects.get(pk=sid).office, name="警用", rule="prefix", value="J",
                        actor=APPROVER)
    count = AuditEntry.objects.count()
    r = post(client, f"/api/v1/me/plates/selections/{sid}/hold", h, {"number": "粤BJ0001"}, key="hold-j-00001")
    assert r.status_code == 409 and r.json()["code"] == "plates.withheld"
    r = post(client, f"/api/v1/me/plates/selections/{sid}/hold", h, {"number": "粤BIO123"}, key="hold-io-0001")
    assert r.status_code == 422
    assert AuditEntry.objects.count() == count and not PlateNumber.objects.filter(status="held").exists()
    assert client.get("/api/v1/me/plates/vehicles").status_code == 401


def test_staff_endpoints(client, office):
    clerk = staff_user("clerk", "clerk301")
    approver = staff_user("approver", "appr301")
    hc, ha = auth(clerk), auth(approver)
    offices = client.get("/api/v1/staff/plates/offices", **hc).json()
    assert offices[0]["prefix"] == "粤B" and offices[0]["counts"]["02"]["available"] == 1000
    assert post(client, f"/api/v1/staff/plates/offices/{office.pk}/generate", hc,
                {"kind": "02", "series": "C####"}).status_code == 403
    r = post(client, f"/api/v1/staff/plates/offices/{office.pk}/generate", ha, {"kind": "02", "series": "C000#"})
    assert r.status_code == 200 and r.json()["added"] == 10
    r = post(client, f"/api/v1/staff/plates/offices/{office.pk}/generate", ha, {"kind": "02", "series": "C0#"})
    assert r.status_code == 422 and r.json()["code"] == "plates.series"
    r = post(client, "/api/v1/staff/plates/policies", ha, {"office_id": office.pk, "name": "含4", "rule": "contains",
                                                           "value": "4"})
    assert r.status_code == 201
    pid = r.json()["id"]
    assert post(client, "/api/v1/staff/plates/policies", hc, {"office_id": office.pk, "name": "x", "rule": "prefix",
                                                              "value": "J"}).status_code == 403
    assert [p["id"] for p in client.get("/api/v1/staff/plates/policies", **hc).json()] == [pid]
    r = post(client, f"/api/v1/staff/plates/policies/{pid}/deactivate", ha)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/staff/plates/holds", **hc).json() == []
    user, car = owner_with_new_car()
    assert client.get("/api/v1/staff/plates/holds", **auth(user)).status_code == 403
