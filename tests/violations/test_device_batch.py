"""The device batch, set-based (issue 12 §2): one transaction, a fixed number of queries plus the audit rows, the
record id stored once (a repeated batch, a record repeated across batches or within one), evidence named by its
content, and the first-violation waiver decided for the whole batch as one record at a time would."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiaoguan.core import clock as core_clock
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.violations.models import Evidence, Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import JPEG, PNG, b64, record, signed

pytestmark = pytest.mark.django_db
URL = "/api/v1/devices/violations/batch"


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return core_clock.local_datetime(core_clock.today() - dt.timedelta(days=days_ago), dt.time(hour, minute))


def old_car():
    return make_vehicle(owner=make_person(), registered=core_clock.today() - dt.timedelta(days=900))


def rec(car, record_id: str, *, code: str = "1352", when: dt.datetime | None = None, photos=None) -> dict:
    return {"record_id": record_id, "plate": car.plate, "plate_type": car.plate_type, "code": code,
            "place": "深南大道与彩田路交叉口", "occurred_at": (when or at(1, 9)).isoformat(),
            "photos": [b64(JPEG)] if photos is None else photos}


def post(client, device, records):
    r = signed(client, device, URL, {"records": records})
    assert r.status_code == 200, r.content
    return r.json()


# The queries of a batch, whatever its size: the request's savepoint pair (2), the device and its nonce row (2), the
# codes, the known record ids, the vehicles, the waiver keys and the waived rows
# with their lock_timeout (6 on PostgreSQL, 1 on SQLite), the violations' insert, the evidence insert, the vehicles'
# violations, the audit rows' insert (core.audit.audit_records), the outbox insert, and for the "my records" read
# model one UPDATE marking the affected accounts' parts stale and its outbox insert (core.outbox.records_changed,
# once for the whole batch). A waived record adds nothing per record: one update per waiver rule and one insert of
# the waiver audit rows for the whole batch.
FIXED = 20


@pytest.mark.parametrize("n", [1, 20])
def test_a_batch_costs_a_fixed_number_of_queries(client, device, n):
    cars = [old_car() for _ in range(n)]
    # speeding (1352) is never waived
    records = [rec(car, f"Q-{i}", when=at(1, 9)) for i, car in enumerate(cars)]
    with CaptureQueriesContext(connection) as q:
        out = post(client, device, records)
    assert out["created"] == n
    assert AuditEntry.objects.filter(action="violation.record").count() == n
    assert len(q.captured_queries) <= FIXED, "\n".join(x["sql"][:160] for x in q.captured_queries)


def test_queries_do_not_grow_with_the_batch(client, device):
    counts = []
    for n, prefix in ((1, "A"), (30, "B")):
        records = [rec(old_car(), f"{prefix}-{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as q:
            assert post(client, device, records)["created"] == n
        counts.append(len(q.captured_queries))
    assert counts[0] == counts[1], counts


def test_waivers_add_queries_per_batch_not_per_record(client):
    """A parking camera's batch where every vehicle's violation is its first (all waived) and one vehicle's
    stored waiver is taken back: a few more statements for the batch, none per record."""
    from jiaoguan.violations import signing

    device, secret = signing.device_create(name="违停抓拍", kind="parking")
    device.plain_secret = secret
    taken_back = old_car()
    stored = record(taken_back, code="1039", when=at(1, 11))
    records = [{**rec(old_car(), f"P-{i}", code="1039"), "place": "福田区福华三路"} for i in range(20)]
    records.append({**rec(taken_back, "P-X", code="1039", when=at(1, 10)), "place": "福田区福华三路"})
    with CaptureQueriesContext(connection) as q:
        out = post(client, device, records)
    assert [r["status"] for r in out["results"]] == ["waived"] * 21
    stored.refresh_from_db()
    assert stored.status == "recorded"
    # + the waived update, the unwaive update, the waiver audit rows' insert, the withdrawal's outbox insert
    assert len(q.captured_queries) <= FIXED + 4, "\n".join(x["sql"][:160] for x in q.captured_queries)


def test_a_repeated_batch_is_answered_as_duplicates_in_the_same_shape(client, device):
    car = old_car()
    records = [rec(car, "R-1", when=at(3, 9)), rec(car, "R-2", when=at(2, 9)), rec(car, "R-3", when=at(1, 9))]
    first = post(client, device, records)
    again = post(client, device, records)
    assert (first["created"], again["created"], again["failed"]) == (3, 0, 0)
    assert again["results"] == [{**r, "created": False} for r in first["results"]]
    assert Violation.objects.count() == 3 and Evidence.objects.count() == 3
    # one file for the one picture, however many violations show it
    assert len({e.file.name for e in Evidence.objects.all()}) == 1


def test_a_record_repeated_across_batches_and_within_one_is_stored_once(client, device):
    car = old_car()
    first = post(client, device, [rec(car, "X-1", when=at(3, 9)), rec(car, "X-2", when=at(2, 9))])
    second = post(client, device, [rec(car, "X-2", when=at(2, 9)), rec(car, "X-3", when=at(1, 9)),
                                   rec(car, "X-3", when=at(1, 9))])
    assert [r["created"] for r in second["results"]] == [False, True, False]
    assert second["results"][0]["id"] == first["results"][1]["id"]
    assert second["results"][2]["id"] == second["results"][1]["id"]
    assert Violation.objects.count() == 3
    assert AuditEntry.objects.filter(action="violation.record").count() == 3
    assert OutboxEvent.objects.filter(topic="violations.violation_recorded").count() == 3


def test_evidence_is_named_by_content_and_readable(client, device):
    car = old_car()
    out = post(client, device, [rec(car, "E-1", photos=[b64(JPEG), b64(PNG)])])
    (v,) = Violation.objects.filter(pk=out["results"][0]["id"])
    files = {e.content_type: e for e in v.evidence.all()}
    assert set(files) == {"image/jpeg", "image/png"}
    with files["image/png"].file.open("rb") as f:
        assert f.read() == PNG
    assert files["image/png"].file.name.endswith(f"{files['image/png'].sha256}.png")


def test_a_batch_takes_back_a_waiver_recorded_earlier_and_waives_its_own_first(client):
    """What ``violation_record`` does one at a time, for the batch at once: the vehicle's stored waived violation
    at 11:00 is not the first once the batch brings 10:00 and 09:00; 09:00 is, whatever the order in the batch."""
    from jiaoguan.violations import signing

    device, secret = signing.device_create(name="福华三路违停抓拍", kind="parking", area="福田区")
    device.plain_secret = secret
    car = old_car()
    stored = record(car, code="1039", when=at(1, 11))
    assert stored.status == "waived"
    records = [{**rec(car, f"W-{h}", code="1039", when=at(1, h)), "place": "福田区福华三路"} for h in (10, 9)]
    out = post(client, device, records)
    assert out["created"] == 2
    by_id = {r["record_id"]: (r["status"], r["waiver_rule"]) for r in out["results"]}
    assert by_id == {"W-9": ("waived", "shenzhen"), "W-10": ("recorded", "")}
    stored.refresh_from_db()
    assert (stored.status, stored.fine_fen) == ("recorded", 20000)
    undone = AuditEntry.objects.get(action="violation.unwaive")
    assert undone.object_id == str(stored.pk)
    assert OutboxEvent.objects.filter(topic="violations.waiver_withdrawn").count() == 1
    waived = Violation.objects.get(device_record_id="W-9")
    assert (waived.status, waived.points, waived.fine_fen) == ("waived", 0, 0)
    assert AuditEntry.objects.filter(action="violation.waive", object_id=str(waived.pk)).count() == 1


def test_a_batch_moves_a_stored_waiver_to_the_other_rule(client):
    from jiaoguan.violations import signing

    device, secret = signing.device_create(name="违停抓拍", kind="parking")
    device.plain_secret = secret
    car = old_car()
    later = record(car, code="1039", when=at(5, 10))
    assert (later.status, later.waiver_rule) == ("waived", "shenzhen")
    post(client, device, [rec(car, "M-1", code="1039", when=at(300, 10))])
    later.refresh_from_db()
    assert (later.status, later.waiver_rule) == ("waived", "national")
    assert AuditEntry.objects.filter(action="violation.waiver_rule", object_id=str(later.pk)).exists()


def test_the_single_endpoint_records_through_the_same_path(client, device):
    car = old_car()
    r = signed(client, device, "/api/v1/devices/violations", rec(car, "S-1"))
    assert r.status_code == 201
    again = signed(client, device, "/api/v1/devices/violations", rec(car, "S-1"))
    assert again.status_code == 200 and again.json() == {**r.json(), "created": False}
    bad = signed(client, device, "/api/v1/devices/violations", rec(car, "S-2", code="9999"))
    assert bad.status_code == 422 and bad.json()["code"] == "violations.unknown_code"
    assert Violation.objects.count() == 1
