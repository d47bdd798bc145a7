"""Writes of the capacity engine. Every seat-moving function locks the contended ``Quota`` row first, then
checks, then writes (ARCHITECTURE §4; pretix's quotas): availability is counted from the bookings *after* the
lock, never from a number read before it. SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL blocks on
``SELECT … FOR UPDATE OF`` the quota row (only that row: locking the joined slot and resource rows too would
serialise every quota of a resource and could deadlock against ``slot_cancel``).

Lock order, everywhere: slot → its quotas (by id) → the party's advisory lock (penalties) → the audit head
(``core.audit`` holds it until commit). A domain app that calls these functions inside its own transaction
must call them *before* it writes its own audit rows, or two requests can wait on each other.

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
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import (
    LIVE_BOOKING,
    AllocationRun,
    Application,
    Booking,
    Penalty,
    PenaltyRule,
    Quota,
    Resource,
    Slot,
    WaitlistEntry,
)
from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, forbidden, not_found
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.outbox import event_emit

log = logging.getLogger(__name__)

B = Booking.Status
A = Application.Status
W = WaitlistEntry.Status

DUPLICATE = ("bookings.duplicate", "已有一个有效预约，不能重复预约",
             "There is already a live booking for this; it cannot be booked twice")


# --- Permissions and helpers ---------------------------------------------------------------------------------------


def _require(actor: Actor, permission: str) -> None:
    from jiaoguan.identity.roles import PERMISSIONS

    if actor.role != "system" and actor.role not in PERMISSIONS.get(permission, frozenset()):
        raise forbidden()


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
    from jiaoguan.notifications.services import NotificationError, message_send

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
    a second quota *after* the first booking's audit row would wait on someone who holds that quota and waits for
    the audit head: a deadlock (``core.locks`` refuses it)."""
    ids = sorted({i for i in (rules.parse_id(s) for s in slot_ids) if i is not None})  # no overflow on bad ids
    return [q.pk for q in locks.lock_rows(Quota.objects.filter(slot_id__in=ids))]


def keys_lock(*, exclusive_keys: Iterable[str]) -> None:
    """Serialise the insertion of these exclusive keys, in sorted order, inside the caller's transaction.

    For a domain service that books several seats in one transaction: call it right after ``quotas_lock`` and
    before anything is audited. Without it, two such transactions that share a key wait on each other's
    uncommitted row in the unique index while one of them already holds the audit head: a deadlock (PostgreSQL
    aborts one with a 500). With it the second waits here, before writing anything, and then finds the key
    taken (a clean 409). ``seat_book`` and ``application_submit`` take their key's lock the same way."""
    locks.lock_keys(f"bookings.key:{key}" for key in exclusive_keys)


def _live_count(quota: Quota) -> int:
    return Booking.objects.filter(quota=quota, status__in=LIVE_BOOKING).count()


# --- Staff: resources, slots, quotas --------------------------------------------------------------------------------


def resource_create(*, kind: str, code: str, name_zh: str, name_en: str, actor: Actor,
                    policy: str = Resource.Policy.FIRST_COME, hold_minutes: int = 10,
                    waitlist_offer_minutes: int = 30) -> Resource:
    _require(actor, "booking.manage")
    if kind not in Resource.Kind.values:
        raise InvalidInput("bookings.kind", "业务类型不正确", "Unknown resource kind", field="kind")
    if policy not in Resource.Policy.values:
        raise InvalidInput("bookings.policy", "分配方式不正确", "Unknown allocation policy", field="policy")
    code = (code or "").strip()
    if not code or len(code) > 60:
        raise InvalidInput("bookings.code", "编码须为1–60个字符", "The code must be 1–60 characters", field="code")
    if not (name_zh or "").strip() or not (name_en or "").strip():
        raise InvalidInput("bookings.name", "请填写中文和英文名称", "Give a Chinese and an English name",
                           field="name_zh")
    if not (1 <= hold_minutes <= 24 * 60) or not (1 <= waitlist_offer_minutes <= 7 * 24 * 60):
        raise InvalidInput("bookings.minutes", "保留时长不正确", "The hold time is out of range", field="hold_minutes")
    taken = Conflict("bookings.code_taken", f"编码“{code}”已存在", f"The code “{code}” is already used", field="code")
    with transaction.atomic():
        if Resource.objects.filter(code=code).exists():
            raise taken
        try:
            with transaction.atomic():
                r = Resource.objects.create(kind=kind, code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                                            policy=policy, hold_minutes=hold_minutes,
                                            waitlist_offer_minutes=waitlist_offer_minutes, created_at=clock.now())
        except IntegrityError:  # the same code created at the same moment
            raise taken from None
        audit_record(actor=actor, action="booking.resource_create", obj=r,
                     new={"kind": kind, "code": code, "policy": policy, "hold_minutes": hold_minutes})
    return r


