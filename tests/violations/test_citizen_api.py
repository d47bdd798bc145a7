"""The citizens' API: my violations with evidence, handle (Idempotency-Key), waiver, dispute."""

import pytest

from jiaoguan.core import clock
from jiaoguan.identity import services as identity
from jiaoguan.violations.models import Dispute, PenaltyDecision
from tests.violations.conftest import JPEG, b64, camera
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


@pytest.fixture
def owner():
    return citizen_with_car()


def test_list_and_detail(client, owner, device, payments):
    user, car = owner
    v = camera(car, device, code="1352")
    h = auth(user)
    r = client.get("/api/v1/me/violations", **h)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == [v.pk]
    d = client.get(f"/api/v1/me/violations/{v.pk}", **h).json()
    assert d["online"] == {"allowed": True, "reasons": []} and d["decision"] is None
    big = camera(car, device, code="1625")
    d = client.get(f"/api/v1/me/violations/{big.pk}", **h).json()
    assert not d["online"]["allowed"] and d["online"]["reasons"][0]["code"] == "violations.fine_too_high"
    assert not d["waiver_offer"]["allowed"]  # a 6-point red light: the waiver is not offered, and why
    assert [r["code"] for r in d["waiver_offer"]["reasons"]] == ["violations.no_waiver.shenzhen",
                                                                  "violations.no_waiver.national"]
    assert client.get("/api/v1/me/violations/999999", **h).status_code == 404
    assert client.get("/api/v1/me/violations").status_code == 401


def test_evidence_urls(client, owner, device, payments):
    from jiaoguan.core.audit import Actor
    from jiaoguan.violations import services

    user, car = owner
    v = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1352", place="x",
                                  occurred_at=clock.now(), source="device", actor=Actor.system("t"), device=device,
                                  device_record_id="E1", photos=[services.photo_check(JPEG)]).violation
    r = client.get(f"/api/v1/me/violations/{v.pk}", **auth(user)).json()
    assert len(r["photos"]) == 1 and r["photos"][0].startswith("/media/violations/")


def test_handle_with_idempotency_key(client, owner, device, payments):
    user, car = owner
    v = camera(car, device, code="1357")
    h = auth(user)
    url = f"/api/v1/me/violations/{v.pk}/handle"
    assert client.post(url, **h).status_code == 422  # no key
    r1 = client.post(url, HTTP_IDEMPOTENCY_KEY="handle-0001", **h)
    r2 = client.post(url, HTTP_IDEMPOTENCY_KEY="handle-0001", **h)
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert PenaltyDecision.objects.count() == 1 and len(payments.created) == 1
    assert len(r1.json()["number"]) == 15
    # a new key on a handled violation: the same decision still
    r3 = client.post(url, HTTP_IDEMPOTENCY_KEY="handle-0002", **h)
    assert r3.json()["number"] == r1.json()["number"]


def test_handle_refused_says_why_in_both_languages(client, owner, device, payments):
    user, car = owner
    v = camera(car, device, code="1625")
    r = client.post(f"/api/v1/me/violations/{v.pk}/handle", HTTP_IDEMPOTENCY_KEY="handle-0003",
                    HTTP_ACCEPT_LANGUAGE="en", **auth(user))
    assert r.status_code == 403 and r.json()["code"] == "violations.fine_too_high"
    assert "counter" in r.json()["message"]


def test_waiver_request(client, owner, device, payments, settings):
    user, car = owner
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}  # not waived automatically when recorded
    v = camera(car, device, code="1116")
    assert v.status == "recorded"
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ("national",)}
    r = client.post(f"/api/v1/me/violations/{v.pk}/waiver", **auth(user))
    assert r.status_code == 200 and r.json()["status"] == "waived" and r.json()["waiver_rule"] == "national"
    assert (r.json()["points"], r.json()["fine_fen"]) == (0, 0) and "首违警告" in r.json()["waiver"]["zh"]
    other = camera(car, device, code="1352")
    r = client.post(f"/api/v1/me/violations/{other.pk}/waiver", **auth(user))
    assert r.status_code == 409 and r.json()["code"] == "violations.no_waiver"


def test_dispute_submit(client, owner, device, payments):
    user, car = owner
    v = camera(car, device)
    r = client.post("/api/v1/me/disputes", data={"kind": "cloned", "violation_ids": [v.pk],
                                                 "reason": "当时车辆停在小区车库，有监控为证", "photos": [b64(JPEG)]},
                    content_type="application/json", **auth(user))
    assert r.status_code == 201, r.content
    d = Dispute.objects.get()
    assert d.photos.count() == 1
    v.refresh_from_db()
    assert v.status == "disputed"
    bad = client.post("/api/v1/me/disputes", data={"kind": "cloned", "violation_ids": [v.pk], "reason": "x"},
                      content_type="application/json", **auth(user))
    assert bad.status_code == 422 and "reason" in bad.json()["fields"]
