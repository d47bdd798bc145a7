"""First come: hold a seat, confirm, release, cancel, mark attendance, and the sweep that ends overdue holds."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import Booking, PenaltyRule, Quota, Resource, Slot, WaitlistEntry
from jiaoguan.bookings.services.common import (
    DUPLICATE,
    B,
    QuotaState,
    W,
    _audit_booking,
    _audit_entry,
    _booking_state,
    _check_open,
    _emit_changed,
    _end,
    _expire_overdue,
    _insert_booking_once,
    _live_count,
    _lock_party,
    _lock_quota_id,
    _mine_locked,
    _notify,
    _quota_recheck,
    _quota_state,
    _what,
    _when,
    keys_lock,
)
from jiaoguan.bookings.services.penalties import _apply_penalty_rules, _check_not_banned
from jiaoguan.bookings.services.waitlist import _offer_freed
from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, InvalidInput, not_found
from jiaoguan.identity.roles import require


def seat_check(*, slot_id: int, exclusive_key: str, party: str, quota: str = "public") -> QuotaState:
    """The refusals of ``seat_book`` that need no lock (ranked resource, window closed or not open, banned, key
    already booked, clearly full), from one plain read, outside any transaction; the read is returned for
    ``seat_book(checked=…)``, which then locks and re-checks without reading it again. An API endpoint asks this
    before it claims its idempotency key (``core.idempotency``: ``precheck``), so the commonest answer of a rush —
    full — writes nothing at all."""
    now = clock.now()
    st = _quota_state(slot_id=slot_id, name=quota, exclusive_key=exclusive_key, party=party, now=now)
    _check_bookable(st, party=party, now=now)
    return st


def seat_book(*, slot_id: int, user, subject: str, exclusive_key: str, party: str, actor: Actor,
              quota: str = "public", subject_label: str = "", confirm: bool = False,
              meta: dict | None = None, checked: QuotaState | None = None) -> Booking:
    """First come: take a seat, held for the resource's ``hold_minutes`` (or confirmed at once when
    ``confirm``).

    Short under a rush (docs/performance.md §5): one plain read answers the refusals that need no lock (ranked
    resource, window closed, banned, key already booked, clearly full); then the quota lock and the key's lock
    (the documented order), the same read again as the authoritative check (a new statement, so it counts every
    booking committed before the lock was granted), stale holds expired only when there are any (their seats go
    to the waiting list first), insert, audit, one outbox event. The citizen's inbox message and SMS are written
    by that event's handler after commit (``bookings.handlers``), outside the quota lock."""
    now = clock.now()
    # no lock and no write yet: a refusal here costs one read and leaves the caller's transaction untouched
    # (``checked``: the caller asked ``seat_check`` already, for this slot and quota)
    if checked is not None and checked.slot.pk == slot_id and checked.quota.name == quota:
        st = checked
    else:
        st = seat_check(slot_id=slot_id, exclusive_key=exclusive_key, party=party, quota=quota)
    with transaction.atomic():
        q = st.quota
        with locks.bounded():  # one lock_timeout set/restore for both locks
            if not locks.lock_id(Quota, q.pk):
                raise Quota.DoesNotExist(q.pk)
            # the key right after the quota (the lock order): the insert further down then never waits for another
            # transaction's uncommitted booking of the same key
            keys_lock(exclusive_keys=[exclusive_key])
        st = _quota_recheck(st, exclusive_key=exclusive_key, party=party, now=now)
        q, slot = st.quota, st.slot
        if st.overdue:
            _check_bookable(st, party=party, now=now, count=False)
            _expire_overdue(q, now=now, actor=Actor.system("bookings"))
            # people already waiting come before a newcomer (if this booking then fails, all of it rolls back
            # and the sweep does the same later)
            _offer_freed(q, actor=Actor.system("bookings"))
            st = QuotaState(quota=q, live=_live_count(q), overdue=False, key_taken=False, penalised=False)
        _check_bookable(st, party=party, now=now)  # under the locks: the authoritative check
        b = _insert_booking_once(
            slot=slot, quota=q, user=user, subject=subject, subject_label=subject_label[:120],
            exclusive_key=exclusive_key, party=party, status=B.CONFIRMED if confirm else B.HELD,
            hold_expires_at=None if confirm else min(now + dt.timedelta(minutes=slot.resource.hold_minutes),
                                                     slot.starts_at),
            meta=meta or {}, created_at=now, confirmed_at=now if confirm else None)
        _audit_booking(actor=actor, action="booking.confirm" if confirm else "booking.hold", booking=b, old=None)
        _emit_changed(b, "")  # confirmed: its handler tells the citizen (inbox, SMS) after commit
    return b