@dataclass(frozen=True)
class QuotaSpec:
    name: str
    capacity: int
    label_zh: str = "公众"
    label_en: str = "Public"


def slot_create(*, resource: Resource, starts_at: dt.datetime, ends_at: dt.datetime, quotas: list[QuotaSpec],
                actor: Actor, opens_at: dt.datetime | None = None, closes_at: dt.datetime | None = None,
                cancel_until: dt.datetime | None = None, period_key: str = "") -> Slot:
    """A slot with its quotas. Defaults: the window opens now and closes at the start; cancellation until the
    start. A ranked resource must say when its window closes (before the start)."""
    _require(actor, "booking.manage")
    now = clock.now()
    errors: dict[str, tuple[str, str]] = {}
    if starts_at <= now:
        errors["starts_at"] = ("开始时间须晚于现在", "The start must be in the future")
    if ends_at <= starts_at:
        errors["ends_at"] = ("结束时间须晚于开始时间", "The end must be after the start")
    opens_at = opens_at or now
    if closes_at is None:
        if resource.policy == Resource.Policy.RANKED:
            errors["closes_at"] = ("排序分配须设置预约截止时间", "A ranked slot needs a closing time")
        closes_at = starts_at
    cancel_until = cancel_until or starts_at
    if closes_at > starts_at:
        errors["closes_at"] = ("预约截止时间不能晚于开始时间", "Booking must close no later than the start")
    if opens_at >= closes_at:
        errors["opens_at"] = ("开放时间须早于截止时间", "The window must open before it closes")
    if cancel_until > starts_at:
        errors["cancel_until"] = ("取消截止时间不能晚于开始时间", "Cancelling must end no later than the start")
    if len(period_key or "") > 40:
        errors["period_key"] = ("时段标识最多40个字符", "The period key is at most 40 characters")
    if not quotas:
        errors["quotas"] = ("至少需要一个名额配额", "At least one quota is needed")
    names = [q.name for q in quotas]
    if len(set(names)) != len(names):
        errors["quotas"] = ("配额名称重复", "Quota names must differ")
    if any(not q.name or len(q.name) > 20 for q in quotas):
        errors["quotas"] = ("配额名称须为1–20个字符", "A quota name must be 1–20 characters")
    if any(q.capacity < 0 or q.capacity > 1_000_000 for q in quotas):
        errors["quotas"] = ("名额须为0–1000000", "A capacity must be 0–1,000,000")
    if errors:
        first = next(iter(errors.values()))
        raise InvalidInput("bookings.slot_invalid", first[0], first[1], fields=errors)
    with transaction.atomic():
        slot = Slot.objects.create(resource=resource, starts_at=starts_at, ends_at=ends_at, opens_at=opens_at,
                                   closes_at=closes_at, cancel_until=cancel_until, period_key=period_key or "",
                                   created_at=now)
        Quota.objects.bulk_create([Quota(slot=slot, name=q.name, label_zh=q.label_zh, label_en=q.label_en,
                                         capacity=q.capacity) for q in quotas])
        audit_record(actor=actor, action="booking.slot_create", obj=slot, new={
            "resource": resource.code, "starts_at": starts_at, "ends_at": ends_at, "closes_at": closes_at,
            "quotas": {q.name: q.capacity for q in quotas}, "period_key": period_key})
    return slot


