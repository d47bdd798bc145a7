"""Partners: the partner_create command prints the secret once, the admin manages partners (secret shown once,
edits audited, no delete) and browses health checks masked."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.core.audit import Actor
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import partners
from jiaoguan.registry.models import HealthCheck, Partner
from tests.factories import make_person
from tests.registry.health_support import make_hospital, post, record

pytestmark = pytest.mark.django_db


def test_command_prints_key_id_and_secret_once(client):
    out = io.StringIO()
    call_command("partner_create", "--kind", "hospital", "--name", "深圳市人民医院", "--name-en",
                 "Shenzhen People's Hospital", "--institution-code", "45575959X44030311A1001", stdout=out)
    lines = dict(line.split(None, 1) for line in out.getvalue().splitlines() if line.startswith(("key_id", "secret")))
    partner = Partner.objects.get()
    assert lines["key_id"] == partner.key_id and lines["secret"] == partner.secret
    assert (partner.kind, partner.name_zh, partner.active) == ("hospital", "深圳市人民医院", True)
    assert AuditEntry.objects.filter(action="partner.create", object_id=str(partner.pk)).exists()
    # the printed secret signs requests
    partner.plain_secret = lines["secret"]
    assert post(client, partner, record(make_person(name="王建国"))).status_code == 201


def test_secret_is_stored_encrypted():
    from tests.core.helpers import raw_columns

    partner = make_hospital()
    (stored,) = raw_columns(Partner, partner.pk, "secret")
    assert partner.plain_secret not in stored and stored.startswith("enc1:")


@pytest.mark.parametrize("args,message", [
    (["--kind", "hospital", "--name", "某医院"], "institution code"),
    (["--kind", "hospital", "--name", "X", "--institution-code", "1"], "name"),
])
def test_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("partner_create", *args, stdout=io.StringIO())
    assert Partner.objects.count() == 0


def test_command_refuses_unknown_kind():
    with pytest.raises(CommandError):
        call_command("partner_create", "--kind", "bank", "--name", "某银行", stdout=io.StringIO())


def test_rotate_secret_stops_the_old_one(client):
    hospital = make_hospital()
    person = make_person(name="王建国")
    old = hospital.plain_secret
    _, new = partners.partner_rotate_secret(partner=hospital, actor=Actor.system("test"))
    assert post(client, hospital, record(person), secret=old).status_code == 401
    assert post(client, hospital, record(person), secret=new).status_code == 201


def test_admin_adds_a_partner_and_shows_the_secret_once(admin_client):
    r = admin_client.post("/admin/registry/partner/add/", {
        "kind": "hospital", "name_zh": "深圳市第三人民医院", "name_en": "Third People's Hospital",
        "institution_code": "45575959X44030311A1003", "active": "on"}, follow=True)
    assert r.status_code == 200
    partner = Partner.objects.get()
    body = r.content.decode()
    assert partner.key_id in body and partner.secret in body
    assert AuditEntry.objects.filter(action="partner.create").count() == 1
    # never again
    page = admin_client.get(f"/admin/registry/partner/{partner.pk}/change/").content.decode()
    assert partner.secret not in page and partner.key_id in page


def test_admin_refuses_a_hospital_without_its_code(admin_client):
    r = admin_client.post("/admin/registry/partner/add/", {"kind": "hospital", "name_zh": "某医院", "name_en": "",
                                                            "institution_code": "", "active": "on"})
    assert r.status_code == 200 and "institution code" in r.content.decode()
    assert Partner.objects.count() == 0


def test_admin_deactivates_a_partner_audited(admin_client, client):
    hospital = make_hospital()
    r = admin_client.post(f"/admin/registry/partner/{hospital.pk}/change/", {
        "name_zh": hospital.name_zh, "name_en": hospital.name_en, "institution_code": hospital.institution_code})
    assert r.status_code == 302, r.content.decode()[:2000]
    hospital.refresh_from_db()
    assert hospital.active is False
    entry = AuditEntry.objects.get(action="partner.update")
    assert entry.old == {"active": True} and entry.new == {"active": False}
    hospital.plain_secret = hospital.secret
    assert post(client, hospital, record(make_person(name="王建国"))).status_code == 401


def test_admin_rotate_action_shows_the_new_secret(admin_client):
    hospital = make_hospital()
    r = admin_client.post("/admin/registry/partner/", {"action": "rotate_secret", "_selected_action": [hospital.pk]},
                          follow=True)
    hospital.refresh_from_db()
    assert hospital.secret != hospital.plain_secret and hospital.secret in r.content.decode()


def test_admin_cannot_delete_partners(admin_client):
    hospital = make_hospital()
    assert admin_client.get(f"/admin/registry/partner/{hospital.pk}/delete/").status_code == 403


def test_health_check_admin_is_masked_and_browse_only(admin_client, client):
    hospital = make_hospital()
    person = make_person(name="王建国")
    assert post(client, hospital, record(person, result="fit_with_conditions", conditions="驾车时须戴眼镜")
                ).status_code == 201
    hc = HealthCheck.objects.get()
    listing = admin_client.get("/admin/registry/healthcheck/").content.decode()
    assert "HC-2026-0001" in listing and "王*国" in listing and "王建国" not in listing
    assert person.id_number not in listing
    found = admin_client.get("/admin/registry/healthcheck/", {"q": person.id_number}).content.decode()
    assert f"/admin/registry/healthcheck/{hc.pk}/change/" in found
    detail = admin_client.get(f"/admin/registry/healthcheck/{hc.pk}/change/").content.decode()
    assert "眼镜" not in detail and person.id_number not in detail
    assert admin_client.get("/admin/registry/healthcheck/add/").status_code == 403


def test_partner_nonces_are_purged(client, clock):
    import datetime as dt

    from jiaoguan.core.models import SignedRequestNonce
    from jiaoguan.core.scheduler import jobs
    from jiaoguan.registry.tasks import partner_nonces_purge

    hospital = make_hospital()
    assert post(client, hospital, record(make_person(name="王建国"))).status_code == 201
    assert partner_nonces_purge() == 0
    clock.advance(dt.timedelta(minutes=11))
    assert partner_nonces_purge() == 1 and SignedRequestNonce.objects.count() == 0
    assert "registry.partner_nonces_purge" in {j.name for j in jobs()}
