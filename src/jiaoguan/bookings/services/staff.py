"""Staff: resources, slots and their quotas, capacity changes and calling a slot off."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import (
    Application,
    Booking,
    Quota,
    Resource,
    Slot,
    WaitlistEntry,
)
from jiaoguan.bookings.services.common import (
    A,
    B,
    W,
    _end,
    _expire_overdue,
    _live_count,
    _lock_quota,
    _lock_slot,
    _notify,
    _what,
)
from jiaoguan.bookings.services.waitlist import _offer_freed
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, not_found
from jiaoguan.identity.roles import require


def resource_create(*, kind: str, code: str, name_zh: str, name_en: str, actor: Actor,
                    policy: str = Resource.Policy.FIRST_COME, hold_minutes: int = 10,
                    waitlist_offer_minutes: int = 30) -> Resource:
    require(actor, "booking.manage")
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
    require(actor, "booking.manage")
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
    require(actor, "booking.manage")
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
    require(actor, "booking.manage")
    if not (reason or "").strip():
        raise InvalidInput("bookings.reason", "请填写原因", "Give a reason", field="reason")
    with transaction.atomic():
        slot = _lock_slot(slot_id)  # and its quotas
        if slot is None:
            raise not_found("预约场次", "booking slot")
        if not rules.SLOT.allows(slot.status, Slot.Status.CANCELLED):
            return slot  # already called off
        now = clock.now()
        old = slot.status
        slot.status = Slot.Status.CANCELLED
        slot.save(update_fields=["status"])
        audit_record(actor=actor, action="booking.slot_cancel", obj=slot, old={"status": old},
                     new={"status": slot.status}, reason=reason)
        for b in Booking.objects.filter(slot=slot, status__in=rules.BOOKING.sources(B.CANCELLED)).select_related(
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
        waiting = list(WaitlistEntry.objects.filter(slot=slot, status__in=rules.WAITLIST.sources(W.WITHDRAWN))
                       .values_list("pk", flat=True))
        if waiting:
            WaitlistEntry.objects.filter(pk__in=waiting).update(status=W.WITHDRAWN)
            audit_record(actor=actor, action="booking.waitlist_withdraw", obj=slot, reason=reason,
                         new={"status": W.WITHDRAWN, "entries": waiting})
    return slot
