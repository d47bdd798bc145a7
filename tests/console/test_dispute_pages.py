"""The approvers' dispute queue: who may see it, the audited look at a dispute, confirm / reject."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.models import AuditEntry
from jiaoguan.violations import services
from tests.portal.support import EN, field_errors, staff_user, text
from tests.violations.conftest import JPEG, PNG, _codes, _media, record  # noqa: F401 - autouse fixtures
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    """A camera (the violations tests' fixture, defined here so the name is this module's own)."""
    from jiaoguan.violations import signing

    made, _secret = signing.device_create(name="深南大道电警01", place="深南大道")
    return made

QUEUE = "/console/disputes/"


def camera(vehicle, device, *, code="1352"):
    return record(vehicle, code=code, source="device", actor=Actor.system("test-device"), device=device,
                  device_record_id=secrets.token_hex(6), photos=[services.photo_check(JPEG)])


def submitted(device, *, kind="cloned", reason="当日车辆停放在小区车库，有监控为证", codes=("1352",)):
    user, car = citizen_with_car()
    violations = [camera(car, device, code=c) for c in codes]
    d = services.dispute_submit(user=user, kind=kind, violation_ids=[v.pk for v in violations], reason=reason,
                                photos=[services.photo_check(PNG)])
    return d, user, violations


@pytest.fixture
def approver(client):
    user = staff_user("approver", "appr201", display_name="审批王警官")
    client.force_login(user)
    return user


# --- who may --------------------------------------------------------------------------------------------------------

def test_anonymous_goes_to_the_console_login(client):
    r = client.get(QUEUE)
    assert r.status_code == 302 and r["Location"].startswith("/console/login/?next=")


def test_citizens_cannot_reach_the_queue(client, device):
    d, user, _ = submitted(device)
    client.force_login(user)
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"{QUEUE}{d.pk}/").status_code == 403
    assert client.post(f"{QUEUE}{d.pk}/review/", {"decision": "confirm", "note": "同意"}).status_code == 403
    d.refresh_from_db()
    assert d.status == "submitted"


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_staff_without_the_approver_role_are_refused(client, device, role):
    d, _user, violations = submitted(device)
    client.force_login(staff_user(role, f"{role[:4]}301"))
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"{QUEUE}{d.pk}/").status_code == 403
    ev = violations[0].evidence.first()
    assert client.get(f"{QUEUE}{d.pk}/evidence/{ev.pk}/").status_code == 403
    assert client.post(f"{QUEUE}{d.pk}/review/", {"decision": "confirm", "note": "同意"}).status_code == 403
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS).exists()


# --- the queue and one dispute ---------------------------------------------------------------------------------------

def test_queue_lists_open_disputes_oldest_first(client, approver, device):
    first, _, _ = submitted(device)
    clock.advance(dt.timedelta(minutes=5))
    second, _, _ = submitted(device, kind="appeal")
    reviewed, _, _ = submitted(device)
    services.dispute_review(dispute_id=reviewed.pk, confirm=False, note="证据不足", actor=Actor.of(approver))
    r = client.get(QUEUE)
    assert r.status_code == 200
    assert [row["d"].pk for row in r.context["rows"]] == [first.pk, second.pk]
    body = text(r)
    assert "待审核 2 件" in body and "我被套牌" in body and "申诉" in body
    assert "Cloned plate" in text(client.get(QUEUE, **EN))


def test_opening_a_dispute_is_audited_and_shows_the_evidence(client, approver, device):
    d, user, violations = submitted(device, codes=("1352", "1357"))
    r = client.get(f"{QUEUE}{d.pk}/")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = text(r)
    assert "当日车辆停放在小区车库" in body and "1352" in body and "1357" in body
    assert user.person.name not in body and user.person.name[0] in body  # masked
    html = r.content.decode()
    for v in violations:
        assert f'{QUEUE}{d.pk}/evidence/{v.evidence.first().pk}/' in html
    photo = d.photos.first()
    assert f"{QUEUE}{d.pk}/photos/{photo.pk}/" in html
    rows = AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS, action="dispute.view")
    assert [(e.actor_id, e.subject_person_id, e.object_id) for e in rows] == [(approver.pk, user.person_id, str(d.pk))]

    ev = violations[0].evidence.first()
    r = client.get(f"{QUEUE}{d.pk}/evidence/{ev.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == JPEG
    r = client.get(f"{QUEUE}{d.pk}/photos/{photo.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS).count() == 1  # the page's look covers them
    # evidence of a violation outside this dispute is not reachable through it
    other, _, other_violations = submitted(device)
    assert client.get(f"{QUEUE}{d.pk}/evidence/{other_violations[0].evidence.first().pk}/").status_code == 404
    assert client.get(f"{QUEUE}{d.pk}/photos/{other.photos.first().pk}/").status_code == 404
    assert client.get(f"{QUEUE}999999/").status_code == 404


# --- review ---------------------------------------------------------------------------------------------------------

def test_confirming_voids_the_violations(client, approver, device):
    d, _user, violations = submitted(device, codes=("1352", "1357"))
    r = client.post(f"{QUEUE}{d.pk}/review/", {"decision": "confirm", "note": "核实为套牌车，监控显示本车在车库"})
    assert r.status_code == 302 and r["Location"] == QUEUE
    d.refresh_from_db()
    assert d.status == "confirmed" and d.reviewed_by_id == approver.pk
    for v in violations:
        v.refresh_from_db()
        assert v.status == "revoked"
    assert "已确认成立" in text(client.get(QUEUE))
    # the dispute page stays readable, without the review form
    r = client.get(f"{QUEUE}{d.pk}/")
    assert r.status_code == 200 and "确认申诉成立" not in text(r) and "申诉成立" in text(r)


def test_rejecting_puts_the_violations_back(client, approver, device):
    d, _user, violations = submitted(device, kind="appeal")
    r = client.post(f"{QUEUE}{d.pk}/review/", {"decision": "reject", "note": "照片清晰显示本车闯红灯"})
    assert r.status_code == 302
    d.refresh_from_db()
    violations[0].refresh_from_db()
    assert d.status == "rejected" and violations[0].status == "recorded"


def test_a_review_needs_a_note_and_happens_once(client, approver, device):
    d, _user, _violations = submitted(device)
    r = client.post(f"{QUEUE}{d.pk}/review/", {"decision": "confirm", "note": "  "})
    assert r.status_code == 422 and field_errors(r, "note") == ["请填写审核意见"]
    r = client.post(f"{QUEUE}{d.pk}/review/", {"decision": "maybe", "note": "同意"})
    assert r.status_code == 400
    d.refresh_from_db()
    assert d.status == "submitted"
    assert client.post(f"{QUEUE}{d.pk}/review/", {"decision": "reject", "note": "证据不足"}).status_code == 302
    r = client.post(f"{QUEUE}{d.pk}/review/", {"decision": "confirm", "note": "改为同意"})
    assert r.status_code == 409 and "该申诉已审核" in text(r)
    d.refresh_from_db()
    assert d.status == "rejected"


def test_admins_may_review_too(client, device):
    _d, _user, _ = submitted(device)
    from tests.portal.support import admin_user

    client.force_login(admin_user("admin301"))
    assert client.get(QUEUE).status_code == 200
