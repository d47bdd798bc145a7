"""Real parallel connections on PostgreSQL: a citizen's read racing a writer.

The read's build starts while the writer's transaction is open (it sees the records as they were), then waits on
the rows the writer's stale mark locked, and writes the old records back after the writer commits. The outbox
rebuild that the writer's commit sets off must still leave the read model equal to the records."""
from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, transaction

from jiaoguan.core.audit import Actor
from jiaoguan.records import parts, services
from jiaoguan.records.models import RecordPart
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.services import vehicles
from tests.identity.helpers import holder, register

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CLERK = Actor(id=7, label="clerk7", role="clerk")


def _stored(user_id: int) -> dict:
    return {(p.part, p.language): json.loads(p.body) for p in RecordPart.objects.filter(user_id=user_id)}


def test_a_read_racing_a_writer_ends_with_the_records_as_they_are():
    person = holder(name="褚十二")
    user = register(person)
    car = Vehicle.objects.get(owner=person)
    services.records_build(user_id=user.pk)  # materialised
    marked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():  # the mark's row locks are held until this commits
                vehicles.vehicle_set_status(vehicle=Vehicle.objects.get(pk=car.pk), status=Vehicle.Status.MORTGAGED,
                                            actor=CLERK, reason="抵押 mortgage")
                marked.set()
                assert release.wait(timeout=20)
            # committed: its on-commit dispatch delivered records.changed (eager), which rebuilt the parts
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    def reader() -> None:
        try:
            assert marked.wait(timeout=20)
            services.records_build(user_id=user.pk)  # reads the old records, then waits on the mark's row locks
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    assert marked.wait(timeout=20)
    time.sleep(0.5)  # the reader has read the sources and is blocked on the locked parts
    release.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    statuses = [v["status"] for v in _stored(user.pk)[("vehicles", "zh-hans")]]
    assert statuses == ["mortgaged"], statuses
    user.refresh_from_db()
    assert _stored(user.pk) == {(name, language): json.loads(made.render(language))
                                for name, made in parts.make_all(user).items() for language in parts.LANGUAGES}
