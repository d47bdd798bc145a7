"""The shipment life cycle as data: which status may follow which, and how far along each one is.

    created ──► accepted ──► in_transit ──► out_for_delivery ──► delivered
       │  ▲        (carrier events may skip steps)        └────► returned (delivery failed)
       ▼  │
     failed   (booking never accepted after every retry; staff may retry: failed → created)

A carrier's event only ever moves a shipment forward: an event for an earlier step arriving late (out of order)
is recorded on the timeline but leaves the status alone. delivered and returned are final.
"""
from __future__ import annotations

from jiaoguan.core.states import StateMachine

CREATED = "created"
ACCEPTED = "accepted"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
DELIVERED = "delivered"
RETURNED = "returned"
FAILED = "failed"

# what a carrier may report (in a callback or a query)
CARRIER_STATUSES = (ACCEPTED, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, RETURNED)
FINAL = frozenset({DELIVERED, RETURNED})

RANK = {CREATED: 0, FAILED: 0, ACCEPTED: 1, IN_TRANSIT: 2, OUT_FOR_DELIVERY: 3, DELIVERED: 4, RETURNED: 4}

MACHINE = StateMachine("postal.shipment", {
    CREATED: {FAILED, *CARRIER_STATUSES},
    FAILED: {CREATED, *CARRIER_STATUSES},  # a staff retry, or the carrier had it after all
    ACCEPTED: {IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, RETURNED},
    IN_TRANSIT: {OUT_FOR_DELIVERY, DELIVERED, RETURNED},
    OUT_FOR_DELIVERY: {DELIVERED, RETURNED},
    DELIVERED: set(),
    RETURNED: set(),
}, code="postal.shipment_status", what=("邮件", "The shipment"))


def carrier_event_moves(old: str, new: str) -> bool:
    """Does a carrier's report of ``new`` move a shipment now in ``old``? Only forwards, never out of a final state."""
    return new in CARRIER_STATUSES and MACHINE.allows(old, new) and RANK[new] > RANK[old]