def quota_set_capacity(*, slot_id: int, quota: str, capacity: int, actor: Actor) -> Quota:
    """Change a quota's seats; never below the seats already taken. New seats go to the waiting list first."""
    _require(actor, "booking.manage")
    if capacity < 0 or capacity > 1_000_000:
        raise InvalidInput("bookings.capacity", "名额须为0–1000000", "A capacity must be 0–1,000,000",
                           field="capacity")
    with transaction.atomic():
        q = _lock_quota(slot_id=slot_id, quota=quota)
        _expire_overdue(q, now=clock.now(), actor=Actor.system("bookings"))
        taken = _live_count(q)
        if capacity < taken:
            raise Conflict("bookings.capacity_below_taken", f"已有{taken}个名额被预约，不能减到{capacity}",
                           f"{taken} seats are already booked; cannot reduce to {capacity}", field="capacity")
        old = q.capacity
        q.capacity = capacity
        q.save(update_fields=["capacity"])
        audit_record(actor=actor, action="booking.quota_capacity", obj=q, old={"capacity": old},
                     new={"capacity": capacity})
        _offer_freed(q, actor=actor)
    return q


def slot_cancel(*, slot_id: int, actor: Actor, reason: str) -> Slot:
    """Staff call a slot off (a venue closes): every live booking is cancelled by staff (no penalty), pending
    applications and waiting entries are withdrawn, and everyone is told. Idempotent."""
    _require(actor, "booking.manage")
    if not (reason or "").strip():
        raise InvalidInput("bookings.reason", "请填写原因", "Give a reason", field="reason")
    with transaction.atomic():
        slot = _lock_slot(slot_id)  # and its quotas
        if slot is None:
            raise not_found("预约场次", "booking slot")
        if slot.status == Slot.Status.CANCELLED:
            return slot
        now = clock.now()
        old = slot.status
        slot.status = Slot.Status.CANCELLED
        slot.save(update_fields=["status"])
        audit_record(actor=actor, action="booking.slot_cancel", obj=slot, old={"status": old},
                     new={"status": slot.status}, reason=reason)
        for b in Booking.objects.filter(slot=slot, status__in=(B.HELD, B.CONFIRMED)).select_related(
                "user", "slot__resource"):
            if _end(b, to=B.CANCELLED, actor=actor, action="booking.cancel", now=now,
                    by=Booking.CancelledBy.STAFF, reason=reason):
                _notify(user=b.user, template="booking.cancelled", params={**_what(slot), "reference": b.reference})
        # applications and waiting entries: one audit row each for the whole slot (a ranked slot can have
        # tens of thousands), naming every record that changed
        pending = list(Application.objects.filter(slot=slot, status=A.PENDING).select_related("user"))
        if pending:
            Application.objects.filter(pk__in=[a.pk for a in pending], status=A.PENDING).update(
                status=A.WITHDRAWN, decided_at=now)
            audit_record(actor=actor, action="booking.applications_withdraw", obj=slot, reason=reason,
                         old={"status": A.PENDING},
                         new={"status": A.WITHDRAWN, "applications": [a.pk for a in pending]})
            for a in pending:
                _notify(user=a.user, template="booking.cancelled",
                        params={**_what(slot), "reference": f"#{a.pk}"}, sms=False)
        waiting = list(WaitlistEntry.objects.filter(slot=slot, status__in=(W.WAITING, W.OFFERED))
                       .values_list("pk", flat=True))
        if waiting:
            WaitlistEntry.objects.filter(pk__in=waiting).update(status=W.WITHDRAWN)
            audit_record(actor=actor, action="booking.waitlist_withdraw", obj=slot, reason=reason,
                         new={"status": W.WITHDRAWN, "entries": waiting})
    return slot


# --- Penalties -----------------------------------------------------------------------------------------------------


def penalty_rules_seed() -> int:
    """DOMAIN §6's default rules (eastern areas), as migration 0002 seeds them; for tests that flush the
    database. Returns how many were created."""
    from jiaoguan.bookings.defaults import DEFAULT_PENALTY_RULES

    made = 0
    for rule in DEFAULT_PENALTY_RULES:
        made += PenaltyRule.objects.get_or_create(**rule)[1]
    return made


