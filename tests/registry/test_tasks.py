"""The periodic licence expiry task, with the clock moved."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.models import AuditEntry
from jiaoguan.core.scheduler import jobs
from jiaoguan.registry import selectors
from jiaoguan.registry.tasks import licence_expiry_sweep
from tests.factories import make_licence, make_person

pytestmark = pytest.mark.django_db


def test_the_task_is_a_periodic_job():
    assert "registry.licence_expiry_sweep" in {j.name for j in jobs()}


def test_expiry_then_cancellation_as_time_passes(clock):
    clock.freeze(dt.date(2026, 1, 1))
    expiring = make_licence(person=make_person(), first_issue=dt.date(2020, 3, 1), valid_until=dt.date(2026, 3, 1))
    long_term = make_licence(person=make_person(), first_issue=dt.date(2000, 3, 1), valid_until=None)
    suspended = make_licence(person=make_person(), first_issue=dt.date(2020, 3, 1), valid_until=dt.date(2026, 3, 1),
                             status="suspended")

    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 0}
    clock.freeze(dt.date(2026, 3, 1))  # the last valid day
    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 0}
    clock.freeze(dt.date(2026, 3, 2))
    assert licence_expiry_sweep.apply().get() == {"expired": 1, "cancelled": 0}
    expiring.refresh_from_db()
    assert expiring.status == "expired"
    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 0}  # idempotent

    clock.freeze(dt.date(2027, 3, 1))  # one year after expiry: still only expired
    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 0}
    clock.freeze(dt.date(2027, 3, 2))
    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 1}
    expiring.refresh_from_db()
    long_term.refresh_from_db()
    suspended.refresh_from_db()
    assert (expiring.status, long_term.status, suspended.status) == ("cancelled", "valid", "suspended")
    assert expiring.status_reason == "expiry_over_1_year"  # the one reason that allows a restoration

    rows = list(AuditEntry.objects.filter(object_type="registry.drivinglicence").order_by("id"))
    assert [(r.action, r.old, r.new, r.actor_role) for r in rows] == [
        ("licence.expire", {"status": "valid"}, {"status": "expired"}, "system"),
        ("licence.cancel", {"status": "expired", "status_reason": ""},
         {"status": "cancelled", "status_reason": "expiry_over_1_year"}, "system"),
    ]
    assert rows[0].subject_person_id == expiring.person_id
    assert audit_verify().ok


def test_a_licence_found_long_past_its_date_goes_straight_to_cancelled(clock):
    clock.freeze(dt.date(2026, 6, 1))
    old = make_licence(person=make_person(), first_issue=dt.date(2010, 1, 1), valid_until=dt.date(2024, 1, 1))
    assert licence_expiry_sweep.apply().get() == {"expired": 0, "cancelled": 1}
    old.refresh_from_db()
    assert old.status == "cancelled"
    assert selectors.licence_summary(licence=old).status == "cancelled"
