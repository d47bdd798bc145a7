"""Device batches racing on PostgreSQL (real parallel connections): two batches of one device with overlapping
record ids, of one vehicle or of different ones. Each record id is stored once and answered as created by exactly
one of them; the vehicle's first violation by occurrence time is the only one waived, whichever commits first."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count
from django.test import Client

from jiaoguan.core import clock
from jiaoguan.violations import signing
from jiaoguan.violations.models import Evidence, Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import JPEG, b64, signed
from tests.violations.test_concurrency import run_parallel

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/devices/violations/batch"


def old_car():
    return make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=900))


def parking_device():
    device, secret = signing.device_create(name="违停抓拍", kind="parking")
    device.plain_secret = secret
    return device


def rec(car, n: int, hours_ago: float) -> dict:
    return {"record_id": f"R-{n:03d}", "plate": car.plate, "plate_type": car.plate_type, "code": "1039",
            "place": "福田区福华三路", "photos": [b64(JPEG)],
            "occurred_at": (clock.now() - dt.timedelta(hours=hours_ago)).isoformat()}


def race(device, batches):
    results = run_parallel(len(batches), lambda i: signed(Client(), device, URL, {"records": batches[i]}).json())
    assert all(kind == "ok" for kind, _ in results), results
    return [r for _, r in results]


def created_once(answers, record_ids):
    """Every record id answered as created by exactly one batch; every answer of an id names the same row."""
    created, ids = {}, {}
    for out in answers:
        assert out["failed"] == 0, out
        for r in out["results"]:
            created[r["record_id"]] = created.get(r["record_id"], 0) + int(r["created"])
            ids.setdefault(r["record_id"], set()).add(r["id"])
    assert set(created) == set(record_ids)
    assert all(n == 1 for n in created.values()), created
    assert all(len(s) == 1 for s in ids.values()), ids


def no_duplicates(device):
    assert not (Violation.objects.filter(device=device).values("device_record_id").order_by()
                .annotate(n=Count("id")).filter(n__gt=1).exists())


def test_two_batches_of_one_vehicle_with_overlapping_record_ids():
    device, car = parking_device(), old_car()
    # 20 records, one every hour; batch A has 0–13, batch B 6–19: the earliest only in B
    records = [rec(car, n, hours_ago=2 + n) for n in range(20)]
    answers = race(device, [records[:14], list(reversed(records[6:]))])
    created_once(answers, [r["record_id"] for r in records])
    no_duplicates(device)
    rows = list(Violation.objects.filter(device=device).order_by("occurred_at", "pk"))
    assert len(rows) == 20 and Evidence.objects.filter(violation__device=device).count() == 20
    assert [(v.device_record_id, v.status) for v in rows if v.status == "waived"] == [("R-019", "waived")]
    assert all(v.fine_fen == 20000 for v in rows[1:])


def test_two_batches_sharing_record_ids_for_different_vehicles():
    """The same record ids with other contents (a misbehaving camera): the vehicles' keys do not serialise the
    two, the unique index does — the second insert waits for the first and skips what it stored."""
    device, cars = parking_device(), [old_car(), old_car()]
    batches = [[rec(cars[i], n, hours_ago=2 + n) for n in range(10)] for i in range(2)]
    answers = race(device, [batches[0], list(reversed(batches[1]))])
    created_once(answers, [r["record_id"] for r in batches[0]])
    no_duplicates(device)
    rows = Violation.objects.filter(device=device)
    assert rows.count() == 10
    for car in cars:  # whoever won a record id, each vehicle's earliest stored violation is its only waived one
        mine = list(rows.filter(vehicle=car).order_by("occurred_at", "pk"))
        assert [v.status for v in mine] == (["waived"] + ["recorded"] * (len(mine) - 1) if mine else [])