def _active_penalty(*, party: str, kind: str, slot: Slot, now: dt.datetime) -> Penalty | None:
    for p in Penalty.objects.filter(party=party, kind=kind, lifted_at__isnull=True, starts_at__lte=now):
        if rules.penalty_applies(starts_at=p.starts_at, ends_at=p.ends_at, period_key=p.period_key, lifted=False,
                                 now=now, slot_period_key=slot.period_key):
            return p
    return None


def _check_not_banned(*, party: str, slot: Slot, now: dt.datetime) -> None:
    p = _active_penalty(party=party, kind=slot.resource.kind, slot=slot, now=now)
    if p is not None:
        until_zh = _when(p.ends_at) if p.ends_at else "本时段结束"
        until_en = _when(p.ends_at) if p.ends_at else "the end of this period"
        raise Forbidden("bookings.banned", f"因{p.reason_zh}，{until_zh}前不能预约",
                        f"Because of {p.reason_en}, you cannot book until {until_en}")


def _penalty_event(status: str, ended_at: dt.datetime, starts_at: dt.datetime, period_key: str) -> rules.PenaltyEvent:
    # a cancellation happens when it is made; a no-show when the slot starts (whenever staff mark it)
    return rules.PenaltyEvent(at=starts_at if status == B.NO_SHOW else ended_at, period_key=period_key,
                              recorded_at=ended_at)


def _apply_penalty_rules(*, booking: Booking, event: str, actor: Actor, now: dt.datetime) -> list[Penalty]:
    """After a citizen's cancellation or a no-show (the party's advisory lock is held): every active rule of
    the kind for that event whose threshold the party's counted events reach imposes its ban once."""
    slot = booking.slot
    trigger = _penalty_event(booking.status, booking.ended_at or now, slot.starts_at, slot.period_key)
    made = []
    status = B.CANCELLED if event == PenaltyRule.Event.CANCEL else B.NO_SHOW
    qs = Booking.objects.filter(party=booking.party, slot__resource__kind=slot.resource.kind, status=status)
    if status == B.CANCELLED:
        qs = qs.filter(cancelled_by=Booking.CancelledBy.CITIZEN)
    events = [_penalty_event(*row) for row in qs.values_list("status", "ended_at", "slot__starts_at",
                                                               "slot__period_key")]
    for rule in PenaltyRule.objects.filter(kind=slot.resource.kind, event=event, active=True).order_by("pk"):
        since = (Penalty.objects.filter(party=booking.party, rule=rule).order_by("-created_at", "-pk")
                 .values_list("created_at", flat=True).first())
        count = rules.events_counted(window=rule.window, window_days=rule.window_days, events=events,
                                     trigger=trigger, since=since)
        if not rules.threshold_reached(count=count, threshold=rule.threshold):
            continue
        decision = rules.penalty_for(ban=rule.ban, ban_days=rule.ban_days, now=now, period_key=slot.period_key,
                                     event_at=trigger.at)
        if decision is None or Penalty.objects.filter(
                party=booking.party, rule=rule, lifted_at__isnull=True, period_key=decision.period_key,
                ends_at=decision.ends_at).exists():
            continue  # nothing new to impose: the same ban is already in force
        what_zh, what_en = zh_en(PenaltyRule.Event(event).label)
        p = Penalty.objects.create(
            party=booking.party, kind=rule.kind, rule=rule, period_key=decision.period_key,
            reason_zh=f"{count}次{what_zh}", reason_en=f"{count} × {what_en.lower()}", starts_at=now,
            ends_at=decision.ends_at, created_at=now)
        audit_record(actor=actor, action="booking.penalty", obj=p, new={
            "party": p.party, "kind": p.kind, "rule": rule.pk, "period_key": p.period_key, "ends_at": p.ends_at,
            "count": count, "booking": booking.pk}, subject_person_id=_person_of(booking.user))
        until = _when(p.ends_at) if p.ends_at else (slot.period_key or "")
        _notify(user=booking.user, template="booking.penalty",
                params={"reason_zh": p.reason_zh, "reason_en": p.reason_en, "until": until})
        made.append(p)
    return made


