"""The "my records" read model (jiaoguan.records): every change that touches a citizen's records changes the stored
parts (through the outbox), a rebuild equals the incremental result, a read right after a change (before the
outbox runs) never serves the old records, date-dependent values turn at local midnight, ETag/304, one citizen
never sees another's parts, and the parts are encrypted at rest."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.identity import services as identity
from jiaoguan.records import parts, selectors, services
from jiaoguan.records.models import RecordPart
from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.services import licences, persons, points, vehicles
from jiaoguan.violations import services as violations
from tests.api.helpers import bearer, get
from tests.factories import make_person, unique_phone, unique_plate, unique_vin
from tests.identity.helpers import holder, register
from tests.notifications.helpers import last_code
from tests.violations.conftest import camera

pytestmark = pytest.mark.django_db

CLERK = Actor(id=7, label="clerk7", role="clerk")
PATHS = {"me": "me", "licences": "me/licences", "vehicles": "me/vehicles", "violations": "me/violations",
         "summary": "me/summary"}
BEIJING = dt.timezone(dt.timedelta(hours=8))


def stored(user) -> dict:
    return {(p.part, p.language): json.loads(p.body) for p in RecordPart.objects.filter(user=user)}


def fresh(user) -> dict:
    """Every part as the records give it now, computed from scratch (not through the read model)."""
    user.refresh_from_db()
    return {(name, language): json.loads(made.render(language))
            for name, made in parts.make_all(user).items() for language in parts.LANGUAGES}


def api(user, part: str, language: str = "zh-hans"):
    return get(Client(), PATHS[part], HTTP_ACCEPT_LANGUAGE="en" if language == "en" else "zh-CN", **bearer(user))


def session_page(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/me/").content.decode()


def read_all(user) -> dict:
    return {(part, language): api(user, part, language).json() for part in parts.BASE_PARTS for language in parts.LANGUAGES}


@pytest.fixture
def device():
    from jiaoguan.violations import signing

    d, _secret = signing.device_create(name="深南大道电警01", place="深南大道")
    return d


def test_every_change_reaches_the_read_model(deliver, device, monkeypatch):
    from tests.violations.conftest import FakePayments

    monkeypatch.setattr(violations, "_payments", lambda: FakePayments())
    me_person = holder(name="张三")
    user = register(me_person)
    other_person = holder(name="李四")
    other = register(other_person)
    other_car = Vehicle.objects.get(owner=other_person)
    read_all(user)  # materialised: from now on the outbox keeps it
    assert stored(user) == fresh(user)
    assert not RecordPart.objects.filter(user=other).exists()  # never read: not built, not kept

    seen = [stored(user)]

    def step(name, action):
        deliver(action)
        now = stored(user)
        assert now == fresh(user), name
        assert now != seen[-1], f"{name} changed nothing the citizen sees"
        seen.append(now)

    step("registry phone differs", lambda: persons.person_update_phone(
        person=me_person, phone=unique_phone(), actor=CLERK, reason="窗口变更"))
    assert stored(user)[("me", "zh-hans")]["phone_mismatch"] is True
    step("registry address (not shown) and phone back", lambda: persons.person_update_phone(
        person=me_person, phone=user.phone, actor=CLERK, reason="窗口变更"))
    new_car = deliver(lambda: vehicles.vehicle_register(
        owner=me_person, plate=unique_plate(), vin=unique_vin(), brand="比亚迪 汉", kind="small_car", use="private",
        registration_date=clock.today(), actor=CLERK))
    assert stored(user) == fresh(user) and new_car.plate in json.dumps(stored(user)[("vehicles", "zh-hans")],
                                                                       ensure_ascii=False)
    seen.append(stored(user))
    step("compulsory policy", lambda: vehicles.policy_add(
        vehicle=new_car, policy_number="PDZA202612070001", insurer="中国人民财产保险", starts_on=clock.today(),
        ends_on=clock.today() + dt.timedelta(days=364), actor=CLERK))
    own_car = Vehicle.objects.filter(owner=me_person).exclude(pk=new_car.pk).get()
    Vehicle.objects.filter(pk=own_car.pk).update(inspection_due=clock.today() + dt.timedelta(days=30))
    step("inspection", lambda: vehicles.vehicle_record_inspection(vehicle=own_car, inspected_on=clock.today(),
                                                                  actor=CLERK))
    licence = DrivingLicence.objects.get(person=me_person)
    step("points", lambda: points.licence_points_set(licence=licence, points=3, cycle_start=licence.points_cycle_start,
                                                     actor=CLERK, reason="测试 test"))
    step("suspended", lambda: licences.licence_suspend(licence=DrivingLicence.objects.get(pk=licence.pk),
                                                       actor=CLERK, reason="满分 full score"))

    def bind():
        b = identity.binding_request(user=user, plate=other_car.plate, plate_type=other_car.plate_type,
                                     vin_last4=other_car.vin[-4:])
        identity.binding_confirm(user=user, binding_id=b.pk, code=last_code(other_person.phone))

    step("bound another's car", bind)
    step("camera on the bound car", lambda: camera(other_car, device, code="1352", when=clock.now()))
    step("device batch on my own car", lambda: violations.device_records_ingest(
        device=device, actor=Actor.system("test-device"), records=[violations.DeviceRecord(
            record_id=f"B{i}", plate=own_car.plate, plate_type=own_car.plate_type, code="1352", place="深南大道",
            occurred_at=clock.now() - dt.timedelta(hours=i + 2)) for i in range(3)]))
    step("the bound car is transferred to me", lambda: vehicles.vehicle_transfer(
        vehicle=Vehicle.objects.get(pk=other_car.pk), new_owner=me_person, actor=CLERK, reason="转移登记"))
    step("my new car is transferred away", lambda: vehicles.vehicle_transfer(
        vehicle=Vehicle.objects.get(pk=new_car.pk), new_owner=make_person(), actor=CLERK, reason="转移登记"))
    step("scrapped", lambda: vehicles.vehicle_set_status(
        vehicle=Vehicle.objects.get(pk=other_car.pk), status=Vehicle.Status.SCRAPPED, actor=CLERK,
        reason="报废 scrapped"))
    mine = [v for v in stored(user)[("violations", "zh-hans")] if v["status"] == "recorded"]
    step("dispute", lambda: violations.dispute_submit(
        user=user, kind="appeal", violation_ids=[mine[0]["id"]],
        reason="当时车辆不在现场"))

    # a rebuild from scratch gives what the events left, byte for byte (same ETags)
    etags = dict(RecordPart.objects.filter(user=user).values_list("part", "etag").order_by("part", "language"))
    assert services.records_rebuild_all() >= 1
    assert stored(user) == seen[-1]
    assert dict(RecordPart.objects.filter(user=user).values_list("part", "etag").order_by("part", "language")) == etags
    # and the API serves exactly what is stored
    assert read_all(user) == {key: body for key, body in stored(user).items() if key[0] in parts.BASE_PARTS}
    # and "my page" shows the stored page part
    page = session_page(user)
    assert json.loads(RecordPart.objects.get(user=user, part="page_me", language="zh-hans").body)["vehicles_html"] \
        .strip()[:40] in page


def test_a_read_right_after_a_change_never_serves_the_old_records():
    """Before the outbox has run (no on-commit callbacks here), the writer's transaction already marked the parts
    stale: the next read rebuilds them."""
    person = holder(name="王五")
    user = register(person)
    before = read_all(user)
    car = Vehicle.objects.get(owner=person)
    vehicles.vehicle_set_status(vehicle=car, status=Vehicle.Status.MORTGAGED, actor=CLERK, reason="抵押 mortgage")
    after = api(user, "vehicles").json()
    assert after != before[("vehicles", "zh-hans")]
    assert after == fresh(user)[("vehicles", "zh-hans")]
    assert [v["status"] for v in after] == ["mortgaged"]


def test_a_citizen_reads_only_their_own_parts():
    a_person, b_person = holder(name="张三"), holder(name="李四")
    a, b = register(a_person), register(b_person)
    a_plate = Vehicle.objects.get(owner=a_person).plate
    b_plate = Vehicle.objects.get(owner=b_person).plate
    for part in parts.BASE_PARTS:
        api(a, part)
    body = json.dumps(list(read_all(b).values()), ensure_ascii=False)
    assert a_plate not in body and b_plate in body
    assert RecordPart.objects.filter(user=b).count() == len(parts.part_names()) * len(parts.LANGUAGES)
    assert api(b, "me").json()["id"] == b.pk


def test_parts_are_encrypted_at_rest():
    person = holder(name="赵六")
    user = register(person)
    plate = Vehicle.objects.get(owner=person).plate
    api(user, "vehicles")
    table = connection.ops.quote_name(RecordPart._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT body FROM {table} WHERE user_id = %s", [user.pk])  # noqa: S608 - our own table name
        raw = [row[0] for row in cur.fetchall()]
    assert raw and all(plate not in r and "inspection" not in r for r in raw)
    assert plate in selectors.part_for(user_id=user.pk, part="vehicles", language="zh-hans").body()


def test_etag_and_not_modified():
    user = register(holder(name="孙七"))
    h = bearer(user)
    first = get(Client(), "me/vehicles", **h)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and first["Cache-Control"] == "private, no-store"
    again = get(Client(), "me/vehicles", HTTP_IF_NONE_MATCH=etag, **h)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert get(Client(), "me/vehicles", HTTP_IF_NONE_MATCH='"other", ' + etag, **h).status_code == 304
    assert get(Client(), "me/vehicles", HTTP_IF_NONE_MATCH='"other"', **h).status_code == 200
    # English is a different document with its own tag
    english = get(Client(), "me/vehicles", HTTP_ACCEPT_LANGUAGE="en", **h)
    assert english["ETag"] != etag and english.json()[0]["use_label"] == "Private"
    # a change gives a new tag: the client's copy no longer matches
    car = Vehicle.objects.get(owner=user.person)
    vehicles.vehicle_set_status(vehicle=car, status=Vehicle.Status.MORTGAGED, actor=CLERK, reason="抵押 mortgage")
    changed = get(Client(), "me/vehicles", HTTP_IF_NONE_MATCH=etag, **h)
    assert changed.status_code == 200 and changed["ETag"] != etag


@pytest.mark.parametrize("minute", [dt.time(23, 59), dt.time(0, 30)])
def test_date_dependent_values_turn_at_local_midnight(clock, minute):
    """Inspection days left and licence validity change with the Beijing date alone: a part built at 23:59 (or
    00:30) is rebuilt by the first read after the next local midnight, not before."""
    day = dt.date(2026, 12, 7)
    clock.freeze(dt.datetime.combine(day, minute, tzinfo=BEIJING))
    person = holder(name="周八")
    user = register(person)
    car = Vehicle.objects.get(owner=person)
    Vehicle.objects.filter(pk=car.pk).update(inspection_due=clock.today() + dt.timedelta(days=10))
    first = api(user, "vehicles").json()[0]["inspection_days_left"]
    assert first == 10
    clock.freeze(dt.datetime.combine(clock.today(), dt.time(23, 59, 59), tzinfo=BEIJING))
    assert api(user, "vehicles").json()[0]["inspection_days_left"] == 10  # same local day: served as stored
    clock.freeze(dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time(0, 0, 1), tzinfo=BEIJING))
    assert api(user, "vehicles").json()[0]["inspection_days_left"] == 9
    assert stored(user) == fresh(user)


def test_a_disabled_account_has_no_parts(deliver):
    person = holder(name="吴九")
    user = register(person)
    read_all(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert services.records_build(user_id=user.pk) == {}
    assert not RecordPart.objects.filter(user=user).exists()


def test_unknown_part_is_refused():
    with pytest.raises(ValueError):
        selectors.part_for(user_id=1, part="secrets", language="zh-hans")


def test_handler_ignores_bad_payloads_and_rebuilds_only_materialised_accounts(deliver):
    from jiaoguan.records.handlers import on_records_changed

    person = holder(name="郑十")
    user = register(person)
    on_records_changed({"users": ["x", None, -1, 2**70], "persons": "nope", "vehicles": []})
    assert not RecordPart.objects.filter(user=user).exists()
    on_records_changed({"users": [user.pk]})
    assert not RecordPart.objects.filter(user=user).exists()  # never read: built by its first read
    api(user, "me")
    assert services.records_refresh(user_ids=[user.pk]) == 1
    assert stored(user) == fresh(user)


def test_rebuild_command_checks_and_rebuilds():
    from django.core.management import CommandError, call_command

    person = holder(name="钱一")
    user = register(person)
    read_all(user)
    call_command("records_rebuild", "--check")  # matches
    car = Vehicle.objects.get(owner=person)
    Vehicle.objects.filter(pk=car.pk).update(brand="丰田 卡罗拉")  # behind the services' back: no event
    with pytest.raises(CommandError, match="4"):
        call_command("records_rebuild", "--check")  # vehicles and "my page", in both languages
    call_command("records_rebuild", "--user", str(user.pk))
    call_command("records_rebuild", "--check")
    assert "丰田 卡罗拉" in api(user, "vehicles").content.decode()
    call_command("records_rebuild")
    assert stored(user) == fresh(user)


def test_a_registry_import_reaches_the_read_model(deliver):
    """The CSV import (registry.imports) changes records through its own path: it tells the read model too."""
    from jiaoguan.registry.imports import registry_import

    person = holder(name="冯十一")
    user = register(person)
    car = Vehicle.objects.get(owner=person)
    read_all(user)
    before = stored(user)
    deliver(lambda: registry_import(kind="persons", actor=CLERK, data=(
        f"身份证号码,姓名,手机号码\n{person.id_number},冯十一,{unique_phone()}\n").encode()))
    assert stored(user) == fresh(user) and stored(user)[("me", "zh-hans")]["phone_mismatch"] is True
    deliver(lambda: registry_import(kind="persons", actor=CLERK, data=(
        f"身份证号码,姓名,手机号码\n{person.id_number},冯十一,{user.phone}\n").encode()))
    assert stored(user) == fresh(user) and stored(user)[("me", "zh-hans")] == before[("me", "zh-hans")]
    deliver(lambda: registry_import(kind="vehicles", actor=CLERK, data=(
        "vin,plate,owner_id_number,brand,kind,use,registration_date,inspection_due\n"
        f"{car.vin},{car.plate},{person.id_number},丰田 凯美瑞,small_car,private,{car.registration_date},"
        f"{car.inspection_due:%Y-%m}\n").encode()))
    assert stored(user) == fresh(user) and "丰田 凯美瑞" in json.dumps(stored(user)[("vehicles", "zh-hans")],
                                                                   ensure_ascii=False)
