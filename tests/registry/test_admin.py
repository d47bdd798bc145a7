"""The registry admin: lists show personal data masked, search goes through the lookup hashes, opening a
person writes an access-audit row, records are browse-only."""
from __future__ import annotations

import pytest

from jiaoguan.core.models import AuditEntry
from tests.factories import make_licence, make_person, make_policy, make_vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    person = make_person(name="王建国", phone="13812345678")
    licence = make_licence(person=person)
    vehicle = make_vehicle(owner=person, plate="粤BK1234")
    policy = make_policy(vehicle=vehicle)
    return person, licence, vehicle, policy


@pytest.mark.parametrize("model", ["person", "drivinglicence", "vehicle", "insurancepolicy", "inspectionrule"])
def test_lists_render_without_personal_data(admin_client, records, model):
    person = records[0]
    r = admin_client.get(f"/admin/registry/{model}/")
    assert r.status_code == 200
    body = r.content.decode()
    assert person.id_number not in body and "13812345678" not in body and "王建国" not in body


def test_person_list_is_masked_and_searchable_by_exact_id_or_phone(admin_client, records):
    person = records[0]
    other = make_person(name="李四")
    body = admin_client.get("/admin/registry/person/").content.decode()
    assert "王*国" in body and "138****5678" in body and person.id_number[:4] + "**********" in body
    found = admin_client.get("/admin/registry/person/", {"q": person.id_number}).content.decode()
    assert f"/admin/registry/person/{person.pk}/change/" in found
    assert f"/admin/registry/person/{other.pk}/change/" not in found
    by_phone = admin_client.get("/admin/registry/person/", {"q": "13812345678"}).content.decode()
    assert f"/admin/registry/person/{person.pk}/change/" in by_phone
    licences = admin_client.get("/admin/registry/drivinglicence/", {"q": person.id_number}).content.decode()
    assert records[1].file_number in licences


def test_opening_a_person_is_audited_and_masked(admin_client, records):
    person = records[0]
    r = admin_client.get(f"/admin/registry/person/{person.pk}/change/")
    assert r.status_code == 200
    body = r.content.decode()
    assert person.id_number not in body and "王*国" in body
    [row] = AuditEntry.objects.filter(kind="access", action="person.view")
    assert row.subject_person_id == person.pk and row.reason == "admin"


def test_records_are_browse_only(admin_client, records):
    person = records[0]
    assert admin_client.get("/admin/registry/person/add/").status_code == 403
    r = admin_client.post(f"/admin/registry/person/{person.pk}/change/", {"gender": "F"})
    assert r.status_code == 403
    assert admin_client.get("/admin/registry/inspectionrule/add/").status_code == 200