def penalty_lift(*, penalty_id: int, actor: Actor, reason: str) -> Penalty:
    """Staff lift a ban (e.g. a no-show that was the office's fault). The events before it no longer count."""
    _require(actor, "booking.manage")
    if not (reason or "").strip():
        raise InvalidInput("bookings.reason", "请填写原因", "Give a reason", field="reason")
    with transaction.atomic():
        p = locks.lock_row(Penalty, penalty_id)
        if p is None:
            raise not_found("处罚记录", "penalty")
        if p.lifted_at is None:
            p.lifted_at = clock.now()
            p.save(update_fields=["lifted_at"])
            audit_record(actor=actor, action="booking.penalty_lift", obj=p, old={"lifted_at": None},
                         new={"lifted_at": p.lifted_at}, reason=reason)
    return p


# --- First come: hold, confirm, release ------------------------------------------------------------------------


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


def _check_key_free(exclusive_key: str) -> None:
    if Booking.objects.filter(exclusive_key=exclusive_key, status__in=LIVE_BOOKING).exists() \
            or Application.objects.filter(exclusive_key=exclusive_key, status=A.PENDING).exists():
        raise Conflict(*DUPLICATE)


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


def _expire_overdue(quota: Quota, *, now: dt.datetime, actor: Actor) -> int:
    """Under the quota lock: end holds whose time is up (each exactly once: a conditional update)."""
    n = 0
    for b in (Booking.objects.filter(quota=quota, status=B.HELD, hold_expires_at__lte=now)
              .select_related("user", "slot__resource")):
        if _end(b, to=B.EXPIRED, actor=actor, action="booking.expire", now=now, expect=B.HELD):
            n += 1
    return n


def seat_book(*, slot_id: int, user, subject: str, exclusive_key: str, party: str, actor: Actor,
              quota: str = "public", subject_label: str = "", confirm: bool = False,
              meta: dict | None = None) -> Booking:
    """First come: take a seat, held for the resource's ``hold_minutes`` (or confirmed at once when
    ``confirm``). Lock the quota, expire stale holds (their seats go to the waiting list first), count, insert."""
    now = clock.now()
    with transaction.atomic():
        q = _lock_quota(slot_id=slot_id, quota=quota)
        slot = q.slot
        if slot.resource.policy != Resource.Policy.FIRST_COME:
            raise Conflict("bookings.ranked_only", "该业务按排序分配，请提交预约申请",
                           "Seats here are allocated by rank: submit an application")
        _check_open(slot, now)
        _check_not_banned(party=party, slot=slot, now=now)
        # the key before the expiry below writes the first audit row: the insert further down must not wait
        # for another transaction's uncommitted booking of the same key while holding the audit head
        keys_lock(exclusive_keys=[exclusive_key])
        _check_key_free(exclusive_key)
        if _expire_overdue(q, now=now, actor=Actor.system("bookings")):
            # people already waiting come before a newcomer (if this booking then fails, all of it rolls back
            # and the sweep does the same later)
            _offer_freed(q, actor=Actor.system("bookings"))
        if _live_count(q) >= q.capacity:
            raise Conflict("bookings.full", "该场次名额已满，可加入候补", "This slot is full; you may join the waiting list")
        b = _insert_booking(
            slot=slot, quota=q, user=user, subject=subject, subject_label=subject_label[:120],
            exclusive_key=exclusive_key, party=party, status=B.CONFIRMED if confirm else B.HELD,
            hold_expires_at=None if confirm else min(now + dt.timedelta(minutes=slot.resource.hold_minutes),
                                                     slot.starts_at),
            meta=meta or {}, created_at=now, confirmed_at=now if confirm else None)
        _audit_booking(actor=actor, action="booking.confirm" if confirm else "booking.hold", booking=b, old=None)
        _emit_changed(b, "")
        if confirm:
            _notify(user=user, template="booking.confirmed", params={**_what(slot), "reference": b.reference})
    return b


def _mine(*, booking_id: int, user) -> Booking:
    b = (Booking.objects.select_related("slot__resource", "quota", "user")
         .filter(pk=booking_id, user=user).first())
    if b is None:
        raise not_found("预约", "booking")
    return b


