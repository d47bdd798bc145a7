"""The append-only, hash-chained audit log and its verification command (ARCHITECTURE §4)."""
from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from jiaoguan.core import audit
from jiaoguan.core.audit import Actor, audit_access, audit_record, audit_verify
from jiaoguan.core.models import AuditEntry, AuditHead
from tests.core.helpers import audit_guard_lifted, audit_triggers, raw_execute
from tests.factories import make_person

CLERK = Actor(id=7, label="窗口 王芳", role="clerk", ip="10.0.0.8")


def append(n: int, **kwargs) -> list[AuditEntry]:
    return [
        audit_record(actor=CLERK, action="licence.suspend", object_type="registry.drivinglicence", object_id=i,
                     old={"status": "valid"}, new={"status": "suspended", "points": 12, "i": i},
                     reason=f"满分 {i}", **kwargs)
        for i in range(1, n + 1)
    ]


def verify_command() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_entries_chain_up_and_verify(clock):
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    entries = append(3)
    assert [e.id for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == audit.GENESIS
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    head = AuditHead.objects.get(id=1)
    assert (head.last_id, head.last_hash) == (3, entries[2].hash)
    stored = AuditEntry.objects.get(id=2)
    assert stored.at == dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    assert (stored.actor_id, stored.actor_label, stored.actor_role, stored.ip) == (7, "窗口 王芳", "clerk", "10.0.0.8")
    assert stored.old == {"status": "valid"} and stored.new["status"] == "suspended"
    report = audit_verify()
    assert report.ok and report.checked == 3 and report.first_broken_id is None
    assert "3 rows" in verify_command()


@pytest.mark.django_db
def test_an_empty_log_verifies():
    assert audit_verify().ok
    assert "0 rows" in verify_command()


@pytest.mark.django_db
def test_record_takes_the_object_and_values_of_many_types():
    person = make_person()
    entry = audit_record(actor=Actor.system("demo_city"), action="person.create", obj=person,
                         new={"when": dt.date(2026, 1, 2), "amount": 1.5, "huge": 1e20, "list": (1, 2), "中文": "值"},
                         subject_person_id=person.pk)
    assert (entry.object_type, entry.object_id) == ("registry.person", str(person.pk))
    assert entry.actor_role == "system" and entry.actor_id is None
    # what the column gives back hashes to the same value on either database (jsonb rewrites 1e20 as an integer)
    assert AuditEntry.objects.get(id=entry.id).new == {"when": "2026-01-02", "amount": 1.5, "huge": 10**20,
                                                       "list": [1, 2], "中文": "值"}
    assert audit_verify().ok


@pytest.mark.django_db
def test_values_json_cannot_hold_are_refused():
    with pytest.raises(ValueError):
        audit_record(actor=CLERK, action="x.y", object_type="t", object_id=1, new={"v": float("nan")})
    assert AuditEntry.objects.count() == 0 and audit_verify().ok


@pytest.mark.django_db
def test_access_rows():
    person = make_person()
    entry = audit_access(actor=CLERK, action="person.unmask", subject_person_id=person.pk, fields=["id_number"],
                         reason="窗口业务")
    assert entry.kind == AuditEntry.Kind.ACCESS
    assert (entry.object_type, entry.object_id, entry.subject_person_id) == ("registry.person", str(person.pk),
                                                                              person.pk)
    assert entry.new == {"fields": ["id_number"]}
    assert audit_verify().ok


@pytest.mark.django_db
def test_readers_of_the_log():
    # audit_recorded: credentials asks whether a credential's revocation was recorded; access_entries: the
    # console's access log page
    person, other = make_person(), make_person()
    audit_record(actor=CLERK, action="credential.revoke", object_type="credentials.credential", object_id=5)
    assert audit.audit_recorded(action="credential.revoke", object_type="credentials.credential", object_id=5)
    assert not audit.audit_recorded(action="credential.revoke", object_type="credentials.credential", object_id=6)
    assert not audit.audit_recorded(action="credential.issue", object_type="credentials.credential", object_id="5")
    first = audit_access(actor=CLERK, action="person.view", subject_person_id=person.pk)
    second = audit_access(actor=Actor(id=9, label="x", role="clerk"), action="person.view",
                          subject_person_id=other.pk)
    assert list(audit.access_entries()) == [second, first]  # newest first, changes left out
    assert list(audit.access_entries(actor_id=CLERK.id)) == [first]
    assert list(audit.access_entries(subject_person_ids=[other.pk])) == [second]
    assert list(audit.access_entries(actor_id=CLERK.id, subject_person_ids=[other.pk])) == []


def test_actor_of_a_user():
    class U:
        is_authenticated = True
        pk = 5
        role = "approver"
        audit_label = "审批 李"

    class Anon:
        is_authenticated = False

    assert Actor.of(U(), ip="1.2.3.4") == Actor(5, "审批 李", "approver", "1.2.3.4")
    assert Actor.of(Anon()).role == "anonymous" and Actor.of(None).id is None


@pytest.mark.django_db
def test_changing_a_row_is_named_by_verify_and_by_the_command():
    append(5)
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET reason = %s WHERE id = 3", ["改过了"])
    report = audit_verify()
    assert not report.ok
    assert (report.first_broken_id, report.checked) == (3, 2)
    assert "content" in report.problem
    with pytest.raises(CommandError, match=r"broken at row 3\b"):
        verify_command()


@pytest.mark.django_db
def test_a_forger_who_recomputes_the_hash_breaks_the_next_link():
    entries = append(5)
    with audit_guard_lifted():
        row = AuditEntry.objects.get(id=3)
        row.new = {"status": "valid"}
        forged = audit._entry_digest(row.prev_hash, audit._hashed_fields(row))
        raw_execute("UPDATE core_auditentry SET new = %s, hash = %s WHERE id = 3", ['{"status": "valid"}', forged])
    assert forged != entries[2].hash
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 4)
    assert "link" in report.problem


