"""The audit log: append-only, sealed into a hash chain and a Merkle tree with signed tree heads (ARCHITECTURE §4;
the design follows Certificate Transparency's verifiable log, RFC 9162).

Writing: ``audit_record(...)`` appends a change, ``audit_access(...)`` a staff look at a citizen's data,
``audit_records([...])`` many at once. An append is one INSERT in the writer's own transaction and takes no lock
shared with any other writer: the row carries ``digest``, the SHA-256 of its content, and a database trigger
queues it in ``AuditPending`` in the same transaction.

Sealing: ``audit_seal()`` (the periodic job ``core.audit_seal``, every second, one at a time under an advisory
lock) takes the committed, unsealed entries in id order, gives each its position (``AuditSeal.seq``, the order it
seals them), extends the hash chain and the Merkle tree (keeping the roots of complete subtrees in ``AuditNode``)
and, every ``JIAOGUAN_AUDIT_HEAD_EVERY`` entries or ``JIAOGUAN_AUDIT_HEAD_SECONDS`` seconds, writes a signed tree
head (Ed25519, ``JIAOGUAN_AUDIT_KEYS``). An entry whose transaction commits late is sealed in a later batch: the
queue holds exactly the committed, unsealed entries, so none is skipped.

Checking: ``audit_verify()`` re-derives everything (every digest, every seal exactly once, every chain link, every
stored subtree root, every signed head) and names the first broken entry; ``audit_inclusion_proof`` and
``audit_consistency_proof`` give what a citizen or an outside auditor can check against a signed head without the
whole log (``core.merkle.verify_inclusion`` / ``verify_consistency``); ``audit_health()`` raises the alarm when an
entry stays unsealed too long.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from jiaoguan.core import clock, merkle
from jiaoguan.core.locks import key_hash
from jiaoguan.core.models import AuditEntry, AuditNode, AuditPending, AuditSeal, AuditSealer, AuditTreeHead

log = logging.getLogger("jiaoguan.audit")

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (id, label, role) or the system."""

    id: int | None
    label: str
    role: str = ""
    ip: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(id=None, label=label, role="system")

    @classmethod
    def of(cls, user: Any, ip: str = "") -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(id=None, label="anonymous", role="anonymous", ip=ip)
        return cls(id=user.pk, label=getattr(user, "audit_label", str(user.pk)), role=getattr(user, "role", ""), ip=ip)


def _parse_float(text: str) -> float | int:
    # PostgreSQL's jsonb stores numbers as numeric and prints 1e+20 back as 100000000000000000000, which JSON
    # then reads as an int: turn such whole-number floats into ints up front so the hash survives the round trip.
    number = float(text)
    if ("e" in text or "E" in text) and number.is_integer():
        return int(number)
    return number


def _canonical(value: Any) -> Any:
    # JSON round trip so the hash covers exactly what the JSON column stores (NaN/infinity are refused: neither
    # JSON nor jsonb has them)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, allow_nan=False),
                      parse_float=_parse_float)