def booking_confirm(*, booking_id: int, user, actor: Actor) -> Booking:
    """Held → confirmed, if the hold has not run out. A conditional update: whichever of this and the expiry
    sweep commits first wins, the other changes nothing. Confirming twice returns the booking."""
    now = clock.now()
    with transaction.atomic():
        # the quota first, as every other writer of its bookings (the expiry sweep, cancel, release): the
        # sweep holds it while it ends holds and audits, so without it a confirmation could hold a booking row
        # and wait for the audit head while the sweep holds the head and waits for that row
        b, _q = _mine_locked(booking_id=booking_id, user=user)
        if b.status == B.CONFIRMED:
            return b
        if b.status != B.HELD:
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
        _emit_changed(b, B.HELD)
        _notify(user=b.user, template="booking.confirmed", params={**_what(b.slot), "reference": b.reference})
    return b


def _end(b: Booking, *, to: str, actor: Actor, action: str, now: dt.datetime, expect: str | None = None,
         by: str = "", reason: str = "") -> bool:
    """Move a booking to an end state with a conditional update (exactly once), audit and emit. A held seat
    that was a waiting-list offer: the offer lapses (the caller passes the seat on)."""
    expect = expect or b.status
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


def _mine_locked(*, booking_id: int, user) -> tuple[Booking, Quota]:
    """The user's booking (404 if not theirs), its quota locked, the booking read again after the lock."""
    b = _mine(booking_id=booking_id, user=user)
    q = _lock_quota_id(b.quota_id)
    b.refresh_from_db()
    return b, q


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
        _require(actor, "booking.attendance")
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
    _require(actor, "booking.attendance")
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


# --- Waiting list ------------------------------------------------------------------------------------------------


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
        if e.status not in (W.WAITING, W.OFFERED):
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


# How long an offer waits for another transaction that is inserting a booking with the same key. That other
# transaction may itself be waiting for the audit chain's head row, which this one already holds (it audited
# the cancellation or expiry that freed the seat): without a limit the two deadlock and PostgreSQL aborts one
# of them. Below PostgreSQL's deadlock_timeout (1 s), so the offer gives way first and the entry keeps waiting.
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


# --- Ranked: applications and the allocation job -------------------------------------------------------------------


def application_submit(*, slot_id: int, user, subject: str, exclusive_key: str, party: str, sort_time: dt.datetime,
                       actor: Actor, quota: str = "public", subject_label: str = "",
                       meta: dict | None = None) -> Application:
    """Apply for a seat in a ranked slot while its window is open; the rank is live until it closes."""
    now = clock.now()
    with transaction.atomic():
        q = _lock_quota(slot_id=slot_id, quota=quota)
        slot = q.slot
        if slot.resource.policy != Resource.Policy.RANKED:
            raise Conflict("bookings.first_come_only", "该业务先到先得，请直接预约", "Seats here are first come: book directly")
        _check_open(slot, now)
        _check_not_banned(party=party, slot=slot, now=now)
        _check_key_free(exclusive_key)
        try:
            with transaction.atomic():
                a = Application.objects.create(slot=slot, quota=q, user=user, subject=subject,
                                               subject_label=subject_label[:120], exclusive_key=exclusive_key,
                                               party=party, sort_time=sort_time, meta=meta or {}, created_at=now)
        except IntegrityError:
            raise Conflict(*DUPLICATE) from None
        audit_record(actor=actor, action="booking.apply", obj=a, new={
            "slot": slot.pk, "quota": q.name, "subject": subject, "sort_time": sort_time},
            subject_person_id=_person_of(user))
    return a


def application_withdraw(*, application_id: int, user, actor: Actor) -> Application:
    """Withdraw a pending application while the window is open (afterwards: cancel the allocated booking)."""
    now = clock.now()
    with transaction.atomic():
        a = Application.objects.select_related("slot").filter(pk=application_id, user=user).first()
        if a is None:
            raise not_found("预约申请", "application")
        _lock_quota_id(a.quota_id)
        a.refresh_from_db(fields=["status"])
        block = rules.withdraw_block(status=a.status, closes_at=a.slot.closes_at, now=now)  # as the pages offer it
        if block is not None:
            raise Conflict(block, *rules.BLOCK_TEXTS[block])
        if not Application.objects.filter(pk=a.pk, status=A.PENDING).update(status=A.WITHDRAWN, decided_at=now):
            raise Conflict("bookings.not_pending", *rules.BLOCK_TEXTS["bookings.not_pending"])
        audit_record(actor=actor, action="booking.withdraw", obj=a, old={"status": A.PENDING},
                     new={"status": A.WITHDRAWN}, subject_person_id=_person_of(user))
        a.status, a.decided_at = A.WITHDRAWN, now
    return a