@pytest.mark.django_db
def test_a_changed_timestamp_is_caught():
    append(4)
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET at = %s WHERE id = 2", [dt.datetime(2020, 1, 1, tzinfo=dt.UTC)])
    assert audit_verify().first_broken_id == 2


@pytest.mark.django_db
def test_deleting_a_middle_row_is_named():
    append(5)
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditentry WHERE id = 3")
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 3)
    assert "missing" in report.problem
    with pytest.raises(CommandError, match=r"row 3\b"):
        verify_command()


@pytest.mark.django_db
def test_deleting_the_last_rows_is_named():
    append(5)
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditentry WHERE id >= 4")
    report = audit_verify()
    assert (report.ok, report.first_broken_id, report.checked) == (False, 4, 3)


@pytest.mark.django_db
def test_verify_walks_in_chunks():
    append(7)
    assert audit_verify(chunk=2).checked == 7
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET action = 'x.y' WHERE id = 6")
    assert audit_verify(chunk=2).first_broken_id == 6


@pytest.mark.django_db
def test_the_orm_refuses_to_change_or_delete_entries():
    (entry,) = append(1)
    entry.reason = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()
    # and the database refuses what bypasses the model (querysets, raw SQL)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).update(reason="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_execute("DELETE FROM core_auditentry")
    assert AuditEntry.objects.get(id=entry.id).reason == "满分 1"
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_append_rolled_back_with_its_change_leaves_the_chain_intact():
    append(2)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        append(1)
        1 / 0
    (third,) = append(1)
    assert third.id == 3 and audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_and_restores_the_guard():
    """Emptying a database (``manage.py flush``, and every transactional or live-server test between tests)
    works on both databases; on SQLite the guard is lifted for the flush only."""
    append(3)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0
    expected = {"core_auditentry_no_change"} if connection.vendor == "postgresql" else {
        "core_auditentry_no_update", "core_auditentry_no_delete"}
    assert audit_triggers() == expected
    (entry,) = append(1)  # the head row was flushed too: the chain starts again
    assert entry.id == 1 and audit_verify().ok
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id=1).update(reason="changed")
    append(1)  # and a transactional test that leaves rows behind is flushed without error afterwards


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain():
    n = 20
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            audit_record(actor=Actor(id=i, label=f"user {i}", role="clerk"), action="booking.confirm",
                         object_type="bookings.booking", object_id=i, new={"i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    assert ids == list(range(1, n + 1))
    assert sorted(AuditEntry.objects.values_list("actor_id", flat=True)) == list(range(n))
    report = audit_verify()
    assert report.ok and report.checked == n
    assert AuditHead.objects.get(id=1).last_id == n
