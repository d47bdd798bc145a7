"""Shared helpers of the capacity engine's services (first the helpers, then the sections that use them): the
status aliases, audit rows and events, notifications, the locks in their documented order, and the steps every
write path shares (window and key checks, the booking insert, ending a booking, expiring overdue holds)."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import (
    LIVE_BOOKING,
    Application,
    Booking,
    Penalty,
    Quota,
    Resource,
    Slot,
    WaitlistEntry,
)
from jiaoguan.core import locks, rows
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, not_found
from jiaoguan.core.ids import parse_id
from jiaoguan.core.outbox import event_emit
from jiaoguan.notifications.services import NotificationError, message_send

log = logging.getLogger("jiaoguan.bookings.services")


B = Booking.Status
A = Application.Status
W = WaitlistEntry.Status

DUPLICATE = ("bookings.duplicate", "已有一个有效预约，不能重复预约",
             "There is already a live booking for this; it cannot be booked twice")


def _when(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _booking_state(b: Booking) -> dict:
    return {"status": b.status, "slot": b.slot_id, "quota": b.quota_id, "subject": b.subject,
            "hold_expires_at": b.hold_expires_at, "cancelled_by": b.cancelled_by}


def _person_of(user) -> int | None:
    return getattr(user, "person_id", None)


def _audit_booking(*, actor: Actor, action: str, booking: Booking, old: dict | None, reason: str = "") -> None:
    audit_record(actor=actor, action=action, obj=booking, old=old, new=_booking_state(booking), reason=reason,
                 subject_person_id=_person_of(booking.user))


def _audit_entry(*, actor: Actor, action: str, entry: WaitlistEntry, old: str | None, reason: str = "") -> None:
    audit_record(actor=actor, action=action, obj=entry, old={"status": old} if old else None,
                 new={"status": entry.status, "slot": entry.slot_id, "booking": entry.booking_id},
                 reason=reason, subject_person_id=_person_of(entry.user))


def _emit_changed(booking: Booking, previous: str, by: str = "") -> None:
    slot = booking.slot
    event_emit(topic="bookings.booking_changed", payload={
        "booking_id": booking.pk, "reference": booking.reference, "kind": slot.resource.kind,
        "resource": slot.resource.code, "slot_id": slot.pk, "starts_at": slot.starts_at.isoformat(),
        "subject": booking.subject, "party": booking.party, "user_id": booking.user_id,
        "status": booking.status, "previous": previous, "by": by,
        "application_id": booking.application_id,
    })


def _notify(*, user, template: str, params: dict, sms: bool = True) -> None:
    """A message to the citizen: inbox always, SMS for outcomes that matter. A missing phone never blocks a
    booking (the inbox still has it)."""
    channels = ("sms", "inbox") if sms and getattr(user, "phone", None) else ("inbox",)
    try:
        message_send(template=template, params=params, user=user, channels=channels)
    except NotificationError:
        log.exception("booking notification %s for user %s could not be written", template, user.pk)


def _what(slot: Slot) -> dict:
    return {"what_zh": slot.resource.name_zh, "what_en": slot.resource.name_en, "when": _when(slot.starts_at)}


def _lock_quota(*, slot_id: int, quota: str) -> Quota:
    """Lock one quota row (only that row) and return it with its slot and resource."""
    rows = locks.lock_rows(Quota.objects.filter(slot_id=slot_id, name=quota), related=("slot__resource",))
    if not rows:
        raise not_found("预约场次", "booking slot")
    return rows[0]


def _lock_quota_id(quota_id: int) -> Quota:
    row = locks.lock_row(Quota, quota_id, related=("slot__resource",))
    if row is None:
        raise Quota.DoesNotExist(quota_id)
    return row


def _lock_slot(slot_id: int) -> Slot | None:
    """Lock a slot and then all its quotas (by id): the slot comes first in the lock order."""
    slot = locks.lock_row(Slot, slot_id, related=("resource",))
    if slot is not None:
        locks.lock_rows(Quota.objects.filter(slot=slot))
    return slot


def _lock_party(party: str) -> None:
    """Serialise the penalty count of one party (two cancellations at once on different slots must neither
    both miss the threshold nor both create the ban): an advisory lock on the party, after the quota."""
    locks.lock_keys([f"bookings.party:{party}"])


def quotas_lock(*, slot_ids: Iterable[int]) -> list[int]:
    """Lock every quota of these slots, in ascending id order, inside the caller's transaction; returns their ids.

    For a domain service that books several seats in one transaction (批量预约): take all quota locks first, in
    one global order, then call ``seat_book`` item by item (its own lock of the same row is then a no-op). Locking
    each quota only when its item comes could deadlock with another batch that locks the same quotas in another
    order."""
    ids = sorted({i for i in (parse_id(s) for s in slot_ids) if i is not None})  # no overflow on bad ids
    return [q.pk for q in locks.lock_rows(Quota.objects.filter(slot_id__in=ids))]


def keys_lock(*, exclusive_keys: Iterable[str]) -> None:
    """Serialise the insertion of these exclusive keys, in sorted order, inside the caller's transaction.

    For a domain service that books several seats in one transaction: call it right after ``quotas_lock`` and
    before the first item. Without it, two such transactions that share keys in crossed order wait on each
    other's uncommitted rows in the unique index: a deadlock (PostgreSQL aborts one). With it the second waits
    here, before writing anything, and then finds the key taken (a clean 409). ``seat_book`` and ``application_submit`` take their key's lock the same way."""
    locks.lock_keys(f"bookings.key:{key}" for key in exclusive_keys)


