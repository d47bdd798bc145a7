"""The append-only audit log, its sealer (hash chain, Merkle tree, signed heads) and its verification (issue 12)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from jiaoguan.core import audit, merkle
from jiaoguan.core.audit import Actor, audit_access, audit_record, audit_seal, audit_seal_all, audit_verify
from jiaoguan.core.models import AuditEntry, AuditPending, AuditSeal, AuditSealer, AuditTreeHead
from tests.core.helpers import audit_guard_lifted, audit_triggers, raw_execute
from tests.factories import make_person

CLERK = Actor(id=7, label="窗口 王芳", role="clerk", ip="10.0.0.8")


@pytest.fixture(autouse=True)
def _ids_from_one(request):
    """Entries numbered from 1 in every test on PostgreSQL too (its sequence is not rolled back with a test)."""
    if "django_db" in request.keywords and connection.vendor == "postgresql":
        request.getfixturevalue("django_db_setup")
        with connection.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('core_auditentry', 'id'), 1, false)")


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
def test_entries_are_appended_queued_then_sealed_and_verify(clock):
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    entries = append(3)
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 3
    # an append is one row with its content digest, queued (by the database trigger) for the sealer
    assert all(e.digest == audit.entry_digest(e) and e.hash is None for e in entries)
    assert sorted(AuditPending.objects.values_list("entry_id", flat=True)) == ids
    stored = AuditEntry.objects.get(id=ids[1])
    assert stored.at == dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    assert (stored.actor_id, stored.actor_label, stored.actor_role, stored.ip) == (7, "窗口 王芳", "clerk", "10.0.0.8")
    assert stored.old == {"status": "valid"} and stored.new["status"] == "suspended"
    report = audit_verify()
    assert report.ok and (report.checked, report.sealed, report.unsealed) == (3, 0, 3)
    assert "3 rows (0 sealed, 3 waiting" in verify_command()

    result = audit_seal()
    assert (result.sealed, result.tree_size) == (3, 3) and result.head is not None  # the first head at once
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [(s.seq, s.entry_id) for s in seals] == [(1, ids[0]), (2, ids[1]), (3, ids[2])]
    chain = bytes.fromhex(audit.GENESIS)
    for seal, entry in zip(seals, entries, strict=True):
        leaf = merkle.leaf_hash(f"{entry.id}:{entry.digest}".encode())
        chain = hashlib.sha256(chain + leaf).digest()
        assert (seal.leaf_hash, seal.chain_hash) == (leaf.hex(), chain.hex())
    assert not AuditPending.objects.exists()
    head = AuditTreeHead.objects.get()
    assert head.tree_size == 3 and head.chain_hash == chain.hex() and audit.head_signature_ok(head)
    report = audit_verify()
    assert report.ok and (report.checked, report.sealed, report.unsealed, report.heads) == (3, 3, 0, 1)
    assert "3 rows (3 sealed, 0 waiting for the sealer), 1 signed heads" in verify_command()
    assert audit_seal().sealed == 0  # nothing new: no work, no new head


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
@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "waiting"])
def test_changing_a_row_is_named_by_verify_and_by_the_command(sealed):
    third = append(5)[2].id
    if sealed:
        audit_seal()
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET reason = %s WHERE id = %s", ["改过了", third])
    report = audit_verify()
    assert not report.ok
    assert (report.first_broken_id, report.checked) == (third, 2)
    assert "content" in report.problem
    with pytest.raises(CommandError, match=rf"broken at row {third}\b"):
        verify_command()


@pytest.mark.django_db
def test_a_forger_who_recomputes_the_digest_does_not_match_the_seal():
    append(5)
    audit_seal()
    with audit_guard_lifted():
        row = AuditEntry.objects.get(id=3)
        row.new = {"status": "valid"}
        forged = audit.entry_digest(row)
        raw_execute("UPDATE core_auditentry SET new = %s, digest = %s WHERE id = 3", ['{"status": "valid"}', forged])
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 3)
    assert "seal does not match" in report.problem


@pytest.mark.django_db
def test_a_forger_who_recomputes_the_seal_too_breaks_the_next_link_and_the_signed_head():
    append(5)
    audit_seal()
    with audit_guard_lifted():
        row = AuditEntry.objects.get(id=3)
        row.new = {"status": "valid"}
        forged = audit.entry_digest(row)
        prev = AuditSeal.objects.get(seq=2).chain_hash
        leaf = merkle.leaf_hash(f"3:{forged}".encode())
        chain = hashlib.sha256(bytes.fromhex(prev) + leaf).hexdigest()
        raw_execute("UPDATE core_auditentry SET new = %s, digest = %s WHERE id = 3", ['{"status": "valid"}', forged])
        raw_execute("UPDATE core_auditseal SET leaf_hash = %s, chain_hash = %s WHERE seq = 3", [leaf.hex(), chain])
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 4)
    assert "link" in report.problem


@pytest.mark.django_db
def test_a_forger_who_rewrites_the_whole_tail_is_caught_by_the_signed_head():
    append(5)
    audit_seal()
    with audit_guard_lifted():
        # rewrite entry 5, its seal, and the sealer's state: everything but the signature (no key)
        row = AuditEntry.objects.get(id=5)
        row.reason = "改过了"
        forged = audit.entry_digest(row)
        prev = AuditSeal.objects.get(seq=4).chain_hash
        leaf = merkle.leaf_hash(f"5:{forged}".encode())
        chain = hashlib.sha256(bytes.fromhex(prev) + leaf).hexdigest()
        raw_execute("UPDATE core_auditentry SET reason = %s, digest = %s WHERE id = 5", ["改过了", forged])
        raw_execute("UPDATE core_auditseal SET leaf_hash = %s, chain_hash = %s WHERE seq = 5", [leaf.hex(), chain])
        raw_execute("UPDATE core_auditnode SET hash = %s WHERE level = 0", ["0" * 64])  # (none at level 0)
        raw_execute("UPDATE core_auditsealer SET chain_hash = %s", [chain])
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 5)
    assert "signed head of size 5 does not match" in report.problem


@pytest.mark.django_db
def test_a_changed_timestamp_is_caught():
    append(4)
    audit_seal()
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET at = %s WHERE id = 2", [dt.datetime(2020, 1, 1, tzinfo=dt.UTC)])
    assert audit_verify().first_broken_id == 2


@pytest.mark.django_db
def test_deleting_a_middle_row_is_named():
    append(5)
    audit_seal()
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditentry WHERE id = 3")
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 3)
    assert "missing" in report.problem
    with pytest.raises(CommandError, match=r"row 3\b"):
        verify_command()


@pytest.mark.django_db
def test_deleting_a_row_waiting_for_the_sealer_is_named_and_raises_the_alarm(clock):
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    append(3)
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditentry WHERE id = 2")
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 2)
    assert audit_seal().sealed == 2  # the others are sealed; the lost one stays queued, visible
    assert not audit.audit_health().ok


@pytest.mark.django_db
def test_deleting_rows_without_any_trace_of_them_in_the_queue_is_named():
    append(3)
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditpending WHERE entry_id = 2")
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 2)
    assert "neither sealed nor queued" in report.problem


@pytest.mark.django_db
@pytest.mark.parametrize("rewind_state", [False, True])
def test_deleting_the_last_rows_is_named(rewind_state):
    append(5)
    audit_seal()
    with audit_guard_lifted():
        raw_execute("DELETE FROM core_auditentry WHERE id >= 4")
        raw_execute("DELETE FROM core_auditseal WHERE seq >= 4")
        if rewind_state:  # and the sealer's state: the signed head still remembers the size
            raw_execute("UPDATE core_auditsealer SET tree_size = 3, chain_hash = %s",
                        [AuditSeal.objects.get(seq=3).chain_hash])
    report = audit_verify()
    assert not report.ok and report.checked == 3
    assert "rows at the end of the log are missing" in report.problem


@pytest.mark.django_db
def test_verify_walks_in_chunks():
    append(7)
    audit_seal(batch=3)
    audit_seal(batch=3)  # 6 sealed, 1 waiting
    assert audit_verify(chunk=2).checked == 7
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditentry SET action = 'x.y' WHERE id = 6")
    assert audit_verify(chunk=2).first_broken_id == 6


@pytest.mark.django_db
def test_a_wrong_stored_subtree_root_is_named():
    append(4)
    audit_seal(head=False)
    with audit_guard_lifted():
        raw_execute("UPDATE core_auditnode SET hash = %s WHERE level = 1 AND \"index\" = 1", ["ab" * 32])
    report = audit_verify()
    assert (report.ok, report.first_broken_id) == (False, 4)
    assert "subtree" in report.problem


@pytest.mark.django_db
def test_the_orm_and_the_database_refuse_to_change_or_delete_the_log():
    (entry,) = append(1)
    audit_seal()
    entry.reason = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()
    # and the database refuses what bypasses the model (querysets, raw SQL), for the seals and heads too
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).update(reason="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_execute("DELETE FROM core_auditentry")
    for sql in ("UPDATE core_auditseal SET chain_hash = 'x'", "DELETE FROM core_auditseal",
                "UPDATE core_audittreehead SET root_hash = 'x'", "DELETE FROM core_audittreehead"):
        with pytest.raises(DatabaseError), transaction.atomic():
            raw_execute(sql)
    assert AuditEntry.objects.get(id=entry.id).reason == "满分 1"
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_append_rolled_back_with_its_change_leaves_nothing_to_seal():
    append(2)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        append(1)
        1 / 0
    append(1)
    assert AuditPending.objects.count() == 3
    assert audit_seal().sealed == 3 and audit_verify().ok


@pytest.mark.django_db
def test_many_at_once():
    entries = audit.audit_records(actor=CLERK, changes=[
        audit.Change(action="violation.record", object_type="violations.violation", object_id=i, new={"i": i})
        for i in range(1, 6)])
    assert [e.action for e in entries] == ["violation.record"] * 5 and all(e.id for e in entries)
    assert audit.audit_records(actor=CLERK, changes=[]) == []
    assert AuditPending.objects.count() == 5
    audit_seal()
    assert audit_verify().ok and audit_verify().sealed == 5


@pytest.mark.django_db
def test_signed_heads_every_n_entries_or_t_seconds(clock, settings):
    settings.JIAOGUAN_AUDIT_HEAD_EVERY = 4
    settings.JIAOGUAN_AUDIT_HEAD_SECONDS = 60
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    append(2)
    assert audit_seal().head.tree_size == 2  # the first one at once
    append(1)
    assert audit_seal().head is None  # 1 new entry, 0 s later
    append(3)
    assert audit_seal().head.tree_size == 6  # 4 new entries
    append(1)
    clock.advance(dt.timedelta(seconds=59))
    assert audit_seal().head is None
    clock.advance(dt.timedelta(seconds=2))
    assert audit_seal().head.tree_size == 7  # 61 s since the last head
    clock.advance(dt.timedelta(hours=1))
    assert audit_seal().head is None  # nothing new: no head
    assert list(AuditTreeHead.objects.order_by("tree_size").values_list("tree_size", flat=True)) == [2, 6, 7]
    assert audit_verify().heads == 3


@pytest.mark.django_db
def test_inclusion_and_consistency_proofs_check_out_against_signed_heads(settings):
    settings.JIAOGUAN_AUDIT_HEAD_EVERY = 1
    append(6)
    first = audit_seal(batch=6).head
    append(7)
    second = audit_seal().head
    assert (first.tree_size, second.tree_size) == (6, 13)
    for entry_id in (1, 6, 11, 13):
        proof = audit.audit_inclusion_proof(entry_id)
        entry = AuditEntry.objects.get(id=entry_id)
        leaf = merkle.leaf_hash(f"{entry.id}:{audit.entry_digest(entry)}".encode())  # from the entry's content
        assert proof.tree_size == 13 and proof.head["root_hash"] == second.root_hash
        assert merkle.verify_inclusion(leaf=leaf, index=proof.leaf_index, size=proof.tree_size,
                                       path=[bytes.fromhex(p) for p in proof.path],
                                       root=bytes.fromhex(proof.head["root_hash"]))
    old = audit.audit_inclusion_proof(3, tree_size=6)
    assert old.head["root_hash"] == first.root_hash
    consistency = audit.audit_consistency_proof(6)
    assert consistency["second"] == 13
    assert merkle.verify_consistency(first=6, second=13, first_root=bytes.fromhex(first.root_hash),
                                     second_root=bytes.fromhex(second.root_hash),
                                     proof=[bytes.fromhex(p) for p in consistency["proof"]])
    # an outsider checks the heads' signatures with the published public key only
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    (key,) = audit.audit_public_keys()
    public = Ed25519PublicKey.from_public_bytes(audit._unb64(key["public_key"]))
    for head in (first, second):
        public.verify(audit._unb64(head.signature), audit.head_message(
            tree_size=head.tree_size, timestamp=head.timestamp, root_hash=head.root_hash,
            chain_hash=head.chain_hash, key_id=key["kid"]))
    append(1)
    with pytest.raises(audit.ProofUnavailable, match="not sealed"):
        audit.audit_inclusion_proof(14)
    with pytest.raises(audit.ProofUnavailable):
        audit.audit_consistency_proof(14)


@pytest.mark.django_db
def test_the_commands_print_heads_and_proofs(clock):
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    append(3)
    audit_seal()
    clock.advance(dt.timedelta(minutes=5))
    append(2)
    audit_seal()
    out = io.StringIO()
    call_command("audit_heads", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "public_key" in lines[0] and [h["tree_size"] for h in lines[1:]] == [3, 5]
    out = io.StringIO()
    call_command("audit_heads", "--since", "2026-03-01T02:03:00", stdout=out)
    assert [json.loads(line).get("tree_size") for line in out.getvalue().splitlines()][1:] == [5]
    with pytest.raises(CommandError, match="--since"):
        call_command("audit_heads", "--since", "yesterday")
    out = io.StringIO()
    call_command("audit_proof", "--entry", "2", stdout=out)
    assert json.loads(out.getvalue())["tree_size"] == 5
    out = io.StringIO()
    call_command("audit_proof", "--consistency", "3", "5", stdout=out)
    assert json.loads(out.getvalue())["first"] == 3
    with pytest.raises(CommandError, match="not sealed"):
        call_command("audit_proof", "--entry", "99")
    append(1)
    out = io.StringIO()
    call_command("audit_seal", "--head", stdout=out)
    assert "sealed 1" in out.getvalue() and AuditTreeHead.objects.filter(tree_size=6).exists()


@pytest.mark.django_db
def test_the_health_check_raises_the_alarm_for_entries_left_unsealed(clock, client, settings):
    settings.JIAOGUAN_AUDIT_UNSEALED_ALARM_SECONDS = 60
    clock.freeze(dt.datetime(2026, 3, 1, 10, 0))
    assert client.get("/api/v1/health/audit").json()["status"] == "ok"
    append(2)
    clock.advance(dt.timedelta(seconds=30))
    body = client.get("/api/v1/health/audit").json()
    assert (body["status"], body["unsealed"], body["oldest_unsealed_seconds"]) == ("ok", 2, 30.0)
    clock.advance(dt.timedelta(seconds=31))
    response = client.get("/api/v1/health/audit")
    assert response.status_code == 503 and response.json()["status"] == "alarm"
    out, err = io.StringIO(), io.StringIO()
    call_command("audit_verify", stdout=out, stderr=err)
    assert "alarm" in err.getvalue()
    audit_seal()
    response = client.get("/api/v1/health/audit")
    assert response.status_code == 200 and response.json() == {
        "status": "ok", "unsealed": 0, "oldest_unsealed_seconds": None, "threshold_seconds": 60, "tree_size": 2,
        "last_head_size": 2}


@pytest.mark.django_db
def test_a_sealer_that_dies_mid_batch_seals_nothing_and_the_next_run_seals_everything_once(monkeypatch):
    append(6)

    def crash(*args, **kwargs):
        raise OSError("sealer killed")

    with monkeypatch.context() as m:
        m.setattr(audit.AuditNode.objects, "bulk_create", crash)  # after the seals were inserted
        with pytest.raises(OSError):
            audit_seal()
    assert not AuditSeal.objects.exists() and AuditPending.objects.count() == 6
    assert AuditSealer.objects.filter(tree_size__gt=0).count() == 0
    assert audit_seal().sealed == 6
    assert audit_verify().ok and audit_verify().sealed == 6


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_and_restores_the_guard():
    """Emptying a database (``manage.py flush``, and every transactional or live-server test between tests)
    works on both databases; on SQLite the guards are lifted for the flush only."""
    append(3)
    audit_seal()
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0 and AuditSeal.objects.count() == 0
    if connection.vendor == "postgresql":
        expected = {"core_auditentry_no_change", "core_auditentry_queue"}
        assert audit_triggers("core_auditseal") == {"core_auditseal_no_change"}
    else:
        expected = {"core_auditentry_no_update", "core_auditentry_no_delete", "core_auditentry_queue"}
        assert audit_triggers("core_auditseal") == {"core_auditseal_no_update", "core_auditseal_no_delete"}
    assert audit_triggers() == expected
    append(1)  # the log starts again
    assert audit_seal().sealed == 1 and audit_verify().ok
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(id__gte=1).update(reason="changed")
    append(1)  # and a transactional test that leaves rows behind is flushed without error afterwards


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_take_no_shared_lock_and_are_all_sealed_once():
    n = 20
    barrier = threading.Barrier(n)
    inside = threading.Barrier(n)  # every writer holds its open transaction with its row written at once:
    errors: list[BaseException] = []  # impossible if an append took a lock shared with the other writers

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                audit_record(actor=Actor(id=i, label=f"user {i}", role="clerk"), action="booking.confirm",
                             object_type="bookings.booking", object_id=i, new={"i": i})
                inside.wait(timeout=30)
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
    assert sorted(AuditEntry.objects.values_list("actor_id", flat=True)) == list(range(n))
    assert audit_seal().sealed == n
    report = audit_verify()
    assert report.ok and report.sealed == n
    assert sorted(AuditSeal.objects.values_list("entry_id", flat=True)) == sorted(
        AuditEntry.objects.values_list("id", flat=True))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_late_is_sealed_in_a_later_batch():
    """Entries commit out of id order: the long transaction's row (lower id) is sealed after the later ones."""
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def long_transaction() -> None:
        try:
            with transaction.atomic():
                audit_record(actor=CLERK, action="long.one", object_type="t", object_id=1)
                started.set()
                release.wait(30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=long_transaction)
    t.start()
    assert started.wait(30)
    later = append(3)
    assert audit_seal().sealed == 3  # the long transaction's row is not visible yet
    release.set()
    t.join(30)
    assert not errors
    assert audit_seal().sealed == 1
    long_id = AuditEntry.objects.get(action="long.one").id
    assert long_id < later[0].id
    assert AuditSeal.objects.get(entry_id=long_id).seq == 4
    report = audit_verify()
    assert report.ok and report.sealed == 4


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_writers_and_sealers_running_together_seal_every_entry_exactly_once():
    import random
    import time

    stop = threading.Event()
    errors: list[BaseException] = []
    busy = []

    def writer(i: int) -> None:
        try:
            for j in range(25):
                with transaction.atomic():
                    audit_record(actor=Actor(id=i, label=f"w{i}", role="clerk"), action="w.x", object_type="t",
                                 object_id=j)
                    time.sleep(random.random() * 0.004)  # commit at random moments, out of id order
                    if j % 7 == 3:
                        transaction.set_rollback(True)  # and some roll back: gaps in the ids
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            while not stop.is_set():
                result = audit_seal(batch=7)
                busy.append(result.busy)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in [*sealers, *writers]:
        t.start()
    for t in writers:
        t.join(120)
    stop.set()
    for t in sealers:
        t.join(60)
    assert not errors, errors
    audit_seal_all()
    committed = AuditEntry.objects.count()
    assert committed == 8 * (25 - 4)
    assert AuditSeal.objects.count() == committed and not AuditPending.objects.exists()
    report = audit_verify()
    assert report.ok and report.sealed == committed


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_second_sealer_returns_at_once_while_one_runs():
    append(2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", [audit.key_hash(audit.SEALER_LOCK)])
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    t = threading.Thread(target=hold)
    t.start()
    assert holding.wait(30)
    try:
        assert audit_seal().busy
    finally:
        release.set()
        t.join(30)
    assert audit_seal().sealed == 2
