"""Idempotency keys: a repeat returns the first result (ARCHITECTURE §4)."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from jiaoguan.core.errors import Conflict, InvalidInput
from jiaoguan.core.idempotency import idempotent, seen, validate_key
from jiaoguan.core.models import HolidayOverride, IdempotencyKey


class Body:
    """A request body that writes a row (a stand-in for moving money or a seat) and counts its runs."""

    def __init__(self, *, fail: bool = False, pause: float = 0.0):
        self.runs = 0
        self.fail = fail
        self.pause = pause
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.runs += 1
            n = self.runs
        time.sleep(self.pause)
        HolidayOverride.objects.create(date=dt.date(2030, 1, n), is_workday=False, name=f"run {n}")
        if self.fail:
            raise Conflict("bookings.full", "名额已满", "No seats left")
        return 201, {"run": n, "seat": "A-01"}


@pytest.mark.django_db
def test_a_repeat_returns_the_first_result_without_running_again():
    body = Body()
    first = idempotent(scope="user:1:book", key="key-0000001", fingerprint=b'{"slot": 5}', run=body)
    again = idempotent(scope="user:1:book", key="key-0000001", fingerprint=b'{"slot": 5}', run=body)
    assert first == again == (201, {"run": 1, "seat": "A-01"})
    assert body.runs == 1
    assert HolidayOverride.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert (row.scope, row.key, row.status_code, row.response) == ("user:1:book", "key-0000001", 201,
                                                                     {"run": 1, "seat": "A-01"})
    assert row.completed_at is not None


@pytest.mark.django_db
def test_keys_are_scoped():
    body = Body()
    idempotent(scope="user:1:book", key="key-0000001", fingerprint="x", run=body)
    second = idempotent(scope="user:2:book", key="key-0000001", fingerprint="x", run=body)
    assert second == (201, {"run": 2, "seat": "A-01"}) and body.runs == 2


@pytest.mark.django_db
def test_seen_once_stored_in_its_scope_only():
    # identity's binding confirmation asks it before entering ``idempotent``
    assert not seen("user:1:book", "key-0000001")
    idempotent(scope="user:1:book", key="key-0000001", fingerprint="x", run=Body())
    assert seen("user:1:book", "key-0000001")
    assert not seen("user:2:book", "key-0000001") and not seen("user:1:book", "key-0000002")


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_refused():
    body = Body()
    idempotent(scope="s", key="key-0000001", fingerprint=b'{"slot": 5}', run=body)
    with pytest.raises(InvalidInput) as info:
        idempotent(scope="s", key="key-0000001", fingerprint=b'{"slot": 6}', run=body)
    assert info.value.code == "core.idempotency_mismatch" and info.value.status == 422
    assert body.runs == 1


@pytest.mark.django_db
def test_a_refusal_stores_nothing_and_a_retry_runs_afresh():
    failing = Body(fail=True)
    with pytest.raises(Conflict):
        idempotent(scope="s", key="key-0000002", fingerprint="b", run=failing)
    assert IdempotencyKey.objects.count() == 0
    assert HolidayOverride.objects.count() == 0  # the body's writes rolled back with it
    ok = Body()
    assert idempotent(scope="s", key="key-0000002", fingerprint="b", run=ok) == (201, {"run": 1, "seat": "A-01"})
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_str_and_bytes_fingerprints_agree():
    body = Body()
    idempotent(scope="s", key="key-0000003", fingerprint="体", run=body)
    assert idempotent(scope="s", key="key-0000003", fingerprint="体".encode(), run=body)[1]["run"] == 1


@pytest.mark.parametrize("key", [None, "", "       ", "short", "k" * 121, "键" * 10, "abc\x00defgh", "tab\tkey00"])
def test_invalid_keys(key):
    with pytest.raises(InvalidInput) as info:
        validate_key(key)
    assert info.value.code == "core.idempotency_key" and info.value.field == "Idempotency-Key"


def test_keys_are_trimmed():
    assert validate_key("  abcdefgh  ") == "abcdefgh"
    assert validate_key("k" * 120) == "k" * 120


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_the_body_once():
    body = Body(pause=0.3)
    n = 10
    barrier = threading.Barrier(n)
    results: list = []
    errors: list = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(idempotent(scope="user:9:pay", key="pay-000000001", fingerprint=b"{}", run=body))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert body.runs == 1
    assert results == [(201, {"run": 1, "seat": "A-01"})] * n
    assert HolidayOverride.objects.count() == 1 and IdempotencyKey.objects.count() == 1
