"""The applications API: public catalogue, drafts, submission (Idempotency-Key), uploads, bad input → clear 4xx
with the draft kept, staff queues, claim/act with 409s, statistics."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiaoguan.applications.models import Application, Material
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services as identity
from tests.applications.support import GIF, PDF, citizen, sample_data, staff

pytestmark = pytest.mark.django_db


def auth(user, lang: str | None = None):
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    if lang:
        h["HTTP_ACCEPT_LANGUAGE"] = lang
    return h


def post(client, url, body, h, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **h, **extra)


def test_public_catalogue(client):
    r = client.get("/api/v1/services")
    assert r.status_code == 200
    codes = [s["code"] for s in r.json()]
    assert "t_standard" in codes and "sample" not in codes
    found = [s["code"] for s in client.get("/api/v1/services", {"q": "紧急"}).json()]
    assert "t_urgent" in found and "t_standard" not in found
    g = client.get("/api/v1/services/sample").json()
    assert g["name"] == {"zh": "示例通行许可", "en": "Sample permit"} and g["time_limit_days"] == 3
    assert g["guide"]["legal_basis"][0]["en"].startswith("Road Traffic Safety Law")
    held = {m["code"]: m["held_by_platform"] for m in g["materials"]}
    assert held == {"identity": True, "licence": True, "route_map": False}
    assert [f["name"] for f in g["form"]][:2] == ["plate", "urgency"] and g["approve_first"] is True
    r = client.get("/api/v1/services/nope", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"


def _start(client, h, data=None):
    r = post(client, "/api/v1/me/applications", {"service": "sample", "data": data or sample_data()}, h)
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _upload(client, h, app_id, content=PDF, slot="route_map", name="map.pdf"):
    return client.post(f"/api/v1/me/applications/{app_id}/materials",
                       {"slot": slot, "file": SimpleUploadedFile(name, content)}, **h)


def test_citizen_journey(client, workday):
    user = citizen()
    h = auth(user)
    app_id = _start(client, h, sample_data(note=""))
    r = client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"note": "夜间通行"}}),
                     content_type="application/json", **h)
    assert r.status_code == 200
    form = {f["name"]: f["value"] for f in r.json()["form"]}
    assert form["note"] == "夜间通行" and form["contact_phone"] == "138****8000"  # masked even for the owner
    assert r.json()["personal_fields_set"] == ["contact_phone"]
    m = _upload(client, h, app_id)
    assert m.status_code == 201 and m.json()["content_type"] == "application/pdf"
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", **h)
    assert r.status_code == 422 and r.json()["code"] == "core.idempotency_key"
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="submit-0001", **h)
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    again = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="submit-0001", **h)
    assert again.status_code == 200 and again.json()["reference"] == r.json()["reference"]
    listed = client.get("/api/v1/me/applications", **h).json()
    assert [a["id"] for a in listed] == [app_id]
    detail = client.get(f"/api/v1/me/applications/{app_id}", **auth(user, "en")).json()
    assert [e["action"] for e in detail["timeline"]] == ["submit"]
    assert detail["timeline"][0]["label"] == "Submitted" and detail["status_label"] == "Waiting for acceptance"
    assert {m["kind"] for m in detail["materials"]} == {"upload", "held"}
    # someone else's application is a 404
    other = auth(citizen())
    assert client.get(f"/api/v1/me/applications/{app_id}", **other).status_code == 404
    assert client.get("/api/v1/me/applications").status_code == 401


def test_bad_input_is_a_clear_4xx_and_the_draft_is_kept(client, workday):
    user = citizen(licence=False)
    h = auth(user, "en")
    app_id = _start(client, h)
    # wrong type (by content, whatever the name says), oversized, unknown slot, no file
    r = _upload(client, h, app_id, GIF, name="map.pdf")
    assert r.status_code == 422 and r.json()["code"] == "applications.file_type" and "file" in r.json()["fields"]
    r = _upload(client, h, app_id, PDF + bytes(600 * 1024))
    assert r.status_code == 422 and r.json()["code"] == "applications.file_too_large"
    assert "512 KB" in r.json()["message"]
    r = _upload(client, h, app_id, slot="identity")
    assert r.status_code == 422 and r.json()["code"] == "applications.unknown_slot"
    r = client.post(f"/api/v1/me/applications/{app_id}/materials", {"slot": "route_map"}, **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.file_missing"
    # tampered form: an undeclared field, a choice that is not offered
    r = client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"status": "approved"}}),
                     content_type="application/json", **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.unknown_field"
    r = client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"urgency": "vip"}}),
                     content_type="application/json", **h)
    assert r.status_code == 422 and r.json()["fields"]["urgency"] == "The chosen value is not one of the choices"
    # missing materials and a bad plate at submission: every problem at once
    client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"plate": "粤B"}}),
                 content_type="application/json", **h)
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="submit-bad-1", **h)
    assert r.status_code == 422 and r.json()["code"] == "applications.form_invalid"
    assert set(r.json()["fields"]) == {"plate", "licence", "route_map"}
    app = Application.objects.get(pk=app_id)
    assert app.status == "draft" and app.form()["urgency"] == "normal" and app.form()["plate"] == "粤B"
    assert Material.objects.filter(application=app).count() == 0
    # malformed body
    r = client.post("/api/v1/me/applications", "{", content_type="application/json", **h)
    assert r.status_code in (400, 422)


def test_resubmit_and_withdraw(client, workday):
    user, clerk = citizen(), staff("clerk")
    h = auth(user)
    app_id = _start(client, h)
    _upload(client, h, app_id)
    client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="s-00000001", **h)
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "send_back", "comment": "路线图不清晰"},
             auth(clerk))
    assert r.status_code == 200 and r.json()["status"] == "returned"
    d = client.get(f"/api/v1/me/applications/{app_id}", **h).json()
    assert d["timeline"][-1]["comment"] == "路线图不清晰" and d["timeline"][-1]["role"] == "窗口民警"
    assert "actor" not in d["timeline"][-1]  # the applicant sees the role, not the officer's name
    r = post(client, f"/api/v1/me/applications/{app_id}/resubmit", {"comment": "已更换"}, h,
             HTTP_IDEMPOTENCY_KEY="r-00000001")
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    r = post(client, f"/api/v1/me/applications/{app_id}/withdraw", {}, h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_staff_queue_claim_act_and_conflicts(client, workday):
    user = citizen()
    clerk, clerk2, approver = staff("clerk"), staff("clerk"), staff("approver")
    h = auth(user)
    app_id = _start(client, h)
    _upload(client, h, app_id)
    client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="s-00000002", **h)
    hc, hc2, ha = auth(clerk), auth(clerk2, "en"), auth(approver, "en")
    q = client.get("/api/v1/staff/applications", {"queue": "acceptance"}, **hc).json()
    assert [a["id"] for a in q["items"]] == [app_id] and q["more"] is False
    assert client.get("/api/v1/staff/applications", **h).status_code == 403  # citizens are not staff
    assert client.get("/api/v1/staff/applications", {"queue": "everything"}, **hc).status_code == 404
    assert client.post(f"/api/v1/staff/applications/{app_id}/claim", **hc).status_code == 200
    r = client.post(f"/api/v1/staff/applications/{app_id}/claim", **hc2)
    assert r.status_code == 409 and r.json()["code"] == "applications.claimed"
    assert clerk.display_name in r.json()["message"]
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "accept"}, hc)
    assert r.status_code == 200 and r.json()["status"] == "under_review" and r.json()["due_at"]
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "accept"}, hc2)
    assert r.status_code == 409 and r.json()["code"] == "applications.state_changed"
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "review", "comment": "ok"}, hc2)
    assert r.status_code == 200 and r.json()["status"] == "reviewed"
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "approve"}, hc2)
    assert r.status_code == 403  # a clerk may not approve
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "reject"}, ha)
    assert r.status_code == 422 and r.json()["fields"]["comment"]
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "approve"}, ha)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert client.get("/api/v1/staff/applications/counts", **ha).json()["approval"] == 0
    # the staff view: full history with names, materials with a download link, access-audited
    before = AuditEntry.objects.filter(kind="access").count()
    d = client.get(f"/api/v1/staff/applications/{app_id}", **ha).json()
    assert [e["action"] for e in d["timeline"]] == ["draft", "submit", "claim", "accept", "review", "approve"]
    assert d["timeline"][3]["actor"].endswith(clerk.username)
    upload = next(m for m in d["materials"] if m["kind"] == "upload")
    f = client.get(upload["download"], **ha)
    assert f.status_code == 200 and b"".join(f.streaming_content) == PDF
    assert AuditEntry.objects.filter(kind="access").count() == before + 2


def test_acceptor_told_when_trying_to_approve(client, workday):
    user, both = citizen(), staff("approver")
    h = auth(user)
    r = post(client, "/api/v1/me/applications", {"service": "t_standard", "data": {"plate": "粤BA1234"}}, h)
    app_id = r.json()["id"]
    client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="s-00000003", **h)
    post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "accept"}, auth(both))
    r = post(client, f"/api/v1/staff/applications/{app_id}/act", {"action": "approve"}, auth(both, "en"))
    assert r.status_code == 403 and r.json()["code"] == "applications.separation_of_duties"
    assert "different people" in r.json()["message"]



def test_statistics_endpoint(client, workday):
    approver, auditor, clerk = staff("approver"), staff("auditor"), staff("clerk")
    user = citizen()
    h = auth(user)
    r = post(client, "/api/v1/me/applications", {"service": "t_auto", "data": {"purpose": "出行"}}, h)
    client.post(f"/api/v1/me/applications/{r.json()['id']}/submit", HTTP_IDEMPOTENCY_KEY="s-00000004", **h)
    rows = client.get("/api/v1/staff/application-statistics", {"since": "2026-11-01"}, **auth(auditor)).json()
    assert rows == [{"service_code": "t_auto", "received": 1, "done": 1, "on_time": 1, "late": 0, "open": 0,
                     "overdue": 0, "name_zh": "测试自动审批", "name_en": "Test auto-approval"}]
    assert client.get("/api/v1/staff/application-statistics", **auth(clerk)).status_code == 403
    assert client.get("/api/v1/staff/application-statistics", {"until": "2026-11-01"},
                      **auth(approver)).json() == []


def test_release_via_api(client, workday):
    user, clerk, clerk2, boss = citizen(), staff("clerk"), staff("clerk"), staff("approver")
    h = auth(user)
    app_id = post(client, "/api/v1/me/applications", {"service": "t_standard", "data": {"plate": "粤BA1234"}},
                  h).json()["id"]
    client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="s-00000005", **h)
    client.post(f"/api/v1/staff/applications/{app_id}/claim", **auth(clerk))
    r = client.post(f"/api/v1/staff/applications/{app_id}/release", **auth(clerk2))
    assert r.status_code == 409
    r = client.post(f"/api/v1/staff/applications/{app_id}/release?force=true", **auth(boss))
    assert r.status_code == 200 and r.json()["claimed_by"] is None
    client.post(f"/api/v1/staff/applications/{app_id}/claim", **auth(clerk2))
    r = client.post(f"/api/v1/staff/applications/{app_id}/release", **auth(clerk2))
    assert r.status_code == 200 and r.json()["claimed_by"] is None


def test_ineligible_reasons_in_both_languages(client, workday):
    user = citizen(verified=False)
    app_id = _start(client, auth(user))
    _upload(client, auth(user), app_id)
    for lang, text in (("zh-hans", "请先完成实名认证再申请"), ("en", "Please complete real-name verification")):
        r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY=f"s-inel-{lang}",
                        **auth(user, lang))
        assert r.status_code == 422 and r.json()["code"] == "applications.ineligible"
        assert text in r.json()["fields"]["eligibility.account.not_verified"]
    assert Application.objects.get(pk=app_id).status == "draft"


def test_staff_api_does_not_show_a_draft_or_its_uploads(client):
    """A draft is the citizen's own until submitted: the staff API answers 404 for it and for its files, as the
    console does (one check, selectors.application_for_staff / upload_for_staff), and records no staff look."""
    from tests.applications.support import draft

    app = draft(citizen(), "sample")
    upload = app.materials.get(kind="upload")
    h = auth(staff("approver"))
    assert client.get(f"/api/v1/staff/applications/{app.pk}", **h).status_code == 404
    assert client.get(f"/api/v1/staff/applications/{app.pk}/materials/{upload.pk}", **h).status_code == 404
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS, subject_person_id=app.applicant.person_id).exists()