def _live_count(quota: Quota) -> int:
    return Booking.objects.filter(quota=quota, status__in=LIVE_BOOKING).count()


def _check_open(slot: Slot, now: dt.datetime) -> None:
    if not slot.resource.active or slot.status == Slot.Status.CANCELLED:
        raise Conflict("bookings.slot_unavailable", "该场次已停止预约", "This slot is no longer bookable")
    if slot.starts_at <= now:
        raise InvalidInput("bookings.slot_past", "该场次已开始或已过去，不能预约", "This slot has already started",
                           field="slot")
    if now < slot.opens_at:
        raise Conflict("bookings.window_not_open", f"预约将于{_when(slot.opens_at)}开放",
                       f"Booking opens at {_when(slot.opens_at)}")
    if now >= slot.closes_at or slot.status != Slot.Status.OPEN:
        raise Conflict("bookings.window_closed", "该场次预约已截止", "Booking for this slot has closed")


@dataclass(frozen=True)
class QuotaState:
    """One read of everything a first-come booking decides on (``_quota_state``): the quota with its slot and
    resource, its live bookings, whether holds of it have run out unswept, whether the key is taken (a live
    booking or a pending application) and whether the party has a penalty that may apply (the rule itself is
    ``penalties._check_not_banned``, asked only then)."""

    quota: Quota
    live: int
    overdue: bool
    key_taken: bool
    penalised: bool

    @property
    def slot(self) -> Slot:
        return self.quota.slot

    def clearly_full(self) -> bool:
        """No seat, and no hold that has run out (whose seat the sweep would free): full without a lock."""
        return self.live >= self.quota.capacity and not self.overdue


