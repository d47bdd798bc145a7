"""core.locks: one helper for every lock, in sorted order, bounded by lock_timeout, refused outside a
transaction and refused after the audit head (which every audited transaction holds until commit)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from jiaoguan.core import locks
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import HolidayOverride

SYS = Actor.system("test")


def rows(n: int) -> list[HolidayOverride]:
    import datetime as dt

    return [HolidayOverride.objects.create(date=dt.date(2031, 1, 1) + dt.timedelta(days=i), is_workday=False,
                                           name=f"d{i}") for i in range(n)]


@pytest.mark.django_db
def test_refused_outside_a_transaction():
    r = rows(1)[0]
    with pytest.raises(RuntimeError, match="inside a transaction"):
        locks.lock_rows(HolidayOverride, [r.pk])
    with pytest.raises(RuntimeError, match="inside a transaction"):
        locks.lock_keys(["x"])


@pytest.mark.django_db
def test_rows_come_back_in_key_order():
    made = rows(4)
    with transaction.atomic():
        got = locks.lock_rows(HolidayOverride, [made[3].pk, made[0].pk, made[2].pk, made[0].pk])
    assert [r.pk for r in got] == sorted([made[3].pk, made[0].pk, made[2].pk])
    with transaction.atomic():
        assert locks.lock_row(HolidayOverride, 10**9) is None


@pytest.mark.django_db
def test_an_audit_row_takes_no_lock_so_locks_may_follow_it():
    """Since issue 12 an append is a plain INSERT: no audit head to be the last lock of a transaction."""
    a, b = rows(2)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        locks.lock_rows(HolidayOverride, [a.pk])
        audit_record(actor=SYS, action="test.lock", object_type="x", object_id=1)
        locks.lock_rows(HolidayOverride, [b.pk])
        locks.lock_keys(["k2"])
    appends = [q["sql"] for q in ctx.captured_queries if "core_audit" in q["sql"]]
    assert len(appends) == 1 and appends[0].startswith("INSERT INTO")


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_keys_are_locked_in_one_sorted_statement():
    names = [f"k{i}" for i in range(5)]
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        locks.lock_keys(reversed(names))
    [sql] = [q["sql"] for q in ctx.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    hashes = [int(part.split(")")[0]) for part in sql.split("pg_advisory_xact_lock(")[1:]]
    assert hashes == sorted(locks.key_hash(n) for n in names)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lock_not_granted_in_time_is_a_clean_409(settings):
    """A wait is bounded by JIAOGUAN_LOCK_TIMEOUT and ends in core.busy, and the transaction's own lock_timeout
    is what it was afterwards."""
    settings.JIAOGUAN_LOCK_TIMEOUT = 0.2
    (r,) = rows(1)
    holding, done = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                locks.lock_rows(HolidayOverride, [r.pk])
                locks.lock_keys(["busy"])
                holding.set()
                done.wait(10)
        finally:
            connection.close()

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert holding.wait(10)
        for attempt in (lambda: locks.lock_rows(HolidayOverride, [r.pk]), lambda: locks.lock_keys(["busy"])):
            with pytest.raises(Conflict) as err, transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL lock_timeout = '7s'")
                attempt()
            assert err.value.code == "core.busy" and err.value.status == 409
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '7s'")
            locks.lock_keys(["free"])
            with connection.cursor() as cur:
                cur.execute("SHOW lock_timeout")
                assert cur.fetchone()[0] == "7s"
    finally:
        done.set()
        t.join()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_bounded_sets_lock_timeout_once_for_several_locks_and_restores_it(settings):
    """``bounded()`` around two locks: one set and one restore (not one pair per lock), the timeout in force for
    both locks, the transaction's own setting back afterwards, and a nested block sets nothing."""
    settings.JIAOGUAN_LOCK_TIMEOUT = 3
    (r,) = rows(1)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '7s'")
        with CaptureQueriesContext(connection) as ctx:
            with locks.bounded():
                assert locks.lock_id(HolidayOverride, r.pk) and not locks.lock_id(HolidayOverride, r.pk + 999)
                locks.lock_keys(["a", "b"])
                with connection.cursor() as cur:
                    cur.execute("SHOW lock_timeout")
                    assert cur.fetchone()[0] == "3s"
        settings_sql = [q["sql"] for q in ctx.captured_queries if "lock_timeout" in q["sql"]]
        assert len(settings_sql) == 3, settings_sql  # set, SHOW, restore
        assert any("FOR UPDATE" in q["sql"] for q in ctx.captured_queries)
        with connection.cursor() as cur:
            cur.execute("SHOW lock_timeout")
            assert cur.fetchone()[0] == "7s"
    assert not getattr(connection, "_jiaoguan_bounded", False)


@pytest.mark.django_db
def test_lock_id_is_refused_outside_a_transaction():
    (r,) = rows(1)
    with pytest.raises(RuntimeError):
        locks.lock_id(HolidayOverride, r.pk)


@pytest.mark.django_db
def test_in_transaction_ignores_the_test_cases_own_blocks():
    assert not locks.in_transaction()  # only the test case's wrapping block is open
    with transaction.atomic():
        assert locks.in_transaction()
    assert not locks.in_transaction()
