"""Writes of the read model: (re)build one account's records from the owning apps, as they are now.

One function builds, whoever asks: an outbox handler after a change (records.handlers), a read that finds a part
missing or past its ``stale_at`` (selectors.part_for), the ``records_rebuild`` command. It takes the account's
advisory lock ("records.user:<id>") and reads the records after it, so two builds of one account never cross: the
one that commits last read the records last. A build computes every part in both languages and writes them in one
statement; "incremental" and "rebuilt" are therefore the same computation, and a rebuild equals the result of the
events (tests/records)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.locks import lock_keys
from jiaoguan.identity import selectors as identity
from jiaoguan.records import parts
from jiaoguan.records.models import RecordPart


def _etag(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def records_build(*, user_id: int) -> dict[tuple[str, str], RecordPart]:
    """Build (or rebuild) every part of one account's records; returns them by (part, language). An account that
    is gone or disabled has none (its parts are deleted)."""
    with transaction.atomic():
        lock_keys([f"records.user:{user_id}"])
        user = identity.users_by_ids(ids=[user_id]).get(user_id)
        if user is None or not user.is_active:
            RecordPart.objects.filter(user_id=user_id).delete()
            return {}
        made = parts.make_all(user)
        now = clock.now()
        rows = []
        for name, m in made.items():
            for language in parts.LANGUAGES:
                body = m.render(language)
                rows.append(RecordPart(user_id=user_id, part=name, language=language, body=body, etag=_etag(body),
                                       built_at=now, stale_at=m.stale_at))
        RecordPart.objects.bulk_create(rows, update_conflicts=True, unique_fields=["user", "part", "language"],
                                       update_fields=["body", "etag", "built_at", "stale_at"])
    return {(r.part, r.language): r for r in rows}


def records_mark_stale(users: list[int], persons: list[int], vehicles: list[int]) -> None:
    """core.outbox.records_changed's marker: in the writer's transaction, the parts of every account that shows
    these accounts', persons' or vehicles' records become stale (one UPDATE), so no read after the commit serves
    them as they were: it rebuilds them, unless the outbox event's rebuild came first."""
    affected = identity.accounts_showing(user_ids=users, person_ids=persons, vehicle_ids=vehicles)
    RecordPart.objects.filter(user_id__in=affected).update(stale_at=clock.now())


def records_refresh(*, user_ids: Iterable[int], materialised_only: bool = True) -> int:
    """Rebuild the records of these accounts after a change to them (an outbox handler). Only accounts whose
    records have been read are rebuilt (``materialised_only``): the others are built by their first read, so a
    city's camera batch never pays for records nobody looks at. Returns how many were rebuilt."""
    ids = sorted({int(i) for i in user_ids if i})
    if not ids:
        return 0
    if materialised_only:
        ids = sorted(set(RecordPart.objects.filter(user_id__in=ids).values_list("user_id", flat=True)))
    for user_id in ids:
        records_build(user_id=user_id)
    return len(ids)


def records_differ(*, user_id: int) -> list[str]:
    """The stored parts of one account that differ from the records as they are now ("licences/en", ...), without
    writing any part: ``records_rebuild --check`` (the build's own-vehicle binding sync still runs, as on every
    read of "my vehicles"). A part past its ``stale_at`` counts only if it differs."""
    user = identity.users_by_ids(ids=[user_id]).get(user_id)
    have = {(p.part, p.language): p.body for p in RecordPart.objects.filter(user_id=user_id)}
    if user is None or not user.is_active:
        return sorted(f"{part}/{language}" for part, language in have)
    made = parts.make_all(user)
    want = {(name, language): m.render(language) for name, m in made.items() for language in parts.LANGUAGES}
    return sorted(f"{part}/{language}" for (part, language), body in have.items()
                  if want.get((part, language)) != body)


def materialised_ids(*, after: int = 0, batch: int = 500) -> list[int]:
    """The next ``batch`` accounts with stored parts, by id, after ``after``."""
    return list(RecordPart.objects.filter(user_id__gt=after).order_by("user_id").values_list("user_id", flat=True)
                .distinct()[:batch])


def records_rebuild_all(*, batch: int = 500) -> int:
    """Rebuild every materialised account's records (the ``records_rebuild`` command): after a deployment that
    changes how a part is made, or to check the read model against the records."""
    done = 0
    last = 0
    while True:
        ids = materialised_ids(after=last, batch=batch)
        if not ids:
            return done
        done += records_refresh(user_ids=ids, materialised_only=False)
        last = ids[-1]
