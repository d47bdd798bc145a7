"""The signed device API: HMAC over timestamp + nonce + body, stale and replayed requests refused."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.violations import signing
from jiaoguan.violations.models import DeviceNonce, Evidence, Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import JPEG, b64, signed

pytestmark = pytest.mark.django_db
URL = "/api/v1/devices/violations"


@pytest.fixture
def car():
    return make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=300))


def body(car, record_id="C-1", **kw):
    return {"record_id": record_id, "plate": car.plate, "plate_type": car.plate_type, "code": "1625",
            "place": "深南大道与彩田路交叉口", "occurred_at": (clock.now() - dt.timedelta(hours=2)).isoformat(),
            "photos": [b64(JPEG)], **kw}


def test_single_then_resubmit(client, device, car):
    r = signed(client, device, URL, body(car))
    assert r.status_code == 201, r.content
    vid = r.json()["id"]
    assert Evidence.objects.filter(violation_id=vid).count() == 1
    again = signed(client, device, URL, body(car))  # same record id, new nonce
    assert again.status_code == 200 and again.json() == {**r.json(), "created": False}
    assert Violation.objects.count() == 1


@pytest.mark.parametrize("how", ["forged", "tampered", "unknown_key", "unsigned"])
def test_forged_requests_are_refused(client, device, car, how):
    if how == "forged":
        r = signed(client, device, URL, body(car), secret="not-the-secret")
    elif how == "tampered":
        b = body(car)
        import json
        r = signed(client, device, URL, b, tamper=json.dumps({**b, "code": "1039"}).encode())
    elif how == "unknown_key":
        device.key_id = "dev_nobody"
        r = signed(client, device, URL, body(car))
    else:
        r = client.post(URL, data=body(car), content_type="application/json")
    assert r.status_code == 401
    assert Violation.objects.count() == 0 and DeviceNonce.objects.count() == 0


def test_stale_and_replayed(client, device, car):
    old = int(clock.now().timestamp()) - 301
    r = signed(client, device, URL, body(car), ts=old)
    assert r.status_code == 401 and r.json()["code"] == "violations.stale"
    future = int(clock.now().timestamp()) + 301
    assert signed(client, device, URL, body(car), ts=future).status_code == 401
    ok = signed(client, device, URL, body(car), nonce="nonce-0001")
    assert ok.status_code == 201
    replay = signed(client, device, URL, body(car, record_id="C-2"), nonce="nonce-0001")
    assert replay.status_code == 401 and replay.json()["code"] == "violations.replayed"
    assert Violation.objects.count() == 1


@pytest.mark.parametrize("change,code", [
    ({"code": "0000"}, "violations.unknown_code"),
    ({"plate": "粤B0Z0Z0"}, "violations.unknown_plate"),
    ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "violations.future_time"),
    ({"photos": ["R0lGODlh"]}, "violations.photo_type"),
    ({"occurred_at": "yesterday"}, "violations.bad_record"),
    ({"extra": 1}, "violations.bad_record"),
])
def test_bad_records_are_4xx_and_write_nothing(client, device, car, change, code):
    r = signed(client, device, URL, body(car, **change))
    assert r.status_code == 422 and r.json()["code"] == code, r.content
    assert Violation.objects.count() == 0 and DeviceNonce.objects.count() == 0


def test_not_json(client, device):
    r = signed(client, device, URL, b"{not json")
    assert r.status_code == 422 and r.json()["code"] == "violations.bad_json"


def test_batch_reports_each_record(client, device, car):
    records = [body(car, "B-1"), body(car, "B-2", code="9999"), body(car, "B-3"), body(car, "B-1")]
    r = signed(client, device, URL + "/batch", {"records": records})
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["created"], out["failed"]) == (2, 1)
    res = out["results"]
    assert res[1]["error"]["code"] == "violations.unknown_code"
    assert res[3]["created"] is False and res[3]["id"] == res[0]["id"]
    assert Violation.objects.count() == 2


def test_batch_size_limit(client, device, car):
    r = signed(client, device, URL + "/batch", {"records": []})
    assert r.status_code == 422 and r.json()["code"] == "violations.batch_size"


def test_inactive_device_refused(client, device, car):
    device.active = False
    device.save()
    assert signed(client, device, URL, body(car)).status_code == 401


def test_signature_function_is_keyed():
    assert signing.sign("a", "1", "n", b"x") != signing.sign("b", "1", "n", b"x")
    assert signing.sign("a", "1", "n", b"x") != signing.sign("a", "2", "n", b"x")


def test_oversized_body_is_refused(client, device, car):
    big = body(car, photos=[b64(JPEG + bytes(300 * 1024))])
    r = signed(client, device, URL, big)
    assert r.status_code == 413
    assert Violation.objects.count() == 0


def test_old_nonces_are_purged(client, device, car, clock):
    assert signed(client, device, URL, body(car)).status_code == 201
    assert signing.device_nonces_purge() == 0
    clock.advance(dt.timedelta(minutes=11))
    assert signing.device_nonces_purge() == 1
    assert DeviceNonce.objects.count() == 0


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/devices/violations", "/api/v1/devices/violations/batch", "/api/v1/me/violations",
              "/api/v1/me/violations/{violation_id}/handle", "/api/v1/me/disputes", "/api/v1/staff/disputes"):
        assert p in paths
