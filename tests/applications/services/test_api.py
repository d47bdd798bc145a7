"""The delivered services over the API: every guide is public, and bad input is a clear 4xx in the asked
language with the draft kept."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiaoguan.applications.models import Application
from jiaoguan.identity import services as identity
from tests.applications.services.support import PNG, citizen, hospital_check
from tests.applications.support import GIF

pytestmark = pytest.mark.django_db
SERVICES = ("truck_pass", "nonlocal_pass", "parking_licence", "licence_renewal", "relief_fund")


def auth(user, lang: str | None = None):
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    if lang:
        h["HTTP_ACCEPT_LANGUAGE"] = lang
    return h


def test_every_guide_is_public_and_searchable(client):
    listed = {s["code"] for s in client.get("/api/v1/services").json()}
    assert set(SERVICES) <= listed
    for code in SERVICES:
        g = client.get(f"/api/v1/services/{code}").json()
        assert g["name"]["zh"] and g["name"]["en"] and g["guide"]["legal_basis"], code
    assert "nonlocal_pass" in {s["code"] for s in client.get("/api/v1/services", {"q": "外地车"}).json()}
    assert "truck_pass" in {s["code"] for s in client.get("/api/v1/services", {"q": "truck"}).json()}
    g = client.get("/api/v1/services/licence_renewal").json()
    held = {m["code"]: m["held_by_platform"] for m in g["materials"]}
    assert held == {"identity": True, "licence": True, "health_check": True, "photo": False}


def test_bad_input_over_the_api(client, workday):
    from tests.factories import make_licence

    user = citizen(licence=False)
    make_licence(person=user.person, valid_until=workday.today().replace(month=12, day=20))
    h = auth(user, "en")
    r = client.post("/api/v1/me/applications", json.dumps({"service": "licence_renewal",
                                                           "data": {"kind": "renew", "address": "深圳市南山区科苑路15号"}}),
                    content_type="application/json", **h)
    assert r.status_code == 201, r.content
    app_id = r.json()["id"]
    r = client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"licence_valid_until": "2036-01-01"}}),
                     content_type="application/json", **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.unknown_field"
    r = client.post(f"/api/v1/me/applications/{app_id}/materials",
                    {"slot": "photo", "file": SimpleUploadedFile("me.png", GIF)}, **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.file_type"
    r = client.post(f"/api/v1/me/applications/{app_id}/materials",
                    {"slot": "health_check", "file": SimpleUploadedFile("hc.png", PNG)}, **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.unknown_slot"  # held, never uploaded
    r = client.post(f"/api/v1/me/applications/{app_id}/materials",
                    {"slot": "photo", "file": SimpleUploadedFile("me.png", PNG)}, **h)
    assert r.status_code == 201
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="renew-0001", **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.ineligible"
    assert "health-check certificate" in r.json()["message"]
    assert Application.objects.get(pk=app_id).status == "draft"
    hospital_check(user.person)
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="renew-0002", **h)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_payment"
    fee = r.json()["fee"]
    assert fee["total_fen"] == 1000 and fee["lines"][0]["code"] == "licence_card" and fee["payable_reference"]
    assert fee["due_at"] and fee["status"] == "unpaid"
