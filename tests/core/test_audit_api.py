"""The audit log's proofs over the API: a citizen's proof for a record about them, the public keys, the latest
signed head and consistency proofs for an outside auditor (issue 12)."""
from __future__ import annotations

import pytest

from jiaoguan.core import audit, merkle
from jiaoguan.core.audit import Actor, audit_access, audit_seal
from tests.factories import make_person
from tests.identity.helpers import holder, register

pytestmark = pytest.mark.django_db
CLERK = Actor(id=7, label="窗口 王芳", role="clerk", ip="10.0.0.8")


def test_a_citizen_checks_that_a_look_at_their_record_is_in_the_log(client):
    person = holder(name="张三")
    user = register(person)
    client.force_login(user)
    looked = audit_access(actor=CLERK, action="person.view", subject_person_id=person.pk, fields=["id_number"])
    other = audit_access(actor=CLERK, action="person.view", subject_person_id=make_person().pk)
    response = client.get(f"/api/v1/me/audit/{looked.id}/proof")
    assert response.status_code == 409 and response.json()["code"] == "core.audit_not_sealed"
    audit_seal()
    body = client.get(f"/api/v1/me/audit/{looked.id}/proof").json()
    # what the citizen's own tool does: recompute the digest from the content, the leaf, the path to the root,
    # and check the head's signature with the published key
    import hashlib
    import json

    content = json.dumps(body["entry"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(content.encode()).hexdigest()
    assert digest == body["digest"] and body["entry"]["action"] == "person.view"
    leaf = merkle.leaf_hash(f"{body['entry_id']}:{digest}".encode())
    assert merkle.verify_inclusion(leaf=leaf, index=body["leaf_index"], size=body["tree_size"],
                                   path=[bytes.fromhex(p) for p in body["path"]],
                                   root=bytes.fromhex(body["head"]["root_hash"]))
    (key,) = client.get("/api/v1/audit/keys").json()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    head = body["head"]
    message = json.dumps({k: head[k] for k in ("log", "tree_size", "timestamp", "root_hash", "chain_hash",
                                                 "key_id", "algorithm")}, sort_keys=True, separators=(",", ":"))
    Ed25519PublicKey.from_public_bytes(audit._unb64(key["public_key"])).verify(audit._unb64(head["signature"]),
                                                                               message.encode())
    # someone else's entry, or no entry at all: the same 404
    for entry_id in (other.id, 10**12):
        response = client.get(f"/api/v1/me/audit/{entry_id}/proof")
        assert response.status_code == 404 and response.json()["code"] == "core.audit_entry_not_found"


def test_an_auditor_reads_the_latest_head_and_a_consistency_proof(client, settings):
    settings.JIAOGUAN_AUDIT_HEAD_EVERY = 1
    assert client.get("/api/v1/audit/heads/latest").status_code == 404
    for i in range(3):
        audit.audit_record(actor=CLERK, action="x.y", object_type="t", object_id=i)
    saved = audit_seal().head
    for i in range(4):
        audit.audit_record(actor=CLERK, action="x.y", object_type="t", object_id=i)
    audit_seal()
    latest = client.get("/api/v1/audit/heads/latest").json()
    assert latest["tree_size"] == 7
    proof = client.get("/api/v1/audit/consistency", {"first": 3}).json()
    assert proof["second"] == 7 and proof["first_root"] == saved.root_hash
    assert merkle.verify_consistency(first=3, second=7, first_root=bytes.fromhex(saved.root_hash),
                                     second_root=bytes.fromhex(latest["root_hash"]),
                                     proof=[bytes.fromhex(p) for p in proof["proof"]])
    assert client.get("/api/v1/audit/consistency", {"first": 8}).status_code == 404
    assert client.get("/api/v1/audit/consistency", {"first": 0}).status_code in (400, 422)
