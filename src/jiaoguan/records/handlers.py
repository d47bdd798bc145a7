"""Outbox handlers of the read model: a committed change to a citizen's records rebuilds the records of every
account that shows it (records.services.records_refresh: only accounts whose records were ever read; the others
are built by their first read).

The event: ``records.changed`` {"users": [...], "persons": [...], "vehicles": [...]}, emitted by
core.outbox.records_changed in the transaction that made the change, by the app that owns the records (which also
marked the affected parts stale in that transaction: records.services.records_mark_stale). A booking's change
arrives instead as the bookings app's own ``bookings.booking_changed`` (emitted at every change of a booking's
status, whoever makes it): the booking rush's transaction writes nothing more for the read model, and the
citizen's summary is rebuilt when that event is delivered.

A handler decides from the records as they are when it runs, so running it twice, late or out of order changes
nothing more (the build is the same computation every time).

It rebuilds unconditionally, even parts a read already rebuilt after the stale mark: a read that began its build
before the writer committed saw the old records, waited on the mark's row locks and then wrote them back, fresh-
looking. Only a build that starts after the commit (this handler) is sure to see the change, so it must not be
skipped as "already fresh"."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from jiaoguan.core.outbox import RECORDS_CHANGED, subscribe
from jiaoguan.identity import selectors as identity
from jiaoguan.records.services import records_refresh

log = logging.getLogger(__name__)


def _ids(value) -> list[int]:
    out = []
    for v in value if isinstance(value, list | tuple) else [value]:
        try:
            i = int(v)
        except (TypeError, ValueError):
            continue
        if 0 < i < 2**63:
            out.append(i)
    return out


def accounts_of(*, user_ids: Iterable[int] = (), person_ids: Iterable[int] = (),
                vehicle_ids: Iterable[int] = ()) -> set[int]:
    """Every account that shows a record of these accounts, persons or vehicles (identity.accounts_showing: the
    same rule the writer's stale mark used)."""
    return {row["pk"] for row in identity.accounts_showing(user_ids=user_ids, person_ids=person_ids,
                                                           vehicle_ids=vehicle_ids)}


@subscribe(RECORDS_CHANGED)
def on_records_changed(payload: dict) -> None:
    records_refresh(user_ids=accounts_of(user_ids=_ids(payload.get("users") or []),
                                         person_ids=_ids(payload.get("persons") or []),
                                         vehicle_ids=_ids(payload.get("vehicles") or [])))


@subscribe("bookings.booking_changed")
def on_booking_changed(payload: dict) -> None:
    records_refresh(user_ids=_ids(payload.get("user_id")))
