"""Outbox handlers of the identity app (ARCHITECTURE §5): reactions to changes in the registry.

A vehicle that changes owner or leaves service (scrapped, transferred out) takes its bindings with it: the
previous owner agreed to the other users' bindings, and the previous owner's own binding is no longer theirs.
The handlers only parse the event and call ``services.bindings_reconcile_vehicle``, which decides from the
registry as it is now; so a handler run twice, late or out of order changes nothing more (idempotent).

Events (emitted by the registry with ``core.outbox.event_emit`` in the transaction that makes the change):

- ``registry.vehicle_owner_changed`` {"vehicle_id": int, "old_owner_id": int | None, "new_owner_id": int | None}
- ``registry.vehicle_status_changed`` {"vehicle_id": int, "old_status": str, "new_status": str}
"""
from __future__ import annotations

import logging

from jiaoguan.core.outbox import subscribe
from jiaoguan.identity.services import bindings_reconcile_vehicle

log = logging.getLogger(__name__)


def _vehicle_id(payload: dict) -> int | None:
    try:
        value = int(payload.get("vehicle_id"))
    except (TypeError, ValueError, AttributeError):
        return None
    return value if 0 < value < 2**63 else None


@subscribe("registry.vehicle_owner_changed")
def vehicle_owner_changed(payload: dict) -> None:
    """End the bindings the previous owner stood behind; bind the vehicle to the new owner's account."""
    vehicle_id = _vehicle_id(payload)
    if vehicle_id is None:  # a malformed event would fail the same way on every retry: note it and drop it
        log.error("registry.vehicle_owner_changed without a usable vehicle_id: %r", payload)
        return
    bindings_reconcile_vehicle(vehicle_id=vehicle_id, reason="vehicle owner changed")


@subscribe("registry.vehicle_status_changed")
def vehicle_status_changed(payload: dict) -> None:
    """A vehicle scrapped or transferred out ends every binding of it; other status changes change nothing."""
    vehicle_id = _vehicle_id(payload)
    if vehicle_id is None:
        log.error("registry.vehicle_status_changed without a usable vehicle_id: %r", payload)
        return
    new_status = str(payload.get("new_status") or "")
    bindings_reconcile_vehicle(vehicle_id=vehicle_id, reason=f"vehicle status changed to {new_status}".strip())
