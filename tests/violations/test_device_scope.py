"""Device keys are scoped (issue 10 item 3): a device's key calls only its endpoints, records only its codes, at
places in its area. Outside the scope: 403 ``violations.device_scope``, logged, nothing written (not even the
nonce). A batch answers an out-of-scope record on its own, as it answers an invalid one."""
from __future__ import annotations

import datetime as dt
import importlib
import logging

import pytest
from django.apps import apps as django_apps
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core import clock
from jiaoguan.eastern import services as eastern
from jiaoguan.violations import rules, signing
from jiaoguan.violations.models import Device, DeviceNonce, Violation
from tests.eastern.conftest import MANAGER, make_area
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import JPEG, b64, signed

URL = "/api/v1/devices/violations"
SCOPE = "violations.device_scope"


@pytest.fixture
def car(db):
    return make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=300))


def body(car, record_id="S-1", code="1625", place="福田区深南大道与彩田路交叉口", **kw):
    return {"record_id": record_id, "plate": car.plate, "plate_type": car.plate_type, "code": code, "place": place,
            "occurred_at": (clock.now() - dt.timedelta(hours=2)).isoformat(), "photos": [b64(JPEG)], **kw}


def keyed(device, secret):
    device.plain_secret = secret
    return device


@pytest.fixture
def checkpoint_key(db):
    """An eastern checkpoint camera's device, as the console creates it."""
    cp, secret = eastern.checkpoint_create(area=make_area(), name="葵涌卡口", actor=MANAGER)
    return keyed(cp.device, secret)


@pytest.fixture
def parking_key(db):
    return keyed(*signing.device_create(name="福华三路违停抓拍", kind="parking", area="福田区"))


@pytest.fixture
def traffic_key(db):
    return keyed(*signing.device_create(name="深南大道电警", kind="traffic"))


def nothing_written():
    return Violation.objects.count() == 0 and DeviceNonce.objects.count() == 0


# --- the probe: a checkpoint camera's key is not a general violation device -------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("code", ["1039", "1711", "9301"])  # parking, drink-driving, even its own code
def test_a_checkpoint_key_cannot_post_violations(client, checkpoint_key, car, code, caplog):
    assert checkpoint_key.kind == "checkpoint" and checkpoint_key.codes == ["9301"]
    with caplog.at_level(logging.WARNING, logger="jiaoguan.violations.signing"):
        r = signed(client, checkpoint_key, URL, body(car, code=code))
        batch = signed(client, checkpoint_key, URL + "/batch", {"records": [body(car, code=code)]})
    for answer in (r, batch):
        assert answer.status_code == 403, answer.content
        assert answer.json()["code"] == SCOPE
    assert "该设备无权使用" in r.json()["message"]
    assert nothing_written()
    assert sum(checkpoint_key.key_id in rec.getMessage() for rec in caplog.records) == 2  # each refusal logged


@pytest.mark.django_db
def test_the_refusal_is_bilingual(client, checkpoint_key, car):
    r = signed(client, checkpoint_key, URL, body(car, code="1039"))
    assert r.status_code == 403 and "该设备" in r.json()["message"]
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    en = signed(client, checkpoint_key, URL, body(car, code="1039"))
    assert en.status_code == 403 and "not authorised" in en.json()["message"], en.content
    refusal = rules.device_scope_refusal(signing.scope_of(checkpoint_key), endpoint=rules.ENDPOINT_SINGLE)
    assert refusal.code == SCOPE and "该设备无权使用" in refusal.zh and "not authorised" in refusal.en


@pytest.mark.django_db
@pytest.mark.parametrize("key,code", [("parking_key", "1625"), ("parking_key", "1711"), ("traffic_key", "1039"),
                                      ("traffic_key", "1711"), ("traffic_key", "9301")])
def test_a_camera_records_only_its_codes(client, request, car, key, code):
    device = request.getfixturevalue(key)
    r = signed(client, device, URL, body(car, code=code))
    assert r.status_code == 403 and r.json()["code"] == SCOPE, r.content
    assert f"{code}" in r.json()["message"]
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("key,code,place", [
    ("parking_key", "1039", "福田区福华三路（会展中心北）"),
    ("parking_key", "1039", "深圳市福田区福华三路"),
    ("traffic_key", "1625", "南山区沙河西路（科技园段）"),
    ("traffic_key", "1352", "福田区红荔路（莲花山段）"),
])
def test_in_scope_still_works(client, request, car, key, code, place):
    device = request.getfixturevalue(key)
    r = signed(client, device, URL, body(car, code=code, place=place))
    assert r.status_code == 201, r.content
    assert Violation.objects.get(pk=r.json()["id"]).code_id is not None


@pytest.mark.django_db
@pytest.mark.parametrize("place", ["南山区沙河西路", "深圳市南山区沙河西路", "南山区沙河西路（近福田区界）", "广州市福田区"])
def test_a_place_outside_the_area_is_refused(client, parking_key, car, place):
    r = signed(client, parking_key, URL, body(car, code="1039", place=place))
    assert r.status_code == 403 and r.json()["code"] == SCOPE and "辖区" in r.json()["message"]
    assert nothing_written()


@pytest.mark.django_db
def test_batch_answers_an_out_of_scope_record_on_its_own(client, parking_key, car):
    """The existing batch pattern: each record succeeds or fails alone (an invalid one gets its 4xx error in
    ``results``); an out-of-scope record is answered the same way and writes nothing, the others are recorded."""
    records = [body(car, "P-1", code="1039"), body(car, "P-2", code="1625"),
               body(car, "P-3", code="1039", place="南山区沙河西路"), body(car, "P-4", code="1039")]
    r = signed(client, parking_key, URL + "/batch", {"records": records})
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["created"], out["failed"]) == (2, 2)
    assert [x.get("error", {}).get("code") for x in out["results"]] == [None, SCOPE, SCOPE, None]
    assert sorted(Violation.objects.values_list("device_record_id", flat=True)) == ["P-1", "P-4"]


