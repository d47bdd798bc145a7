"""Writes of the capacity engine. Every seat-moving function locks the contended ``Quota`` row first, then
checks, then writes (ARCHITECTURE §4; pretix's quotas): availability is counted from the bookings *after* the
lock, never from a number read before it. SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL blocks on
``SELECT … FOR UPDATE OF`` the quota row (only that row: locking the joined slot and resource rows too would
serialise every quota of a resource and could deadlock against ``slot_cancel``).

Lock order, everywhere: slot → its quotas (by id) → exclusive keys → the party's advisory lock (penalties).
A domain app that books several seats in one transaction takes all their quotas and keys first
(``quotas_lock``, ``keys_lock``), or two requests can wait on each other. Audit rows take no lock.

Booking life cycle (one transition function each; nothing else assigns ``Booking.status``):

    (first come)  held ──confirm──► confirmed ──cancel──► cancelled
                   │  └─release──► released        ├──mark──► attended
                   └──(hold ends)► expired          └──mark──► no_show
    (ranked)      application pending ──allocate──► allocated (a confirmed booking) | unsuccessful
                                      └─withdraw──► withdrawn

A seat freed by a cancellation, a release, an expired hold or more capacity goes to the waiting list first:
the oldest waiting entry gets a held seat for ``waitlist_offer_minutes``; when that hold runs out or is let
go the seat passes on to the next entry.

Domain apps (exams, inspections, counters, eastern) check their own eligibility and call these functions with a
``subject`` (what the seat is for), an ``exclusive_key`` (one live booking per key) and a ``party`` (who answers
for cancellations and no-shows). They hear about changes through the ``bookings.booking_changed`` and
``bookings.slot_allocated`` outbox events.

The package follows those sections: ``common`` (shared helpers: audit, events, notifications, the locks, the
steps every write path shares), ``staff``, ``penalties``, ``first_come``, ``waitlist`` and ``ranked``. Callers
use ``bookings.services.<name>``: this module re-exports the public API.
"""
from __future__ import annotations

from jiaoguan.bookings.services.common import DUPLICATE, keys_lock, quotas_lock
from jiaoguan.bookings.services.first_come import (
    booking_cancel,
    booking_changed_notify,
    booking_confirm,
    booking_mark,
    booking_release,
    holds_expire,
    seat_book,
    seat_check,
)
from jiaoguan.bookings.services.penalties import penalty_lift, penalty_rules_seed
from jiaoguan.bookings.services.ranked import (
    application_submit,
    application_withdraw,
    applications_allocate,
    slot_allocation_notify,
    slots_close,
)
from jiaoguan.bookings.services.staff import (
    QuotaSpec,
    quota_set_capacity,
    resource_create,
    slot_cancel,
    slot_create,
)
from jiaoguan.bookings.services.waitlist import (
    OFFER_LOCK_TIMEOUT,
    waitlist_join,
    waitlist_withdraw,
)

__all__ = [
    "DUPLICATE",
    "OFFER_LOCK_TIMEOUT",
    "QuotaSpec",
    "application_submit",
    "application_withdraw",
    "applications_allocate",
    "booking_cancel",
    "booking_changed_notify",
    "booking_confirm",
    "booking_mark",
    "booking_release",
    "holds_expire",
    "keys_lock",
    "penalty_lift",
    "penalty_rules_seed",
    "quota_set_capacity",
    "quotas_lock",
    "resource_create",
    "seat_book",
    "seat_check",
    "slot_allocation_notify",
    "slot_cancel",
    "slot_create",
    "slots_close",
    "waitlist_join",
    "waitlist_withdraw",
]
