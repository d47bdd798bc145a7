"""Contended registry writes with real parallel connections (PostgreSQL): lock, then check, then write."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import services
from jiaoguan.registry.models import DrivingLicence, Person
from tests.factories import make_licence, make_person, unique_id_number

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
CLERK = Actor(id=1, label="clerk", role="clerk")


def in_threads(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_clerks_suspend_the_same_licence_once():
    licence = make_licence(person=make_person())
    results = in_threads(4, lambda i: services.licence_suspend(
        licence=DrivingLicence.objects.get(pk=licence.pk), actor=CLERK, reason=f"clerk {i}"))
    assert sum(isinstance(r, DrivingLicence) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3
    assert AuditEntry.objects.filter(action="licence.suspend").count() == 1
    assert audit_verify().ok


def test_the_same_person_created_twice_at_once():
    number = unique_id_number()
    results = in_threads(3, lambda i: services.person_create(name="张三", id_number=number, actor=CLERK))
    assert sum(isinstance(r, Person) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Person))
    assert Person.objects.count() == 1


def test_parallel_issues_get_distinct_file_numbers():
    persons = [make_person(birth=dt.date(1990, 1, 1)) for _ in range(4)]
    results = in_threads(4, lambda i: services.licence_issue(
        person=persons[i], classes="C1", first_issue_date=dt.date(2025, 1, 1), actor=CLERK))
    assert all(isinstance(r, DrivingLicence) for r in results), results
    numbers = {r.file_number for r in results}
    assert len(numbers) == 4
    assert audit_verify().ok