@pytest.mark.django_db
def test_a_device_without_the_batch_endpoint_is_refused_whole(client, car):
    device = keyed(*signing.device_create(name="单条上传", kind="traffic", endpoints=["violations.single"]))
    r = signed(client, device, URL + "/batch", {"records": [body(car)]})
    assert r.status_code == 403 and r.json()["code"] == SCOPE
    assert nothing_written()
    assert signed(client, device, URL, body(car)).status_code == 201


@pytest.mark.django_db
def test_the_checkpoint_still_records_its_own_code_in_its_area(checkpoint_key):
    """The eastern checkpoint records 9301 through ``violation_record`` with its device: inside its scope."""
    from jiaoguan.violations import services

    car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=100))
    v = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="9301", place="大鹏半岛·葵涌卡口",
                                  occurred_at=clock.now() - dt.timedelta(minutes=5), source="device",
                                  actor=MANAGER, device=checkpoint_key, device_record_id="CP-1").violation
    assert v.code_id is not None and v.device_id == checkpoint_key.pk


@pytest.mark.django_db
def test_an_empty_scope_records_nothing(client, car):
    device = keyed(*signing.device_create(name="未授权", kind="traffic", codes=[]))
    assert signed(client, device, URL, body(car)).status_code == 403
    assert nothing_written()


@pytest.mark.django_db
def test_scope_values_are_checked():
    from jiaoguan.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        signing.device_create(name="x", kind="drone")
    with pytest.raises(InvalidInput):
        signing.device_create(name="x", endpoints=["violations.everything"])
    with pytest.raises(InvalidInput):
        signing.device_create(name="x", codes=["1039; DROP"])
    d, _ = signing.device_create(name="x", codes=[" 1039 ", "1039", "1625"])
    assert d.codes == ["1039", "1625"]


# --- existing devices (migration 0006) ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_existing_devices_get_sensible_scopes(checkpoint_key):
    from tests.violations.conftest import record

    car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=100))
    unscoped = {"endpoints": [], "codes": [], "area": "", "kind": "traffic"}
    parking, _ = signing.device_create(name="旧违停抓拍", codes=["1039"])  # scoped later by the migration
    camera_, _ = signing.device_create(name="旧电警", codes=["1039", "1352"])
    idle, _ = signing.device_create(name="旧设备")
    record(car, code="1039", source="device", device=parking, device_record_id="OLD-1")
    record(car, code="1352", source="device", device=camera_, device_record_id="OLD-2")
    record(car, code="1039", source="device", device=camera_, device_record_id="OLD-3")
    Device.objects.all().update(**unscoped)  # as before the migration
    importlib.import_module("jiaoguan.violations.migrations.0006_device_scope").scope_existing(django_apps, None)
    for d in (parking, camera_, idle, checkpoint_key):
        d.refresh_from_db()
    assert (checkpoint_key.kind, checkpoint_key.endpoints, checkpoint_key.codes, checkpoint_key.area) == (
        "checkpoint", ["eastern.checkpoint"], ["9301"], "大鹏半岛")
    assert (parking.kind, parking.codes, parking.endpoints) == ("parking", ["1039"],
                                                                ["violations.batch", "violations.single"])
    traffic_codes = set(signing.kind_scope("traffic")[1])
    assert camera_.kind == "traffic" and set(camera_.codes) == traffic_codes | {"1039"}  # what it did keeps working
    assert idle.kind == "traffic" and set(idle.codes) == traffic_codes and "1711" not in idle.codes


# --- the rule -----------------------------------------------------------------------------------------------------

CITY = ("广东省深圳市", "深圳市")


def test_place_in_area():
    assert rules.place_in_area("福田区深南大道", "福田区", CITY)
    assert rules.place_in_area("深圳市福田区深南大道", "福田区", CITY)
    assert rules.place_in_area("广东省深圳市 福田区深南大道", "福田区", CITY)
    assert rules.place_in_area("任何地点", "", CITY)
    assert not rules.place_in_area("南山区沙河西路（近福田区界）", "福田区", CITY)
    assert not rules.place_in_area("福田", "福田区", CITY)
    assert not rules.place_in_area("", "福田区", CITY)


@given(endpoint=st.sampled_from(sorted(rules.ENDPOINTS)), code=st.sampled_from(["1039", "1625", "1711", "9301"]),
       endpoints=st.frozensets(st.sampled_from(sorted(rules.ENDPOINTS))),
       codes=st.frozensets(st.sampled_from(["1039", "1625", "1711", "9301"])),
       area=st.sampled_from(["", "福田区", "大鹏半岛"]), place=st.sampled_from(["福田区深南大道", "大鹏半岛·葵涌卡口", "南山区"]))
def test_scope_refuses_exactly_what_is_outside(endpoint, code, endpoints, codes, area, place):
    scope = rules.DeviceScope(endpoints=endpoints, codes=codes, area=area)
    refused = rules.device_scope_refusal(scope, endpoint=endpoint, code=code, place=place, city_names=CITY)
    inside = endpoint in endpoints and code in codes and (not area or place.startswith(area))
    assert (refused is None) == inside
    if refused is not None:
        assert refused.code == SCOPE and refused.zh and refused.en
