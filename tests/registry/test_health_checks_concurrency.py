"""The partner API under real parallel connections (PostgreSQL): the same record sent at once is stored once."""
from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.models import AuditEntry, SignedRequestNonce
from jiaoguan.registry.models import HealthCheck
from tests.concurrency import in_threads
from tests.factories import make_person
from tests.registry.health_support import make_hospital, post, record

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_same_record_sent_at_once_is_one_row():
    hospital = make_hospital()
    person = make_person(name="王建国")
    results = in_threads(6, lambda i: post(Client(), hospital, record(person)).status_code)
    assert sorted(results) == [200] * 5 + [201], results
    assert HealthCheck.objects.count() == 1
    assert AuditEntry.objects.filter(action="health_check.receive").count() == 1
    assert AuditEntry.objects.filter(action="health_check.receive_repeat").count() == 5
    assert audit_verify().ok


def test_conflicting_records_at_once_one_wins():
    hospital = make_hospital()
    person = make_person(name="王建国")
    bodies = [record(person), record(person, result="unfit")]
    results = in_threads(2, lambda i: post(Client(), hospital, bodies[i]).status_code)
    assert sorted(results) == [201, 409], results
    assert HealthCheck.objects.count() == 1


def test_same_nonce_at_once_is_accepted_once():
    hospital = make_hospital()
    person = make_person(name="王建国")
    results = in_threads(4, lambda i: post(Client(), hospital, record(person, number=f"HC-{i}"),
                                           nonce="same-nonce-0001").status_code)
    assert sorted(results) == [201, 401, 401, 401], results
    assert HealthCheck.objects.count() == 1 and SignedRequestNonce.objects.count() == 1