@cache
def _state_sql(by: str) -> str:
    """The statement of ``_quota_state`` and ``_quota_recheck``: the quota, its slot and its resource (every
    column, as ``core.rows`` builds the instances), the live count, the overdue holds, the key and the party's
    penalties; ``by`` "id" (the quota's id) or "slot" (slot and quota name). Written once from the models, since it
    runs on every booking attempt and the ORM's compilation of the join with five subqueries was most of the
    attempt's Python time (docs/performance.md §8.2)."""
    qn = connection.ops.quote_name
    q, s, r = (qn(m._meta.db_table) for m in (Quota, Slot, Resource))
    b, a, p = (qn(m._meta.db_table) for m in (Booking, Application, Penalty))
    live = ", ".join(f"'{x}'" for x in LIVE_BOOKING)
    where = "q.id = %s" if by == "id" else "q.slot_id = %s AND q.name = %s"
    return (
        f"SELECT {rows.columns(Quota, 'q')}, {rows.columns(Slot, 's')}, {rows.columns(Resource, 'r')}, "
        f"(SELECT COUNT(*) FROM {b} x WHERE x.quota_id = q.id AND x.status IN ({live})), "
        f"EXISTS(SELECT 1 FROM {b} x WHERE x.quota_id = q.id AND x.status = '{B.HELD}' "
        f"AND x.hold_expires_at <= %s), "
        f"EXISTS(SELECT 1 FROM {b} x WHERE x.exclusive_key = %s AND x.status IN ({live})), "
        f"EXISTS(SELECT 1 FROM {a} x WHERE x.exclusive_key = %s AND x.status = '{A.PENDING}'), "
        f"EXISTS(SELECT 1 FROM {p} x WHERE x.party = %s AND x.kind = r.kind AND x.lifted_at IS NULL "
        f"AND x.starts_at <= %s) "
        f"FROM {q} q JOIN {s} s ON s.id = q.slot_id JOIN {r} r ON r.id = s.resource_id WHERE {where}")


def _state_row(*, by: str, key: list[Any], exclusive_key: str, party: str, now: dt.datetime) -> tuple | None:
    at = rows.param(Booking, "hold_expires_at", now)
    return rows.fetchone(_state_sql(by), [at, exclusive_key, exclusive_key, party, at, *key])


def _state(values: tuple) -> QuotaState:
    wq, ws, wr = rows.width(Quota), rows.width(Slot), rows.width(Resource)
    quota = rows.instance(Quota, values)
    slot = rows.instance(Slot, values, start=wq)
    slot.resource = rows.instance(Resource, values, start=wq + ws)
    quota.slot = slot
    live, overdue, key_booked, key_applied, penalised = values[wq + ws + wr:]
    return QuotaState(quota=quota, live=int(live), overdue=bool(overdue), key_taken=bool(key_booked or key_applied),
                      penalised=bool(penalised))


def _quota_state(*, quota_id: int | None = None, slot_id: int | None = None, name: str = "public",
                 exclusive_key: str, party: str, now: dt.datetime) -> QuotaState:
    """One statement: the quota (by id, or by slot and name) with its slot and resource, the live count, the
    overdue holds, the key and the party's penalties. A plain read: before the lock it answers the refusals that
    need none; after the lock (a new statement, so a new snapshot in READ COMMITTED that sees every booking
    committed before the lock was granted) it is the authoritative count."""
    if quota_id is not None:
        values = _state_row(by="id", key=[quota_id], exclusive_key=exclusive_key, party=party, now=now)
    else:
        values = _state_row(by="slot", key=[slot_id or 0, name], exclusive_key=exclusive_key, party=party, now=now)
    if values is None:
        raise not_found("预约场次", "booking slot")
    return _state(values)


def _quota_recheck(st: QuotaState, *, exclusive_key: str, party: str, now: dt.datetime) -> QuotaState:
    """``_quota_state`` again under the quota's lock, for what can have changed since the plain read (the slot's
    status, the resource switched off, the capacity, the bookings, the key, a new penalty): the same prepared
    statement, by the quota's id. A new statement, so a new snapshot (READ COMMITTED): it sees every booking
    committed before the lock was granted."""
    values = _state_row(by="id", key=[st.quota.pk], exclusive_key=exclusive_key, party=party, now=now)
    if values is None:
        raise not_found("预约场次", "booking slot")
    return _state(values)