def _json(fields: dict[str, Any]) -> str:
    return json.dumps(fields, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _legacy_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash of a row written before issue 12: over the previous row's hash and the row (with its id)."""
    return hashlib.sha256((prev_hash + "\n" + _json(fields)).encode("utf-8")).hexdigest()


def _hashed_fields(entry: AuditEntry, *, with_id: bool = True) -> dict[str, Any]:
    fields = {
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "kind": entry.kind,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "subject_person_id": entry.subject_person_id,
        "old": entry.old,
        "new": entry.new,
        "reason": entry.reason,
        "ip": entry.ip,
    }
    return {"id": entry.id, **fields} if with_id else fields


def entry_digest(entry: AuditEntry) -> str:
    """SHA-256 of an entry's content (its id is bound later, by the seal's leaf "<id>:<digest>")."""
    return hashlib.sha256(_json(_hashed_fields(entry, with_id=False)).encode("utf-8")).hexdigest()


def _entry(*, kind: str, actor: Actor, action: str, object_type: str, object_id: Any, subject_person_id: int | None,
           old: Any, new: Any, reason: str, at: dt.datetime) -> AuditEntry:
    entry = AuditEntry(
        at=at, kind=kind, actor_id=actor.id, actor_label=actor.label[:150], actor_role=actor.role, action=action,
        object_type=object_type, object_id=str(object_id), subject_person_id=subject_person_id,
        old=_canonical(old), new=_canonical(new), reason=(reason or "")[:500], ip=actor.ip or "",
    )
    entry.digest = entry_digest(entry)
    return entry


def _append(**values: Any) -> AuditEntry:
    """One INSERT (the database trigger queues it for the sealer in the same transaction); no lock."""
    entry = _entry(at=clock.now(), **values)
    entry.save(force_insert=True)
    return entry


def audit_record(*, actor: Actor, action: str, obj: Any = None, object_type: str = "", object_id: Any = "",
                 old: Any = None, new: Any = None, reason: str = "", subject_person_id: int | None = None) -> AuditEntry:
    """Append a change: ``action`` like "licence.suspend"; old/new as small dicts of the changed values."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return _append(kind=AuditEntry.Kind.CHANGE, actor=actor, action=action, object_type=object_type,
                   object_id=object_id, subject_person_id=subject_person_id, old=old, new=new, reason=reason)


def audit_access(*, actor: Actor, action: str, subject_person_id: int, object_type: str = "registry.person",
                 object_id: Any = None, fields: list[str] | None = None, reason: str = "") -> AuditEntry:
    """Record that a staff member looked at (action "person.view") or unmasked ("person.unmask") a citizen's data."""
    return _append(kind=AuditEntry.Kind.ACCESS, actor=actor, action=action, object_type=object_type,
                   object_id=object_id if object_id is not None else subject_person_id,
                   subject_person_id=subject_person_id, old=None,
                   new={"fields": fields} if fields else None, reason=reason)


@dataclass(frozen=True)
class Change:
    """One change for ``audit_records`` (the arguments of ``audit_record``)."""

    action: str
    object_type: str
    object_id: Any
    old: Any = None
    new: Any = None
    reason: str = ""
    subject_person_id: int | None = None


def audit_records(*, actor: Actor, changes: Iterable[Change]) -> list[AuditEntry]:
    """Append many changes by one actor in one INSERT (a device batch, a sweep); the entries come back with ids."""
    at = clock.now()
    entries = [_entry(kind=AuditEntry.Kind.CHANGE, actor=actor, action=c.action, object_type=c.object_type,
                      object_id=c.object_id, subject_person_id=c.subject_person_id, old=c.old, new=c.new,
                      reason=c.reason, at=at) for c in changes]
    return AuditEntry.objects.bulk_create(entries) if entries else []


# --- reads -------------------------------------------------------------------------------------------------------

def audit_recorded(*, action: str, object_type: str, object_id: Any) -> bool:
    """Was this action recorded for this object (``object_type`` like "credentials.credential")?"""
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id), action=action).exists()


def audit_last_at(*, actions: tuple[str, ...], object_type: str, object_id: Any,
                  since: dt.datetime) -> dt.datetime | None:
    """When one of ``actions`` was last recorded for this object at or after ``since``, or None."""
    return (AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id), action__in=actions,
                                      at__gte=since).order_by("-at").values_list("at", flat=True).first())


def access_entries(*, actor_id: int | None = None,
                   subject_person_ids: Collection[int] | None = None) -> QuerySet[AuditEntry]:
    """The staff's looks at citizens' data (``audit_access``), newest first: all, or by one staff member and/or
    about these persons."""
    rows = AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS)
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if subject_person_ids is not None:
        rows = rows.filter(subject_person_id__in=subject_person_ids)
    return rows.order_by("-id")




# --- signed tree heads ---------------------------------------------------------------------------------------------

LOG_ID = "jiaoguan-audit"
ED25519 = "ed25519"