_RANK_SQL = """
UPDATE bookings_application
   SET rank = r.rn,
       status = CASE WHEN r.rn <= %s THEN 'allocated' ELSE 'unsuccessful' END,
       decided_at = %s
  FROM (SELECT id AS aid, ROW_NUMBER() OVER (ORDER BY sort_time, id) AS rn
          FROM bookings_application
         WHERE quota_id = %s AND status = 'pending') AS r
 WHERE bookings_application.id = r.aid
"""


def _allocate_slot(*, slot_id: int, actor: Actor, now: dt.datetime) -> tuple[int, int] | None:
    """Allocate one closed slot in one transaction: rank each quota's pending applications with one SQL
    statement (window function; the same order as ``rules.rank_order``), create the confirmed bookings of
    those within the seats, publish. None when the slot is not (or no longer) due: the slot row is locked
    first, so a second run at the same time waits and then finds it allocated."""
    with transaction.atomic():
        slot = _lock_slot(slot_id)  # and its quotas
        if slot is None or slot.status not in (Slot.Status.OPEN, Slot.Status.CLOSED) or slot.closes_at > now:
            return None
        quotas = list(Quota.objects.filter(slot=slot).order_by("id"))
        applications = allocated = 0
        # audited after every quota's bookings are inserted: an insert that waits for another transaction's
        # uncommitted booking of the same key must not hold the audit head meanwhile (that transaction may be
        # waiting for it); the audit head is the last lock
        audits = []
        for q in quotas:
            free = max(0, q.capacity - _live_count(q))
            # an application whose key got a live booking elsewhere meanwhile is out of the running (no rank),
            # so the seat goes to the next in line instead of being lost
            out = list(Application.objects.filter(
                quota=q, status=A.PENDING,
                exclusive_key__in=Booking.objects.filter(status__in=LIVE_BOOKING).values("exclusive_key"))
                .values_list("pk", flat=True))
            if out:
                Application.objects.filter(pk__in=out).update(status=A.UNSUCCESSFUL, decided_at=now)
            with connection.cursor() as cur:
                cur.execute(_RANK_SQL, [free, connection.ops.adapt_datetimefield_value(now), q.pk])
                decided = cur.rowcount
            applications += decided + len(out)
            rows = list(Application.objects.filter(quota=q, status=A.ALLOCATED, booking__isnull=True)
                        .order_by("rank").values("id", "user_id", "subject", "subject_label", "exclusive_key",
                                                 "party", "meta", "rank"))
            bookings = [Booking(
                reference=rules.reference_new(), slot=slot, quota=q, user_id=r["user_id"], subject=r["subject"],
                subject_label=r["subject_label"], exclusive_key=r["exclusive_key"], party=r["party"],
                status=B.CONFIRMED, application_id=r["id"], meta={**(r["meta"] or {}), "rank": r["rank"]},
                created_at=now, confirmed_at=now) for r in rows]
            Booking.objects.bulk_create(bookings, batch_size=2000)
            allocated += len(bookings)
            audits.append((q, {
                "slot": slot.pk, "quota": q.name, "seats": free, "applications": decided + len(out),
                "allocated": len(bookings), "allocated_applications": [b.application_id for b in bookings],
                "excluded_applications": out}))
        for q, new in audits:
            audit_record(actor=actor, action="booking.allocate", obj=q, new=new)
        old = slot.status
        slot.status, slot.allocated_at = Slot.Status.ALLOCATED, now
        slot.save(update_fields=["status", "allocated_at"])
        audit_record(actor=actor, action="booking.slot_allocated", obj=slot, old={"status": old},
                     new={"status": slot.status, "applications": applications, "allocated": allocated})
        event_emit(topic="bookings.slot_allocated", payload={
            "slot_id": slot.pk, "kind": slot.resource.kind, "resource": slot.resource.code,
            "allocated_at": now.isoformat()})
    return applications, allocated


