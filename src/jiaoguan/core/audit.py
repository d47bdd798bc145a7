"""The audit log: append-only and hash-chained (ARCHITECTURE §4).

``audit_record(...)`` appends a change; ``audit_access(...)`` records a staff look at a citizen's data.
Appends are ordered by locking the single AuditHead row, so the chain never forks under concurrency
(on SQLite, BEGIN IMMEDIATE already serialises writers). ``audit_verify()`` walks the chain and returns the
first broken row.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet

from jiaoguan.core import clock
from jiaoguan.core.locks import note_audit_head_taken
from jiaoguan.core.models import AuditEntry, AuditHead

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


def _entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
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


def _append(*, kind: str, actor: Actor, action: str, object_type: str, object_id: Any,
            subject_person_id: int | None, old: Any, new: Any, reason: str) -> AuditEntry:
    with transaction.atomic():
        head, _ = AuditHead.objects.get_or_create(id=1)
        head = AuditHead.objects.select_for_update().get(id=1)
        note_audit_head_taken()  # held until commit: no lock may be taken after it (core.locks)
        entry = AuditEntry(
            id=head.last_id + 1,
            at=clock.now(),
            kind=kind,
            actor_id=actor.id,
            actor_label=actor.label[:150],
            actor_role=actor.role,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            subject_person_id=subject_person_id,
            old=_canonical(old),
            new=_canonical(new),
            reason=(reason or "")[:500],
            ip=actor.ip or "",
            prev_hash=head.last_hash,
        )
        entry.hash = _entry_digest(head.last_hash, _hashed_fields(entry))
        entry.save(force_insert=True)
        AuditHead.objects.filter(id=1).update(last_id=entry.id, last_hash=entry.hash)
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


# --- reads -------------------------------------------------------------------------------------------------------

def audit_recorded(*, action: str, object_type: str, object_id: Any) -> bool:
    """Was this action recorded for this object (``object_type`` like "credentials.credential")?"""
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id), action=action).exists()


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


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""


def audit_verify(*, chunk: int = 2000) -> ChainReport:
    """Recompute every hash in order; report the first row whose hash, link or sequence is wrong."""
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:chunk])
        if not rows:
            break
        for entry in rows:
            if entry.id != expected_id:
                return ChainReport(False, checked, expected_id, f"row {expected_id} is missing")
            if entry.prev_hash != prev_hash:
                return ChainReport(False, checked, entry.id, "link to the previous row is broken")
            if _entry_digest(prev_hash, _hashed_fields(entry)) != entry.hash:
                return ChainReport(False, checked, entry.id, "content does not match its hash")
            prev_hash = entry.hash
            expected_id += 1
            checked += 1
            last_id = entry.id
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and (head.last_id != last_id or head.last_hash != prev_hash):
        return ChainReport(False, checked, last_id + 1 if head.last_id > last_id else head.last_id,
                           "rows at the end of the chain are missing")
    return ChainReport(True, checked)
