"""Outbox events (ARCHITECTURE §5): cross-app reactions that survive a crash.

A service calls ``event_emit(topic=..., payload=...)`` inside its transaction. One row per subscribed handler
is written with the change; after commit each row is handed to the Celery task ``core.outbox_deliver``.
The handler runs inside the same transaction that marks its row delivered, so its database effects happen
exactly once. A failing handler is retried with exponential backoff by the periodic sweep
(``core.outbox_redispatch``) and ends as ``failed``, visible to staff in the admin.

Handlers subscribe at import time (each app imports its ``handlers`` module in ``AppConfig.ready``):

    @subscribe("identity.user_registered")
    def send_welcome(payload: dict) -> None: ...
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.models import OutboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_subscribers: dict[str, list[str]] = defaultdict(list)


def _path(fn: Handler) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def subscribe(topic: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        path = _path(fn)
        if path not in _subscribers[topic]:
            _subscribers[topic].append(path)
        return fn

    return register


def subscribers(topic: str) -> list[str]:
    return list(_subscribers.get(topic, []))


def _resolve(path: str) -> Handler:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return cast(Handler, obj)


def event_emit(*, topic: str, payload: dict[str, Any]) -> list[OutboxEvent]:
    """Write the event for every subscriber in the caller's transaction; dispatch after commit."""
    return events_emit(topic=topic, payloads=[payload])


def events_emit(*, topic: str, payloads: list[dict[str, Any]]) -> list[OutboxEvent]:
    """``event_emit`` for many events of one topic in one insert (a device batch's violations, an allocation
    round's one event per slot): a row per event and subscriber, each delivered on its own after commit."""
    now = clock.now()
    rows = [
        OutboxEvent(topic=topic, handler=h, payload=payload, created_at=now, next_attempt_at=now)
        for payload in payloads
        for h in subscribers(topic)
    ]
    if not rows:
        return []
    created = OutboxEvent.objects.bulk_create(rows, batch_size=1000)
    ids = [r.pk for r in created]  # SQLite ≥ 3.35 and PostgreSQL return primary keys from bulk inserts

    def dispatch() -> None:
        from jiaoguan.core.tasks import outbox_deliver  # cycle: core.tasks imports core.outbox

        for n, event_id in enumerate(ids):
            try:
                outbox_deliver.delay(event_id)
            except Exception:  # broker down: the rows stay pending and the sweep sends them when it is back
                log.exception("could not dispatch outbox events %s; the sweep will", ids[n:])
                return  # one failed publish is enough: the request does not wait for the broker once per row

    transaction.on_commit(dispatch)
    return created


def backoff(attempts: int) -> dt.timedelta:
    base = settings.JIAOGUAN_OUTBOX_BACKOFF_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def event_deliver(event_id: int) -> str:
    """Run one event's handler. Returns the row's status afterwards ("" if it was not deliverable now)."""
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, status=OutboxEvent.Status.PENDING)
            .first()
        )
        if event is None:
            return ""
        now = clock.now()
        if event.next_attempt_at > now:
            return ""
        try:
            with transaction.atomic():
                _resolve(event.handler)(event.payload)
        except Exception as exc:  # the handler failed: record it, retry later, or give up visibly
            log.warning("outbox event %s (%s → %s) failed: %s", event.pk, event.topic, event.handler, exc)
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if event.attempts >= settings.JIAOGUAN_OUTBOX_MAX_ATTEMPTS:
                event.status = OutboxEvent.Status.FAILED
            else:
                event.next_attempt_at = now + backoff(event.attempts)
        else:
            event.attempts += 1
            event.status = OutboxEvent.Status.DELIVERED
            event.delivered_at = now
            event.last_error = ""
        event.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at", "last_error"])
        return event.status


def events_due(*, limit: int = 500) -> list[int]:
    return list(
        OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


RECORDS_CHANGED = "records.changed"
_records_markers: list[Callable[[list[int], list[int], list[int]], None]] = []


def on_records_changed(marker: Callable[[list[int], list[int], list[int]], None]) -> None:
    """Register the read model's marker (jiaoguan.records, at start-up): ``marker(users, persons, vehicles)`` runs
    inside the transaction of every ``records_changed`` and marks the affected accounts' records stale with one
    statement, so a read after the commit never serves them as they were; the outbox event then rebuilds them
    off the request path. Nothing else should register here: it runs in every writer's transaction."""
    if marker not in _records_markers:
        _records_markers.append(marker)


def records_changed(*, user_ids: Iterable[int | None] = (), person_ids: Iterable[int | None] = (),
                    vehicle_ids: Iterable[int | None] = ()) -> None:
    """Tell the citizens' read model (jiaoguan.records) that records it shows changed: an account's own data or
    bindings (``user_ids``), a registry person's data or licence (``person_ids``), a vehicle's data, insurance,
    inspection or violations (``vehicle_ids``, for its owner and every account bound to it); None ids (a violation
    of an unregistered plate) are skipped. The app that owns
    the records calls it in the transaction that changes them: the affected records are marked stale at once
    (read-your-writes) and rebuilt by the outbox event after the commit."""
    payload = {name: sorted({int(i) for i in ids if i}) for name, ids in
               (("users", user_ids), ("persons", person_ids), ("vehicles", vehicle_ids))}
    if not any(payload.values()):
        return
    for marker in _records_markers:
        marker(payload["users"], payload["persons"], payload["vehicles"])
    event_emit(topic=RECORDS_CHANGED, payload=payload)