def booking_changed_notify(*, booking_id: int, status: str, previous: str, application_id: int | None = None) -> bool:
    """The citizen's notice of a first-come confirmation (inbox, and SMS to the account's phone), written by the
    ``bookings.booking_changed`` handler after the booking's transaction committed — never inside it, so the
    quota lock is not held while messages are rendered and written. Sent for a seat booked confirmed at once
    (previous "") or a hold confirmed (previous "held"); an allocated seat is told by ``slot_allocation_notify``.
    Returns whether a notice was written. Exactly once: the outbox runs the handler in the transaction that marks
    its event delivered."""
    if status != B.CONFIRMED or previous not in ("", B.HELD) or application_id:
        return False
    b = Booking.objects.select_related("slot__resource", "user").filter(pk=booking_id).first()
    if b is None:
        return False
    _notify(user=b.user, template="booking.confirmed", params={**_what(b.slot), "reference": b.reference})
    return True


def _check_bookable(st: QuotaState, *, party: str, now: dt.datetime, count: bool = True) -> None:
    """The refusals of ``seat_book``, in the order a citizen should hear them, from one ``_quota_state`` read.
    ``count=False``: all but the seat count (before overdue holds are expired)."""
    slot = st.slot
    if slot.resource.policy != Resource.Policy.FIRST_COME:
        raise Conflict("bookings.ranked_only", "该业务按排序分配，请提交预约申请",
                       "Seats here are allocated by rank: submit an application")
    _check_open(slot, now)
    if st.penalised:
        _check_not_banned(party=party, slot=slot, now=now)
    if st.key_taken:
        raise Conflict(*DUPLICATE)
    if count and st.clearly_full():
        raise Conflict("bookings.full", "该场次名额已满，可加入候补", "This slot is full; you may join the waiting list")


def booking_confirm(*, booking_id: int, user, actor: Actor) -> Booking:
    """Held → confirmed, if the hold has not run out. A conditional update: whichever of this and the expiry
    sweep commits first wins, the other changes nothing. Confirming twice returns the booking."""
    now = clock.now()
    with transaction.atomic():
        # the quota first, as every other writer of its bookings (the expiry sweep, cancel, release): without it
        # a confirmation could hold a booking row and wait for the quota while the sweep holds the quota and
        # waits for that row
        b, _q = _mine_locked(booking_id=booking_id, user=user)
        if b.status == B.CONFIRMED:
            return b
        if not rules.BOOKING.allows(b.status, B.CONFIRMED):
            if b.status == B.EXPIRED:
                raise Conflict("bookings.hold_expired", "保留时间已过，名额已释放，请重新预约",
                               "The hold has run out and the seat was released; please book again")
            raise Conflict("bookings.not_held", "该预约不在待确认状态", "This booking is not waiting for confirmation")
        old = _booking_state(b)
        updated = Booking.objects.filter(pk=b.pk, status=B.HELD, hold_expires_at__gt=now).update(
            status=B.CONFIRMED, confirmed_at=now, hold_expires_at=None)
        if not updated:
            b.refresh_from_db(fields=["status"])
            if b.status == B.CONFIRMED:  # a concurrent confirm of the same booking won
                return b
            raise Conflict("bookings.hold_expired", "保留时间已过，名额已释放，请重新预约",
                           "The hold has run out and the seat was released; please book again")
        b.status, b.confirmed_at, b.hold_expires_at = B.CONFIRMED, now, None
        _audit_booking(actor=actor, action="booking.confirm", booking=b, old=old)
        entry = WaitlistEntry.objects.filter(booking=b, status=W.OFFERED).first()
        if entry is not None and WaitlistEntry.objects.filter(pk=entry.pk, status=W.OFFERED).update(
                status=W.ACCEPTED):
            entry.status = W.ACCEPTED
            _audit_entry(actor=actor, action="booking.waitlist_accept", entry=entry, old=W.OFFERED)
        _emit_changed(b, B.HELD)  # its handler tells the citizen after commit
    return b


def booking_release(*, booking_id: int, user, actor: Actor) -> Booking:
    """The citizen lets a held seat go (no penalty: it was never confirmed); it passes to the waiting list."""
    now = clock.now()
    with transaction.atomic():
        b, q = _mine_locked(booking_id=booking_id, user=user)
        block = rules.release_block(status=b.status, hold_expires_at=b.hold_expires_at, now=now)
        if block is not None:
            raise Conflict(block, *rules.BLOCK_TEXTS[block])
        if not _end(b, to=B.RELEASED, actor=actor, action="booking.release", now=now, expect=B.HELD):
            raise Conflict("bookings.not_held", *rules.BLOCK_TEXTS["bookings.not_held"])
        _offer_freed(q, actor=actor)
    return b