def _check_key_free(exclusive_key: str) -> None:
    if Booking.objects.filter(exclusive_key=exclusive_key, status__in=LIVE_BOOKING).exists() \
            or Application.objects.filter(exclusive_key=exclusive_key, status=A.PENDING).exists():
        raise Conflict(*DUPLICATE)


def _insert_booking_once(**fields) -> Booking:
    """Insert without a savepoint of its own (``seat_book``'s one statement): the key was checked under its lock,
    so the partial unique index fails only for a race the lock does not cover (a waiting-list offer inserts
    without the key lock) or a reference drawn twice (about 1 in 10^18). Either way the caller's transaction (or
    savepoint) is rolled back by the Conflict, as for every refusal."""
    try:
        return Booking.objects.create(reference=rules.reference_new(), **fields)
    except IntegrityError as exc:
        if "reference" in str(exc).lower() and "exclusive" not in str(exc).lower():
            raise Conflict("core.busy", "系统繁忙，请稍后再试", "Please try again in a moment") from None
        raise Conflict(*DUPLICATE) from None


def _insert_booking(**fields) -> Booking:
    """Insert with a fresh reference; the partial unique index turns a racing duplicate into a Conflict."""
    for _ in range(3):
        try:
            with transaction.atomic():
                return Booking.objects.create(reference=rules.reference_new(), **fields)
        except IntegrityError as exc:
            if "reference" in str(exc).lower() and "exclusive" not in str(exc).lower():
                continue
            raise Conflict(*DUPLICATE) from None
    raise RuntimeError("could not draw a unique booking reference")


def _end(b: Booking, *, to: str, actor: Actor, action: str, now: dt.datetime, expect: str | None = None,
         by: str = "", reason: str = "") -> bool:
    """Move a booking to an end state with a conditional update (exactly once), audit and emit. A held seat
    that was a waiting-list offer: the offer lapses (the caller passes the seat on)."""
    expect = expect or b.status
    if not rules.BOOKING.allows(expect, to):  # the life cycle (rules.BOOKING): nothing else moves a booking
        return False
    fields = {"status": to, "ended_at": now, "hold_expires_at": None}
    if by:
        fields["cancelled_by"] = by
    if not Booking.objects.filter(pk=b.pk, status=expect).update(**fields):
        return False
    old = {**_booking_state(b), "status": expect}
    b.status, b.ended_at, b.hold_expires_at = to, now, None
    if by:
        b.cancelled_by = by
    _audit_booking(actor=actor, action=action, booking=b, old=old, reason=reason)
    if expect == B.HELD:
        entry = WaitlistEntry.objects.filter(booking=b, status=W.OFFERED).select_related("user").first()
        if entry is not None and WaitlistEntry.objects.filter(pk=entry.pk, status=W.OFFERED).update(
                status=W.LAPSED):
            entry.status = W.LAPSED
            _audit_entry(actor=actor, action="booking.waitlist_lapse", entry=entry, old=W.OFFERED)
    _emit_changed(b, expect, by)
    return True


def _expire_overdue(quota: Quota, *, now: dt.datetime, actor: Actor) -> int:
    """Under the quota lock: end holds whose time is up (each exactly once: a conditional update)."""
    n = 0
    for b in (Booking.objects.filter(quota=quota, status=B.HELD, hold_expires_at__lte=now)
              .select_related("user", "slot__resource")):
        if _end(b, to=B.EXPIRED, actor=actor, action="booking.expire", now=now, expect=B.HELD):
            n += 1
    return n


def _mine(*, booking_id: int, user) -> Booking:
    b = (Booking.objects.select_related("slot__resource", "quota", "user")
         .filter(pk=booking_id, user=user).first())
    if b is None:
        raise not_found("预约", "booking")
    return b


def _mine_locked(*, booking_id: int, user) -> tuple[Booking, Quota]:
    """The user's booking (404 if not theirs), its quota locked, the booking read again after the lock."""
    b = _mine(booking_id=booking_id, user=user)
    q = _lock_quota_id(b.quota_id)
    b.refresh_from_db()
    return b, q
