"""The waiting list: joining and leaving it, and offering freed seats to the oldest waiting entries."""
from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, OperationalError, connection, transaction

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import (
    LIVE_BOOKING,
    Booking,
    Quota,
    Resource,
    Slot,
    WaitlistEntry,
)
from jiaoguan.bookings.services.common import (
    B,
    W,
    _audit_booking,
    _audit_entry,
    _check_key_free,
    _emit_changed,
    _end,
    _insert_booking,
    _live_count,
    _lock_quota,
    _lock_quota_id,
    _notify,
    _person_of,
    _what,
    _when,
)
from jiaoguan.bookings.services.penalties import _active_penalty, _check_not_banned
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, not_found


def waitlist_join(*, slot_id: int, user, subject: str, exclusive_key: str, party: str, actor: Actor,
                  quota: str = "public", subject_label: str = "", meta: dict | None = None) -> WaitlistEntry:
    """Join the waiting list of a full slot (first come, or a ranked slot after allocation). A ranked slot
    with seats left after its allocation offers one at once."""
    now = clock.now()
    with transaction.atomic():
        q = _lock_quota(slot_id=slot_id, quota=quota)
        slot = q.slot
        ranked = slot.resource.policy == Resource.Policy.RANKED
        # a first-come list closes with the booking window; a ranked slot's list (after allocation) runs until
        # the cancellation deadline, since later seats can only come from cancellations
        closes = slot.cancel_until if ranked else slot.closes_at
        if slot.status == Slot.Status.CANCELLED or slot.starts_at <= now or now >= closes:
            raise Conflict("bookings.window_closed", "该场次预约已截止", "Booking for this slot has closed")
        if ranked and slot.status != Slot.Status.ALLOCATED:
            raise Conflict("bookings.ranked_pending", "排序分配完成后才能候补", "The waiting list opens after allocation")
        _check_not_banned(party=party, slot=slot, now=now)
        _check_key_free(exclusive_key)
        if not ranked and _live_count(q) - Booking.objects.filter(
                quota=q, status=B.HELD, hold_expires_at__lte=now).count() < q.capacity:
            raise Conflict("bookings.not_full", "该场次还有名额，请直接预约", "This slot still has seats: book directly")
        try:
            with transaction.atomic():
                e = WaitlistEntry.objects.create(slot=slot, quota=q, user=user, subject=subject,
                                                 subject_label=subject_label[:120], exclusive_key=exclusive_key,
                                                 party=party, meta=meta or {}, created_at=now)
        except IntegrityError:
            raise Conflict("bookings.waitlist_duplicate", "您已在该场次的候补名单中",
                           "You are already on this slot's waiting list") from None
        audit_record(actor=actor, action="booking.waitlist_join", obj=e, new={"slot": slot.pk, "subject": subject},
                     subject_person_id=_person_of(user))
        if ranked:
            _offer_freed(q, actor=actor)
            e.refresh_from_db()
    return e


def waitlist_withdraw(*, entry_id: int, user, actor: Actor) -> WaitlistEntry:
    """Leave a waiting list. An entry with a seat on offer lets that seat go (it passes to the next)."""
    now = clock.now()
    with transaction.atomic():
        found = WaitlistEntry.objects.filter(pk=entry_id, user=user).values_list("quota_id", flat=True).first()
        if found is None:
            raise not_found("候补记录", "waiting-list entry")
        q = _lock_quota_id(found)
        e = WaitlistEntry.objects.select_related("user", "booking").get(pk=entry_id)
        if not rules.WAITLIST.allows(e.status, W.WITHDRAWN):
            raise Conflict("bookings.waitlist_not_waiting", "该候补记录已不在候补中",
                           "This entry is no longer waiting")
        old = e.status
        if old == W.OFFERED and e.booking_id:
            b = Booking.objects.select_related("slot__resource", "user").get(pk=e.booking_id)
            _end(b, to=B.RELEASED, actor=actor, action="booking.release", now=now, expect=B.HELD)
            e.refresh_from_db()  # _end lapsed it
        WaitlistEntry.objects.filter(pk=e.pk).update(status=W.WITHDRAWN)
        e.status = W.WITHDRAWN
        _audit_entry(actor=actor, action="booking.waitlist_withdraw", entry=e, old=old)
        if old == W.OFFERED:
            _offer_freed(q, actor=actor)
    return e


# How long an offer waits for another transaction that is inserting a booking with the same key. The offer runs
# inside the cancellation or expiry that freed the seat, which holds the quota: it must not hold that up for as
# long as another transaction runs (before issue 12 the other one could even be waiting for the audit chain's
# head, held here: a deadlock). Below PostgreSQL's deadlock_timeout (1 s): the offer gives way, the entry waits.
OFFER_LOCK_TIMEOUT = "500ms"


def _offer_insert(**fields) -> Booking:
    if connection.vendor != "postgresql":
        return _insert_booking(**fields)  # SQLite: one writer at a time, nothing to wait for
    with connection.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = '{OFFER_LOCK_TIMEOUT}'")
    try:
        return _insert_booking(**fields)
    except OperationalError:  # lock_timeout: the same key is being booked right now by someone else
        raise Conflict("bookings.key_busy", "该预约正在另一处办理", "This is being booked elsewhere right now") from None
    finally:
        with connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = DEFAULT")


def _offer_freed(q: Quota, *, actor: Actor) -> int:
    """Under the quota lock: give free seats to the oldest waiting entries, held for the offer time. Entries
    whose key is already booked elsewhere, or whose party is banned now, lapse; entries whose key is held on
    another offer wait their turn."""
    slot = q.slot
    now = clock.now()
    if slot.status == Slot.Status.CANCELLED or slot.starts_at <= now:
        return 0
    free = q.capacity - _live_count(q)
    if free <= 0:
        return 0
    offered = 0
    minutes = slot.resource.waitlist_offer_minutes
    for e in WaitlistEntry.objects.filter(quota=q, status=W.WAITING).select_related("user").order_by("created_at", "id"):
        if free <= 0:
            break
        live = Booking.objects.filter(exclusive_key=e.exclusive_key, status__in=LIVE_BOOKING).values_list(
            "status", flat=True).first()
        if live == B.HELD:
            continue
        if live is not None or _active_penalty(party=e.party, kind=slot.resource.kind, slot=slot, now=now):
            WaitlistEntry.objects.filter(pk=e.pk).update(status=W.LAPSED)
            e.status = W.LAPSED
            _audit_entry(actor=actor, action="booking.waitlist_lapse", entry=e, old=W.WAITING,
                         reason="booked elsewhere" if live else "banned")
            continue
        until = min(now + dt.timedelta(minutes=minutes), slot.starts_at)
        try:
            b = _offer_insert(slot=slot, quota=q, user=e.user, subject=e.subject, subject_label=e.subject_label,
                              exclusive_key=e.exclusive_key, party=e.party, status=B.HELD, hold_expires_at=until,
                              meta={**e.meta, "waitlist_entry": e.pk}, created_at=now)
        except Conflict:  # the key was booked elsewhere a moment ago (not under this lock): next entry
            continue
        WaitlistEntry.objects.filter(pk=e.pk).update(status=W.OFFERED, booking=b, offered_at=now)
        e.status, e.booking, e.offered_at = W.OFFERED, b, now
        _audit_booking(actor=actor, action="booking.waitlist_offer", booking=b, old=None)
        _audit_entry(actor=actor, action="booking.waitlist_offer", entry=e, old=W.WAITING)
        _emit_changed(b, "")
        _notify(user=e.user, template="booking.offer", params={**_what(slot), "until": _when(until)})
        offered += 1
        free -= 1
    return offered