def _keys() -> list[tuple[str, bytes]]:
    return [(str(kid), bytes(key)) for kid, key in settings.JIAOGUAN_AUDIT_KEYS]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def head_message(*, tree_size: int, timestamp: dt.datetime, root_hash: str, chain_hash: str, key_id: str,
                 algorithm: str = ED25519) -> bytes:
    """The bytes a tree head's signature covers (canonical JSON, keys sorted, no spaces)."""
    return _json({"log": LOG_ID, "tree_size": tree_size,
                  "timestamp": timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                  "root_hash": root_hash, "chain_hash": chain_hash, "key_id": key_id,
                  "algorithm": algorithm}).encode("utf-8")


def audit_public_keys() -> list[dict[str, str]]:
    """The audit keys' Ed25519 public keys (raw, base64url), for whoever checks signed heads outside the platform."""
    return [{"kid": kid, "alg": ED25519,
             "public_key": _b64(Ed25519PrivateKey.from_private_bytes(key).public_key().public_bytes(
                 Encoding.Raw, PublicFormat.Raw))} for kid, key in _keys()]


def head_signature_ok(head: AuditTreeHead) -> bool:
    key = dict(_keys()).get(head.key_id)
    if key is None or head.algorithm != ED25519:
        return False
    message = head_message(tree_size=head.tree_size, timestamp=head.timestamp, root_hash=head.root_hash,
                           chain_hash=head.chain_hash, key_id=head.key_id, algorithm=head.algorithm)
    try:
        Ed25519PrivateKey.from_private_bytes(key).public_key().verify(_unb64(head.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def head_as_dict(head: AuditTreeHead) -> dict[str, Any]:
    return {"log": LOG_ID, "tree_size": head.tree_size,
            "timestamp": head.timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "root_hash": head.root_hash, "chain_hash": head.chain_hash, "algorithm": head.algorithm,
            "key_id": head.key_id, "signature": head.signature}


def _write_head(*, size: int, root: bytes, chain: bytes, now: dt.datetime) -> AuditTreeHead:
    kid, key = _keys()[0]
    message = head_message(tree_size=size, timestamp=now, root_hash=root.hex(), chain_hash=chain.hex(), key_id=kid)
    return AuditTreeHead.objects.create(
        tree_size=size, timestamp=now, root_hash=root.hex(), chain_hash=chain.hex(), algorithm=ED25519, key_id=kid,
        signature=_b64(Ed25519PrivateKey.from_private_bytes(key).sign(message)))


def audit_heads(*, since: dt.datetime | None = None) -> list[AuditTreeHead]:
    """The signed tree heads, oldest first (all, or those made at or after ``since``)."""
    rows = AuditTreeHead.objects.order_by("tree_size")
    return list(rows.filter(timestamp__gte=since) if since is not None else rows)


# --- sealing ---------------------------------------------------------------------------------------------------------

SEALER_LOCK = "core.audit.sealer"


@dataclass(frozen=True)
class SealResult:
    sealed: int
    tree_size: int
    head: AuditTreeHead | None = None
    busy: bool = False  # another sealer holds the lock: nothing done


def _sealer_lock() -> bool:
    """The one-sealer-at-a-time lock (a transaction-scoped advisory lock; SQLite serialises writers already)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [key_hash(SEALER_LOCK)])
        return bool(cur.fetchone()[0])


def _chain_next(chain: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(chain + leaf).digest()


def _leaf(entry_id: int, digest: str) -> bytes:
    return merkle.leaf_hash(f"{entry_id}:{digest}".encode("ascii"))


def audit_seal(*, batch: int | None = None, now: dt.datetime | None = None, head: bool | None = None) -> SealResult:
    """Seal up to ``batch`` committed, unsealed entries in id order, in one transaction; write a signed tree head
    when one is due (``head`` True forces one for new entries, False suppresses it). Run by the periodic job
    ``core.audit_seal``; a second sealer running at the same time returns at once (``busy``)."""
    batch = batch or settings.JIAOGUAN_AUDIT_SEAL_BATCH
    now = now or clock.now()
    with transaction.atomic():
        if not _sealer_lock():
            return SealResult(0, 0, busy=True)
        state, _ = AuditSealer.objects.get_or_create(id=1)
        ids = list(AuditPending.objects.order_by("entry_id").values_list("entry_id", flat=True)[:batch])
        digests = dict(AuditEntry.objects.filter(id__in=ids).values_list("id", "digest")) if ids else {}
        frontier = [(int(level), bytes.fromhex(h)) for level, h in state.frontier]
        chain, size = bytes.fromhex(state.chain_hash), state.tree_size
        seals: list[AuditSeal] = []
        nodes: list[AuditNode] = []
        for entry_id in ids:
            digest = digests.get(entry_id)
            if not digest:  # queued, but the row is gone or has no digest: only by tampering; audit_verify names it
                log.error("audit entry %s is queued for sealing but cannot be read; left unsealed", entry_id)
                continue
            leaf = _leaf(entry_id, digest)
            chain = _chain_next(chain, leaf)
            seals.append(AuditSeal(seq=size + 1, entry_id=entry_id, leaf_hash=leaf.hex(), chain_hash=chain.hex(),
                                   sealed_at=now))
            nodes.extend(AuditNode(level=level, index=index, hash=value.hex())
                         for (level, index), value in merkle.frontier_append(frontier, leaf, size))
            size += 1
        if seals:
            AuditSeal.objects.bulk_create(seals)
            AuditNode.objects.bulk_create(nodes)
            AuditPending.objects.filter(entry_id__in=[s.entry_id for s in seals]).delete()
            state.tree_size, state.chain_hash = size, chain.hex()
            state.frontier = [[level, h.hex()] for level, h in frontier]
            state.last_sealed_at = now
        made = None
        fresh = size > state.last_head_size
        due = head if head is not None else fresh and (
            size - state.last_head_size >= settings.JIAOGUAN_AUDIT_HEAD_EVERY or state.last_head_at is None
            or (now - state.last_head_at).total_seconds() >= settings.JIAOGUAN_AUDIT_HEAD_SECONDS)
        if due and fresh:
            made = _write_head(size=size, root=merkle.frontier_root(frontier), chain=chain, now=now)
            state.last_head_size, state.last_head_at = size, now
        if seals or made:
            state.save()
    return SealResult(len(seals), size, made)


def audit_seal_all(*, head: bool | None = None) -> int:
    """Seal until nothing committed is left unsealed (commands, tests, the demo); the number sealed."""
    total = 0
    while True:
        result = audit_seal(head=head)
        total += result.sealed
        if result.busy or result.sealed < settings.JIAOGUAN_AUDIT_SEAL_BATCH:
            if head and not result.head and not result.busy:
                audit_seal(head=True)
            return total


# --- health --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditHealth:
    ok: bool
    unsealed: int
    oldest_unsealed_seconds: float | None
    tree_size: int
    last_sealed_at: dt.datetime | None
    last_head_size: int
    last_head_at: dt.datetime | None
    threshold_seconds: int


def audit_health(*, now: dt.datetime | None = None) -> AuditHealth:
    """Whether every entry is sealed within ``JIAOGUAN_AUDIT_UNSEALED_ALARM_SECONDS`` (the alarm: not ok)."""
    now = now or clock.now()
    threshold = settings.JIAOGUAN_AUDIT_UNSEALED_ALARM_SECONDS
    pending = AuditPending.objects.values("entry_id")
    unsealed = pending.count()
    oldest = None
    if unsealed:
        first = AuditEntry.objects.filter(id__in=pending).order_by("at").values_list("at", flat=True).first()
        # a queued id with no row (tampering) counts as unsealed for ever
        oldest = (now - first).total_seconds() if first is not None else float("inf")
    state = AuditSealer.objects.filter(id=1).first() or AuditSealer(id=1)
    return AuditHealth(ok=oldest is None or oldest <= threshold, unsealed=unsealed, oldest_unsealed_seconds=oldest,
                       tree_size=state.tree_size, last_sealed_at=state.last_sealed_at,
                       last_head_size=state.last_head_size, last_head_at=state.last_head_at,
                       threshold_seconds=threshold)


# --- proofs ----------------------------------------------------------------------------------------------------------

def _lookup(nodes: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    by_level: dict[int, list[int]] = {}
    for level, index in nodes:
        by_level.setdefault(level, []).append(index)
    out: dict[merkle.Node, bytes] = {}
    for level, indexes in by_level.items():
        if level == 0:
            leaves = AuditSeal.objects.filter(seq__in=[i + 1 for i in indexes]).values_list("seq", "leaf_hash")
            out.update({(0, seq - 1): bytes.fromhex(h) for seq, h in leaves})
        else:
            stored = AuditNode.objects.filter(level=level, index__in=indexes).values_list("index", "hash")
            out.update({(level, index): bytes.fromhex(h) for index, h in stored})
    return out


class ProofUnavailable(LookupError):
    """No proof can be given yet (the entry is not sealed, or no signed head covers it)."""


@dataclass(frozen=True)
class InclusionProof:
    entry_id: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    path: list[str]
    head: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "leaf_index": self.leaf_index, "leaf_hash": self.leaf_hash,
                "tree_size": self.tree_size, "path": self.path, "head": self.head}


def _head_at(tree_size: int | None) -> AuditTreeHead:
    rows = AuditTreeHead.objects.order_by("-tree_size")
    head = (rows.filter(tree_size=tree_size) if tree_size is not None else rows).first()
    if head is None:
        raise ProofUnavailable("no signed tree head" + (f" of size {tree_size}" if tree_size is not None else ""))
    return head


def audit_inclusion_proof(entry_id: int, *, tree_size: int | None = None) -> InclusionProof:
    """The audit path from one entry's leaf to the root of a signed head (the latest, or the one of ``tree_size``):
    with the entry, its seal and the head, anyone can check it is in the log (``core.merkle.verify_inclusion``)."""
    seal = AuditSeal.objects.filter(entry_id=entry_id).first()
    if seal is None:
        raise ProofUnavailable(f"audit entry {entry_id} is not sealed yet")
    head = _head_at(tree_size)
    if seal.seq > head.tree_size:
        raise ProofUnavailable(f"audit entry {entry_id} is sealed after the latest signed head; try again shortly")
    path = merkle.inclusion_path(seal.seq - 1, head.tree_size, _lookup)
    return InclusionProof(entry_id, seal.seq - 1, seal.leaf_hash, head.tree_size, [p.hex() for p in path],
                          head_as_dict(head))


def audit_consistency_proof(first: int, second: int | None = None) -> dict[str, Any]:
    """The proof that the log of ``first`` entries is a prefix of the log at the signed head of size ``second``
    (the latest by default): what an auditor holding an old head checks to know history was not rewritten."""
    head = _head_at(second)
    if not 0 < first <= head.tree_size:
        raise ProofUnavailable(f"no log of size {first} before the head of size {head.tree_size}")
    proof = merkle.consistency_proof(first, head.tree_size, _lookup)
    return {"first": first, "second": head.tree_size, "proof": [p.hex() for p in proof], "head": head_as_dict(head),
            "first_root": merkle.root_of(first, _lookup).hex()}


# --- verification ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""
    sealed: int = 0
    unsealed: int = 0
    heads: int = 0


def _content_problem(entry: AuditEntry, legacy_prev: str) -> str:
    if entry.hash is not None:  # written before issue 12: the old chain's rule, and digest = its hash
        if entry.prev_hash != legacy_prev:
            return "link to the previous row is broken"
        if _legacy_digest(legacy_prev, _hashed_fields(entry)) != entry.hash or entry.digest != entry.hash:
            return "content does not match its hash"
        return ""
    return "" if entry_digest(entry) == entry.digest else "content does not match its digest"


def _stored_nodes(made: list[tuple[merkle.Node, bytes]]) -> dict[merkle.Node, str]:
    by_level: dict[int, list[int]] = {}
    for (level, index), _ in made:
        by_level.setdefault(level, []).append(index)
    out: dict[merkle.Node, str] = {}
    for level, indexes in by_level.items():
        out.update({(level, i): h for i, h in AuditNode.objects.filter(level=level, index__in=indexes)
                    .values_list("index", "hash")})
    return out


def _walk_seals(chunk: int) -> Iterator[tuple[list[AuditSeal], dict[int, AuditEntry]]]:
    last = 0
    while True:
        seals = list(AuditSeal.objects.filter(seq__gt=last).order_by("seq")[:chunk])
        if not seals:
            return
        yield seals, AuditEntry.objects.in_bulk([s.entry_id for s in seals])
        last = seals[-1].seq


def audit_verify(*, chunk: int = 2000) -> ChainReport:
    """Re-derive the whole log and report the first problem: an entry whose content does not match its digest, a
    missing or repeated position, a seal that does not match its entry, a broken chain link, a wrong stored subtree
    root, a signed head whose root, chain hash or signature does not match, an entry neither sealed nor queued.
    Entries still waiting for the sealer are checked too (their digest) and counted as ``unsealed``."""
    chain, legacy_prev = bytes.fromhex(GENESIS), GENESIS
    frontier: list[tuple[int, bytes]] = []
    size = checked = 0
    heads = iter(AuditTreeHead.objects.order_by("tree_size").iterator(chunk_size=chunk))
    head = next(heads, None)
    n_heads = 0

    def broken(entry_id: int | None, problem: str) -> ChainReport:
        return ChainReport(False, checked, entry_id, problem, size, 0, n_heads)

    for seals, entries in _walk_seals(chunk):
        made_all: list[tuple[merkle.Node, bytes]] = []
        for seal in seals:
            if seal.seq != size + 1:
                return broken(seal.entry_id, f"position {size + 1} of the log is missing")
            entry = entries.get(seal.entry_id)
            if entry is None:
                return broken(seal.entry_id, f"row {seal.entry_id} (position {seal.seq}) is missing")
            problem = _content_problem(entry, legacy_prev)
            if problem:
                return broken(entry.id, problem)
            if entry.hash is not None:
                legacy_prev = entry.hash
            leaf = _leaf(entry.id, entry.digest)
            if leaf.hex() != seal.leaf_hash:
                return broken(entry.id, "its seal does not match the row (leaf hash)")
            chain = _chain_next(chain, leaf)
            if chain.hex() != seal.chain_hash:
                return broken(entry.id, "link to the previous position is broken (chain hash)")
            made_all.extend(merkle.frontier_append(frontier, leaf, size))
            size += 1
            checked += 1
            while head is not None and head.tree_size <= size:
                if head.tree_size < size:
                    return broken(entry.id, f"signed head of size {head.tree_size} is out of order")
                if (head.root_hash != merkle.frontier_root(frontier).hex() or head.chain_hash != chain.hex()
                        or not head_signature_ok(head)):
                    return broken(entry.id, f"signed head of size {head.tree_size} does not match the log "
                                            "(root, chain hash or signature)")
                n_heads += 1
                head = next(heads, None)
        stored = _stored_nodes(made_all)
        by_seq = {s.seq: s.entry_id for s in seals}
        for (level, index), value in made_all:
            if stored.get((level, index)) != value.hex():  # named by the entry that completed the subtree
                return broken(by_seq.get((index + 1) << level),
                              f"stored subtree root (level {level}, index {index}) does not match the log")
    if head is not None:
        return broken(None, f"signed head of size {head.tree_size} but the log has only {size} sealed rows: "
                            "rows at the end of the log are missing")
    state = AuditSealer.objects.filter(id=1).first()
    if state is not None and (state.tree_size != size or state.chain_hash != chain.hex()):
        return broken(None, f"the sealer's state says {state.tree_size} sealed rows, the log has {size}: "
                            "rows at the end of the log are missing")
    sealed = checked
    unsealed = 0
    last = 0
    while ids := list(AuditPending.objects.filter(entry_id__gt=last).order_by("entry_id")
                      .values_list("entry_id", flat=True)[:chunk]):
        rows = AuditEntry.objects.in_bulk(ids)
        sealed_too = set(AuditSeal.objects.filter(entry_id__in=ids).values_list("entry_id", flat=True))
        for entry_id in ids:
            entry = rows.get(entry_id)
            if entry is None:
                return broken(entry_id, f"row {entry_id} is missing (queued for sealing)")
            if entry_id in sealed_too:
                return broken(entry_id, f"row {entry_id} is queued although already sealed")
            problem = _content_problem(entry, legacy_prev) if entry.hash is None else ""
            if problem:
                return broken(entry_id, problem)
            unsealed += 1
            checked += 1
        last = ids[-1]
    orphan = (AuditEntry.objects
              .exclude(Exists(AuditSeal.objects.filter(entry_id=OuterRef("id"))))
              .exclude(Exists(AuditPending.objects.filter(entry_id=OuterRef("id"))))
              .order_by("id").values_list("id", flat=True).first())
    if orphan is not None:
        return broken(orphan, f"row {orphan} is neither sealed nor queued for sealing")
    return ChainReport(True, checked, None, "", sealed, unsealed, n_heads)


def audit_check_saved_head(saved: dict[str, Any]) -> str:
    """What an outside auditor runs with a head it saved earlier (``audit_heads`` output): its signature is the
    log's, and the log today is consistent with it (a consistency proof to the latest signed head, checked with
    the saved root only). Returns "" when it holds, else the problem."""
    try:
        head = AuditTreeHead(tree_size=int(saved["tree_size"]), root_hash=str(saved["root_hash"]),
                             chain_hash=str(saved["chain_hash"]), algorithm=str(saved["algorithm"]),
                             key_id=str(saved["key_id"]), signature=str(saved["signature"]),
                             timestamp=dt.datetime.fromisoformat(str(saved["timestamp"])))
    except (KeyError, TypeError, ValueError):
        return "not a signed tree head"
    if not head_signature_ok(head):
        return f"the head of size {head.tree_size} is not signed by a key of this log"
    try:
        proof = audit_consistency_proof(head.tree_size)
    except ProofUnavailable as exc:
        return f"the log no longer reaches size {head.tree_size}: {exc}"
    latest = proof["head"]
    if not merkle.verify_consistency(first=head.tree_size, second=latest["tree_size"],
                                     first_root=bytes.fromhex(head.root_hash),
                                     second_root=bytes.fromhex(latest["root_hash"]),
                                     proof=[bytes.fromhex(p) for p in proof["proof"]]):
        return (f"history was rewritten: the log of size {latest['tree_size']} does not extend the saved head of "
                f"size {head.tree_size}")
    return ""


def audit_entry_proof(entry_id: int, *, person_id: int | None) -> dict[str, Any]:
    """A citizen's proof that an entry about them is in the log: the entry's hashed content (to recompute its
    digest), its leaf and the audit path to the latest signed head. Only for entries whose subject is
    ``person_id``; any other id is "not found" (it does not say whether the entry exists)."""
    from jiaoguan.core.errors import Conflict, NotFound

    entry = AuditEntry.objects.filter(id=entry_id).first() if person_id is not None else None
    if entry is None or entry.subject_person_id != person_id:
        raise NotFound("core.audit_entry_not_found", "没有这条关于您的记录", "No such record about you")
    try:
        proof = audit_inclusion_proof(entry_id)
    except ProofUnavailable:
        raise Conflict("core.audit_not_sealed", "该记录尚未封存，请稍后再试",
                       "This record is not sealed into the log yet; try again in a minute") from None
    return {"entry": _canonical(_hashed_fields(entry, with_id=False)), "digest": entry.digest, **proof.as_dict()}
