"""Concurrency on PostgreSQL with real parallel connections."""
import datetime as dt
import threading
import time

import pytest
from django.db import connection

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.violations import services
from jiaoguan.violations.models import PenaltyDecision, PointsEntry, Violation
from tests.violations.test_handling import citizen_with_car

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_parallel(n, fn):
    barrier = threading.Barrier(n)
    results = []

    def worker(i):
        try:
            barrier.wait()
            results.append(("ok", fn(i)))
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results.append(("error", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_same_violation_two_sessions_one_decision(device, payments):
    user, car = citizen_with_car()
    v = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1352", place="深南大道",
                                  occurred_at=clock.now() - dt.timedelta(hours=1), source="device",
                                  actor=Actor.system("d"), device=device, device_record_id="X1").violation
    results = run_parallel(4, lambda i: services.violation_handle_online(user=user, violation_id=v.pk).number)
    numbers = {r for kind, r in results if kind == "ok"}
    assert len(numbers) == 1, results
    assert PenaltyDecision.objects.count() == 1 and PointsEntry.objects.count() == 1
    assert len(payments.created) == 1


def test_two_violations_at_once_cannot_pass_twelve(device, payments):
    user, car = citizen_with_car()
    vs = [services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1721", place="机荷高速",
                                    occurred_at=clock.now() - dt.timedelta(hours=1 + i), source="device",
                                    actor=Actor.system("d"), device=device, device_record_id=f"Y{i}").violation
          for i in range(2)]
    results = run_parallel(2, lambda i: services.violation_handle_online(user=user, violation_id=vs[i].pk))
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert services.points_in_cycle(licence=user.person.licence) == 6


def test_same_device_record_in_parallel_is_one_violation(device):
    _user, car = citizen_with_car()
    when = clock.now() - dt.timedelta(hours=1)
    results = run_parallel(4, lambda i: services.violation_record(
        plate=car.plate, plate_type=car.plate_type, code="1352", place="深南大道", occurred_at=when,
        source="device", actor=Actor.system("d"), device=device, device_record_id="SAME").violation.pk)
    assert len({r for k, r in results if k == "ok"}) == 1 and all(k == "ok" for k, _ in results), results
    assert Violation.objects.count() == 1


def test_parallel_counter_handling_never_loses_points(device, payments):
    from tests.violations.conftest import STAFF

    user, car = citizen_with_car()
    licence = user.person.licence
    vs = [services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1116", place="福华路",
                                    occurred_at=clock.now() - dt.timedelta(hours=1 + i), source="on_site",
                                    actor=STAFF).violation for i in range(6)]
    vs = [v for v in vs if v.status == "recorded"]  # the first may be waived (national first-violation list)
    results = run_parallel(len(vs), lambda i: services.violation_handle_counter(
        violation=vs[i], licence=licence, actor=STAFF).pk)
    assert all(k == "ok" for k, _ in results), results
    assert services.points_in_cycle(licence=licence) == len(vs)


def test_replayed_request_in_parallel_writes_once(device):
    import json
    import secrets as _s

    from django.test import Client

    from jiaoguan.violations import signing

    _, car = citizen_with_car()
    raw = json.dumps({"record_id": "P-1", "plate": car.plate, "plate_type": car.plate_type, "code": "1352",
                      "place": "深南大道", "occurred_at": (clock.now() - dt.timedelta(hours=1)).isoformat()}).encode()
    ts, nonce = str(int(clock.now().timestamp())), _s.token_hex(8)
    headers = {"HTTP_X_DEVICE_KEY": device.key_id, "HTTP_X_DEVICE_TIMESTAMP": ts, "HTTP_X_DEVICE_NONCE": nonce,
               "HTTP_X_DEVICE_SIGNATURE": signing.sign(device.plain_secret, ts, nonce, raw)}
    results = run_parallel(4, lambda i: Client().post("/api/v1/devices/violations", data=raw,
                                                      content_type="application/json", **headers).status_code)
    codes = sorted(r for _, r in results)
    assert codes == [201, 401, 401, 401], results
    assert Violation.objects.count() == 1


def test_revocation_locks_the_points_before_its_first_audit_row(device, payments):
    """Step by step, the deadlock a revocation could meet: it locked the violation and audited the revocation
    (so it held the audit head until commit) and only then locked the licence's points account — while a
    handling of another violation of the same licence held that account and waited for the audit head.
    Now the revocation takes the account before its first audit row: it waits there instead."""
    from django.db import transaction

    from jiaoguan.core.audit import audit_record
    from jiaoguan.violations.models import PointsAccount
    from tests.violations.conftest import APPROVER, STAFF

    user, car = citizen_with_car()
    licence = user.person.licence
    v = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1352", place="深南大道",
                                  occurred_at=clock.now() - dt.timedelta(hours=1), source="device",
                                  actor=Actor.system("d"), device=device, device_record_id="RV1").violation
    services.violation_handle_counter(violation=v, licence=licence, actor=STAFF)
    account = PointsEntry.objects.get(violation=v, kind="assign").account
    started = threading.Event()
    outcome: dict = {}

    def revoke():
        started.set()
        try:
            outcome["revoke"] = services.violation_revoke(violation=v, actor=APPROVER,
                                                          reason="设备误报 camera fault").status
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["revoke"] = exc
        finally:
            connection.close()

    t = threading.Thread(target=revoke)
    handling_error = None
    try:
        with transaction.atomic():  # what a handling of another violation holds when it audits
            PointsAccount.objects.select_for_update().get(pk=account.pk)
            t.start()
            assert started.wait(10)
            time.sleep(0.5)  # the revocation runs up to its first wait meanwhile
            audit_record(actor=STAFF, action="licence.points_add", object_type="registry.drivinglicence",
                         object_id=licence.pk)
    except Exception as exc:  # noqa: BLE001 - a deadlock aborts one of the two
        handling_error = exc
    finally:
        t.join(30)
    assert handling_error is None, handling_error
    assert outcome["revoke"] == "revoked", outcome
    assert PointsEntry.objects.filter(violation=v, kind="reverse").count() == 1
