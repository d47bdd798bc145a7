"""POST /api/v1/partners/health-checks: signed by a hospital, validated, idempotent, audited."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry, SignedRequestNonce
from jiaoguan.registry.models import HealthCheck
from tests.factories import make_person, unique_id_number
from tests.registry.health_support import URL, make_hospital, post, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital():
    return make_hospital()


@pytest.fixture
def person():
    return make_person(name="王建国")


def nothing_written():
    return (HealthCheck.objects.count() == 0 and SignedRequestNonce.objects.count() == 0
            and not AuditEntry.objects.filter(action__startswith="health_check.").exists())


def test_new_record_is_stored_and_audited(client, hospital, person):
    examined = clock.today() - dt.timedelta(days=3)
    r = post(client, hospital, record(person, examined_on=examined))
    assert r.status_code == 201, r.content
    out = r.json()
    hc = HealthCheck.objects.get()
    assert out == {"id": hc.pk, "record_number": "HC-2026-0001", "created": True, "result": "fit",
                   "examined_on": examined.isoformat(), "valid_until": hc.valid_until.isoformat()}
    assert hc.person == person and hc.hospital == hospital
    assert str(hc.vision_left) == "5.0" and str(hc.vision_right) == "5.1"
    entry = AuditEntry.objects.get(action="health_check.receive")
    assert entry.subject_person_id == person.pk and entry.actor_role == "partner"
    assert entry.actor_label == f"partner:{hospital.key_id}"
    dumped = json.dumps(entry.new, ensure_ascii=False)
    assert person.id_number not in dumped and "王建国" not in dumped  # no personal data in the audit row


def test_repeat_is_200_with_the_first_record(client, hospital, person):
    first = post(client, hospital, record(person))
    again = post(client, hospital, record(person))  # a new nonce, same content
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "created": False}
    assert HealthCheck.objects.count() == 1
    assert AuditEntry.objects.filter(action="health_check.receive_repeat", subject_person_id=person.pk).count() == 1


def test_repeat_tolerates_equivalent_spelling(client, hospital, person):
    assert post(client, hospital, record(person)).status_code == 201
    same = record(person, vision_left="5.0", name=f" {person.name} ", id_number=person.id_number.lower())
    assert post(client, hospital, same).status_code == 200


@pytest.mark.parametrize("change", [
    {"result": "unfit"},
    {"vision_right": 4.8},
    {"hearing_normal": False},
    {"result": "fit_with_conditions", "conditions": "驾车时须戴眼镜"},
    {"examined_on": "days-10"},
])
def test_conflicting_repeat_is_409_and_changes_nothing(client, hospital, person, change):
    assert post(client, hospital, record(person)).status_code == 201
    if change.get("examined_on") == "days-10":
        change = {"examined_on": clock.today() - dt.timedelta(days=10)}
    r = post(client, hospital, record(person, **change))
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "registry.health_check_conflict" and "record_number" in r.json()["fields"]
    hc = HealthCheck.objects.get()
    assert (hc.result, str(hc.vision_right), hc.hearing_normal) == ("fit", "5.1", True)
    conflict = AuditEntry.objects.get(action="health_check.receive_conflict")
    assert conflict.subject_person_id == person.pk and conflict.new["differs"]


def test_conflict_for_another_person_under_the_same_number(client, hospital, person):
    other = make_person(name="李四")
    assert post(client, hospital, record(person)).status_code == 201
    assert post(client, hospital, record(other)).status_code == 409
    assert HealthCheck.objects.get().person == person


def test_same_number_from_two_hospitals_is_two_records(client, hospital, person):
    other = make_hospital(name="深圳市第二人民医院", code="45575959X44030311A1002")
    assert post(client, hospital, record(person)).status_code == 201
    assert post(client, other, record(person)).status_code == 201
    assert HealthCheck.objects.count() == 2


# --- signatures --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how,code", [
    ("unsigned", "partners.unsigned"),
    ("no_key", "partners.unsigned"),
    ("no_timestamp", "partners.unsigned"),
    ("no_nonce", "partners.unsigned"),
    ("no_signature", "partners.unsigned"),
    ("wrong_secret", "partners.bad_signature"),
    ("unknown_key", "partners.bad_signature"),
    ("tampered_body", "partners.bad_signature"),
    ("other_path", "partners.bad_signature"),
    ("other_method", "partners.bad_signature"),
    ("stale", "partners.stale"),
    ("future", "partners.stale"),
    ("short_nonce", "partners.nonce"),
])
def test_bad_signatures_are_401_and_write_nothing(client, hospital, person, how, code):
    body = record(person)
    now = int(clock.now().timestamp())
    if how == "unsigned":
        r = client.post(URL, data=body, content_type="application/json")
    elif how.startswith("no_"):
        r = post(client, hospital, body, drop=how[3:])
    elif how == "wrong_secret":
        r = post(client, hospital, body, secret="not-the-secret")
    elif how == "unknown_key":
        r = post(client, hospital, body, key_id="pk_nobody")
    elif how == "tampered_body":
        r = post(client, hospital, body, send=json.dumps({**body, "result": "unfit"}).encode())
    elif how == "other_path":
        r = post(client, hospital, body, path="/api/v1/partners/other")
    elif how == "other_method":
        r = post(client, hospital, body, method="PUT")
    elif how == "stale":
        r = post(client, hospital, body, ts=now - 301)
    elif how == "future":
        r = post(client, hospital, body, ts=now + 360)  # margin: a slow request must not bring it back in the window
    else:
        r = post(client, hospital, body, nonce="abc")
    assert r.status_code == 401, r.content
    assert r.json()["code"] == code
    assert nothing_written()


def test_bad_timestamp_signed_correctly_is_stale(client, hospital, person):
    # a non-numeric timestamp that is signed correctly gets past the signature check and is refused as stale
    r = post(client, hospital, record(person), ts="2026-11-21T09:00")
    assert r.status_code == 401 and r.json()["code"] == "partners.stale"


def test_skew_window_edges(client, hospital, person, settings):
    now = int(clock.now().timestamp())
    assert post(client, hospital, record(person, number="A1"), ts=now - 299).status_code == 201
    settings.JIAOGUAN_PARTNERS = {"MAX_SKEW_SECONDS": 60}
    assert post(client, hospital, record(person, number="A2"), ts=now - 120).status_code == 401


def test_replay_is_refused(client, hospital, person):
    assert post(client, hospital, record(person), nonce="nonce-0001").status_code == 201
    replay = post(client, hospital, record(person, number="HC-2"), nonce="nonce-0001")
    assert replay.status_code == 401 and replay.json()["code"] == "partners.replayed"
    assert HealthCheck.objects.count() == 1


def test_the_same_nonce_is_fine_for_another_partner(client, hospital, person):
    other = make_hospital(name="深圳市第二人民医院", code="45575959X44030311A1002")
    assert post(client, hospital, record(person), nonce="shared-nonce").status_code == 201
    assert post(client, other, record(person), nonce="shared-nonce").status_code == 201


def test_inactive_or_non_hospital_partner_is_refused(client, person):
    assert post(client, make_hospital(active=False), record(person)).status_code == 401
    # only hospitals send health checks: another kind's key is "unknown" here (no kinds besides hospital yet,
    # so flip the kind in the database)
    from jiaoguan.registry.models import Partner

    other = make_hospital(name="某保险公司", code="X1")
    Partner.objects.filter(pk=other.pk).update(kind="insurer")
    assert post(client, other, record(person)).status_code == 401
    assert HealthCheck.objects.count() == 0


def test_refusal_message_follows_the_language(client, hospital, person):
    r = post(client, hospital, record(person), secret="nope", lang="en")
    assert r.json()["message"] == "The signature is not valid"
    r = post(client, hospital, record(person), secret="nope")
    assert r.json()["message"] == "签名无效"


# --- validation ----------------------------------------------------------------------------------------------------

def _bad_check_digit(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("change,field,code", [
    ("bad_check_digit", "id_number", "id_number.check_digit"),
    ({"id_number": "12345"}, "id_number", "id_number.format"),
    ("unknown_person", "id_number", "registry.person_unknown"),
    ({"name": "李四"}, "name", "registry.name_mismatch"),
    ({"name": "X"}, "name", "registry.name_invalid"),
    ("future", "examined_on", "registry.date_in_future"),
    ({"examined_on": "1900-01-01"}, "examined_on", "registry.date_before_birth"),
    ({"examined_on": "21/11/2026"}, "examined_on", "registry.bad_record"),
    ({"result": "maybe"}, "result", "registry.bad_record"),
    ({"result": "fit_with_conditions"}, "conditions", "registry.conditions_required"),
    ({"conditions": "戴眼镜"}, "conditions", "registry.conditions_unexpected"),
    ({"vision_left": 6.0}, "vision_left", "registry.vision_invalid"),
    ({"vision_left": 4.85}, "vision_left", "registry.vision_invalid"),
    ({"vision_right": "good"}, "vision_right", "registry.bad_record"),
    ({"hearing_normal": "yes"}, "hearing_normal", "registry.bad_record"),
    ({"record_number": "HC 0001"}, "record_number", "registry.record_number_invalid"),
    ({"extra": 1}, "extra", "registry.bad_record"),
])
def test_invalid_records_are_422_with_field_errors_and_write_nothing(client, hospital, person, change, field, code):
    if change == "bad_check_digit":
        change = {"id_number": _bad_check_digit(person.id_number)}
    elif change == "unknown_person":
        change = {"id_number": unique_id_number()}  # valid, but nobody in the registry has it
    elif change == "future":
        change = {"examined_on": (clock.today() + dt.timedelta(days=1)).isoformat()}
    r = post(client, hospital, record(person, **change))
    assert r.status_code == 422, r.content
    out = r.json()
    assert out["code"] == code and field in out["fields"], out
    assert nothing_written()


def test_several_errors_are_reported_together(client, hospital, person):
    r = post(client, hospital, record(person, name="李四", vision_left=9.9,
                                      examined_on=(clock.today() + dt.timedelta(days=2)).isoformat()))
    assert r.status_code == 422
    out = r.json()
    assert out["code"] == "registry.health_check_invalid"
    assert {"name", "vision_left", "examined_on"} <= set(out["fields"])


def test_not_json_is_422(client, hospital):
    r = post(client, hospital, b"{not json")
    assert r.status_code == 422 and r.json()["code"] == "registry.bad_json"
    assert nothing_written()


def test_examination_today_is_accepted(client, hospital, person):
    assert post(client, hospital, record(person, examined_on=clock.today())).status_code == 201


def test_fit_with_conditions_stores_the_conditions_encrypted(client, hospital, person):
    r = post(client, hospital, record(person, result="fit_with_conditions", conditions="驾车时须戴眼镜"))
    assert r.status_code == 201
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT conditions FROM registry_healthcheck")
        stored = cur.fetchone()[0]
    assert "眼镜" not in stored and stored.startswith("enc1:")
    assert HealthCheck.objects.get().conditions == "驾车时须戴眼镜"


def test_openapi_lists_the_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    post_op = paths[URL]["post"]
    schema = post_op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["result"]["enum"] == ["fit", "fit_with_conditions", "unfit"]
    assert {"200", "201", "401", "409"} <= set(post_op["responses"])
