"""core's admin: holiday overrides editable; the audit log and the outbox read-only, filterable."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from jiaoguan.core.audit import Actor, audit_access, audit_record
from jiaoguan.core.models import AuditEntry, HolidayOverride, OutboxEvent
from jiaoguan.core.workdays import is_workday

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser(username="root", password="Pa55word!x")
    client.force_login(user)
    return client


@pytest.fixture
def entries():
    audit_record(actor=Actor(1, "审批 李", "approver"), action="licence.suspend", object_type="registry.drivinglicence",
                 object_id=1, old={"status": "valid"}, new={"status": "suspended"})
    audit_access(actor=Actor(2, "窗口 王", "clerk"), action="person.view", subject_person_id=2)
    return list(AuditEntry.objects.all())


@pytest.fixture
def events(clock):
    now = clock.now()
    return [
        OutboxEvent.objects.create(topic="identity.user_registered", handler="a:b", payload={"user": 1},
                                   status="failed", attempts=8, created_at=now, next_attempt_at=now,
                                   last_error="RuntimeError: provider down"),
        OutboxEvent.objects.create(topic="identity.user_registered", handler="a:c", payload={}, status="delivered",
                                   attempts=1, created_at=now, next_attempt_at=now, delivered_at=now),
    ]


def test_holiday_overrides_are_edited_in_the_admin(admin_client):
    assert admin_client.get("/admin/core/holidayoverride/").status_code == 200
    r = admin_client.post("/admin/core/holidayoverride/add/",
                          {"date": "2027-10-01", "is_workday": "", "name": "国庆节"})
    assert r.status_code == 302, r.content.decode()[:2000]
    override = HolidayOverride.objects.get(date=dt.date(2027, 10, 1))
    assert override.is_workday is False and not is_workday(dt.date(2027, 10, 1))
    r = admin_client.post(f"/admin/core/holidayoverride/{override.pk}/change/",
                          {"date": "2027-10-01", "is_workday": "on", "name": "改为上班"})
    assert r.status_code == 302 and is_workday(dt.date(2027, 10, 1))
    r = admin_client.post(f"/admin/core/holidayoverride/{override.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and not HolidayOverride.objects.exists()
    page = admin_client.get("/admin/core/holidayoverride/?is_workday__exact=0")
    assert page.status_code == 200


def test_the_audit_log_is_listed_filtered_and_read_only(admin_client, entries):
    r = admin_client.get("/admin/core/auditentry/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "licence.suspend" in html and "person.view" in html
    assert "/admin/core/auditentry/add/" not in html
    r = admin_client.get("/admin/core/auditentry/?action=person.view")
    assert r.status_code == 200 and "person.view" in r.content.decode()
    assert "licence.suspend" not in r.context["cl"].result_list.values_list("action", flat=True)
    assert list(r.context["cl"].result_list.values_list("action", flat=True)) == ["person.view"]
    r = admin_client.get("/admin/core/auditentry/?kind__exact=change")
    assert list(r.context["cl"].result_list.values_list("action", flat=True)) == ["licence.suspend"]
    r = admin_client.get("/admin/core/auditentry/?actor_role=clerk")
    assert list(r.context["cl"].result_list.values_list("action", flat=True)) == ["person.view"]

    detail = admin_client.get(f"/admin/core/auditentry/{entries[0].pk}/change/")
    assert detail.status_code == 200
    assert "suspended" in detail.content.decode() and 'name="_save"' not in detail.content.decode()
    assert admin_client.get("/admin/core/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/core/auditentry/{entries[0].pk}/delete/", {"post": "yes"}).status_code == 403
    r = admin_client.post(f"/admin/core/auditentry/{entries[0].pk}/change/", {"reason": "forged"})
    assert r.status_code == 403
    r = admin_client.post("/admin/core/auditentry/", {"action": "delete_selected",
                                                     "_selected_action": [e.pk for e in entries]})
    assert AuditEntry.objects.count() == 2


def test_the_outbox_is_listed_filtered_and_read_only(admin_client, events):
    r = admin_client.get("/admin/core/outboxevent/?status__exact=failed")
    assert r.status_code == 200
    assert [e.pk for e in r.context["cl"].result_list] == [events[0].pk]
    assert "provider down" in r.content.decode()
    detail = admin_client.get(f"/admin/core/outboxevent/{events[0].pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.get("/admin/core/outboxevent/add/").status_code == 403
    assert admin_client.post(f"/admin/core/outboxevent/{events[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert OutboxEvent.objects.count() == 2


def test_anonymous_users_are_sent_to_log_in(client):
    r = client.get("/admin/core/auditentry/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
