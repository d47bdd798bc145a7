"""Migration 0003 fills the new licence fields of existing rows: which cycle their points belong to, and why a
cancelled one was cancelled (from the audit log, else from the dates of rows loaded already cancelled)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence
from tests.factories import unique_id_number

BEFORE = [("registry", "0002_seed_inspection_rules")]


@pytest.mark.django_db(transaction=True)
def test_0003_fills_points_cycle_and_cancel_reasons():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    Person = old_apps.get_model("registry", "Person")
    Licence = old_apps.get_model("registry", "DrivingLicence")
    now = timezone.now()

    def licence(status: str, valid_until: dt.date | None, first: dt.date = dt.date(2010, 5, 17)):
        number = unique_id_number(birth=dt.date(1980, 1, 1))
        person = Person.objects.create(name="张三", id_number=number, gender="M", birth_date=dt.date(1980, 1, 1),
                                       created_at=now, updated_at=now)
        return Licence.objects.create(person=person, file_number=f"4403{person.pk:08d}", classes="C1",
                                      first_issue_date=first, valid_from=first, valid_until=valid_until,
                                      status=status, cycle_points=4, created_at=now, updated_at=now)

    def cancelled_by(lic, label: str, role: str) -> None:
        audit_record(actor=Actor(id=None, label=label, role=role), action="licence.cancel",
                     object_type="registry.drivinglicence", object_id=lic.pk, old={"status": "expired"},
                     new={"status": "cancelled"})

    swept = licence("cancelled", dt.date(2020, 5, 17))
    cancelled_by(swept, "registry.licence_expiry", "system")
    by_clerk = licence("cancelled", dt.date(2020, 5, 17))  # dates long past, but a clerk cancelled it
    cancelled_by(by_clerk, "窗口民警", "clerk")
    loaded_lapsed = licence("cancelled", dt.date(2020, 5, 17))  # loaded already cancelled, no history
    loaded_other = licence("cancelled", dt.date(2099, 5, 17))
    valid = licence("valid", None)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    today = timezone.localdate()
    got = {lic.pk: (lic.status_reason, lic.points_cycle_start, lic.cycle_points)
           for lic in DrivingLicence.objects.all()}
    cycle = rules.scoring_cycle(dt.date(2010, 5, 17), today)[0]
    assert got == {
        swept.pk: ("expiry_over_1_year", cycle, 4),
        by_clerk.pk: ("other", cycle, 4),
        loaded_lapsed.pk: ("expiry_over_1_year", cycle, 4),
        loaded_other.pk: ("other", cycle, 4),
        valid.pk: ("", cycle, 4),
    }