def applications_allocate(*, actor: Actor, now: dt.datetime | None = None,
                          slot_ids: list[int] | None = None) -> AllocationRun:
    """The allocation job: every ranked slot whose window has closed and that is not allocated yet, one
    transaction per slot (a crash leaves finished slots done and the rest for the next run). Running it twice,
    even at the same time, allocates each slot once. The run is recorded when a person started it or when it
    allocated something (the periodic job does not leave a row every five minutes)."""
    _require(actor, "booking.manage")
    now = now or clock.now()
    run = AllocationRun(started_at=clock.now(), actor_label=actor.label[:150])
    qs = Slot.objects.filter(resource__policy=Resource.Policy.RANKED, status__in=(Slot.Status.OPEN, Slot.Status.CLOSED),
                             closes_at__lte=now)
    if slot_ids is not None:
        qs = qs.filter(pk__in=slot_ids)
    for slot_id in list(qs.order_by("starts_at", "id").values_list("pk", flat=True)):
        for attempt in range(3):
            try:
                result = _allocate_slot(slot_id=slot_id, actor=actor, now=now)
                break
            except IntegrityError:  # a key booked elsewhere between the exclusion and the insert: try again
                log.warning("allocation of slot %s hit a duplicate key (attempt %s)", slot_id, attempt + 1)
                result = None
        if result is None:
            continue
        run.slots += 1
        run.applications += result[0]
        run.allocated += result[1]
    run.finished_at = clock.now()
    if run.slots or actor.role != "system":
        run.save()
    return run


def slots_close(*, now: dt.datetime | None = None) -> int:
    """Mark ranked slots whose window has passed as closed (awaiting allocation), so pages show it."""
    now = now or clock.now()
    with transaction.atomic():
        ids = [s.pk for s in locks.lock_rows(Slot.objects.filter(
            resource__policy=Resource.Policy.RANKED, status=Slot.Status.OPEN, closes_at__lte=now))]
        if not ids:
            return 0
        n = Slot.objects.filter(pk__in=ids, status=Slot.Status.OPEN).update(status=Slot.Status.CLOSED)
        audit_record(actor=Actor.system("bookings.slots_close"), action="booking.slots_close",
                     object_type="bookings.slot", object_id=",".join(map(str, ids[:50])),
                     old={"status": Slot.Status.OPEN}, new={"status": Slot.Status.CLOSED, "slots": ids})
    return n


def slot_allocation_notify(*, slot_id: int, chunk: int = 1000) -> int:
    """Tell every applicant of an allocated slot the result (the outbox handler of ``bookings.slot_allocated``).
    Idempotent: an application is notified once (``meta.notified``)."""
    from django.contrib.auth import get_user_model

    slot = Slot.objects.select_related("resource").get(pk=slot_id)
    what = _what(slot)
    seats = {q.pk: q.capacity for q in slot.quotas.all()}
    sent = 0
    User = get_user_model()
    while True:
        batch = list(Application.objects.filter(slot=slot, status__in=(A.ALLOCATED, A.UNSUCCESSFUL))
                     .exclude(meta__has_key="notified").order_by("id")[:chunk])
        if not batch:
            return sent
        users = User.objects.in_bulk({a.user_id for a in batch})
        refs = dict(Booking.objects.filter(application__in=batch).values_list("application_id", "reference"))
        with transaction.atomic():
            for a in batch:
                user = users[a.user_id]
                if a.status == A.ALLOCATED and a.pk in refs:
                    _notify(user=user, template="booking.allocated",
                            params={**what, "reference": refs[a.pk], "rank": a.rank})
                else:
                    _notify(user=user, template="booking.unsuccessful",
                            params={**what, "rank": a.rank or "-", "seats": seats.get(a.quota_id, 0)})
                a.meta = {**(a.meta or {}), "notified": True}
            Application.objects.bulk_update(batch, ["meta"])
        sent += len(batch)