def booking_cancel(*, booking_id: int, actor: Actor, user=None, reason: str = "") -> Booking:
    """Cancel a booking. A citizen (``user`` given) only their own confirmed one and only until the slot's
    deadline, and it counts towards the penalty rules; staff (a held or confirmed one) at any time without
    penalty. The seat goes to the waiting list."""
    now = clock.now()
    by_citizen = user is not None
    if not by_citizen:
        require(actor, "booking.attendance")
        if not (reason or "").strip():
            raise InvalidInput("bookings.reason", "请填写取消原因", "Give a reason for cancelling", field="reason")
    with transaction.atomic():
        if by_citizen:
            b, q = _mine_locked(booking_id=booking_id, user=user)
        else:
            found = Booking.objects.filter(pk=booking_id).values_list("quota_id", flat=True).first()
            if found is None:
                raise not_found("预约", "booking")
            q = _lock_quota_id(found)
            b = Booking.objects.select_related("slot__resource", "quota", "user").get(pk=booking_id)
        block = (rules.citizen_cancel_block(status=b.status, cancel_until=b.slot.cancel_until, now=now)
                 if by_citizen else rules.staff_cancel_block(status=b.status))
        if block in ("bookings.not_confirmed", "bookings.not_cancellable"):
            raise Conflict(block, *rules.BLOCK_TEXTS[block])
        if block == "bookings.cancel_closed":
            raise Conflict(block, f"取消截止时间（{_when(b.slot.cancel_until)}）已过",
                           f"The deadline for cancelling ({_when(b.slot.cancel_until)}) has passed")
        if by_citizen:
            _lock_party(b.party)  # before the first audit row (lock order)
            # the time is read after the party lock, so cancellations of one party are timestamped in the order
            # they are counted (a penalty "uses up" the events recorded before it)
            now = clock.now()
        by = Booking.CancelledBy.CITIZEN if by_citizen else Booking.CancelledBy.STAFF
        if not _end(b, to=B.CANCELLED, actor=actor, action="booking.cancel", now=now, by=by, reason=reason):
            raise Conflict("bookings.not_cancellable", *rules.BLOCK_TEXTS["bookings.not_cancellable"])
        _notify(user=b.user, template="booking.cancelled", params={**_what(b.slot), "reference": b.reference})
        if by_citizen:
            _apply_penalty_rules(booking=b, event=PenaltyRule.Event.CANCEL, actor=actor, now=now)
        _offer_freed(q, actor=actor)
    return b


def booking_mark(*, booking_id: int, attended: bool, actor: Actor) -> Booking:
    """Staff mark a confirmed booking attended or no-show, once the slot has started. A no-show counts towards
    the penalty rules (and, for a driving test, as a fail: the exams app hears the event)."""
    require(actor, "booking.attendance")
    now = clock.now()
    with transaction.atomic():
        found = Booking.objects.filter(pk=booking_id).values_list("quota_id", flat=True).first()
        if found is None:
            raise not_found("预约", "booking")
        _lock_quota_id(found)  # a booking row is written only under its quota's lock (lock order)
        b = Booking.objects.select_related("slot__resource", "quota", "user").get(pk=booking_id)
        block = rules.mark_block(status=b.status, starts_at=b.slot.starts_at, now=now)
        if block is not None:  # the rule the console offers the buttons from
            raise Conflict(block, *rules.BLOCK_TEXTS[block])
        if not attended:
            _lock_party(b.party)  # before the first audit row (lock order); the time after it, as in cancel
            now = clock.now()
        to = B.ATTENDED if attended else B.NO_SHOW
        if not _end(b, to=to, actor=actor, action="booking.attended" if attended else "booking.no_show", now=now,
                    expect=B.CONFIRMED):
            raise Conflict("bookings.not_markable", *rules.BLOCK_TEXTS["bookings.not_markable"])
        if not attended:
            _apply_penalty_rules(booking=b, event=PenaltyRule.Event.NO_SHOW, actor=actor, now=now)
    return b


def holds_expire(*, now: dt.datetime | None = None) -> int:
    """The periodic sweep: end every hold whose time is up and pass the seats to the waiting list. Each hold
    ends exactly once, even with two sweeps (or a sweep and a confirmation) at the same time: the candidates
    are read before the lock only to know which quotas to visit; under each quota's lock they are read again
    and ended by a conditional update. It also offers seats that are free while people wait (a repair: an
    offer whose transaction failed elsewhere is not lost)."""
    now = now or clock.now()
    actor = Actor.system("bookings.holds_expire")
    quota_ids = set(Booking.objects.filter(status=B.HELD, hold_expires_at__lte=now)
                    .values_list("quota_id", flat=True).distinct())
    quota_ids |= set(WaitlistEntry.objects.filter(status=W.WAITING, slot__starts_at__gt=now)
                     .exclude(slot__status=Slot.Status.CANCELLED).values_list("quota_id", flat=True).distinct())
    total = 0
    for quota_id in sorted(quota_ids):
        with transaction.atomic():
            q = _lock_quota_id(quota_id)
            total += _expire_overdue(q, now=now, actor=actor)
            _offer_freed(q, actor=actor)
    return total
