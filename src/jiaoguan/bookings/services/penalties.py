"""Penalties: the rules that turn cancellations and no-shows into bans, the ban check of every booking path,
and staff lifting a ban."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from jiaoguan.bookings import rules
from jiaoguan.bookings.defaults import DEFAULT_PENALTY_RULES
from jiaoguan.bookings.models import Booking, Penalty, PenaltyRule, Slot
from jiaoguan.bookings.services.common import B, _notify, _person_of, _when
from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Forbidden, InvalidInput, not_found
from jiaoguan.core.i18n import zh_en
from jiaoguan.identity.roles import require


def penalty_rules_seed() -> int:
    """DOMAIN §6's default rules (eastern areas), as migration 0002 seeds them; for tests that flush the
    database. Returns how many were created."""
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
    events = []
    for row_status, ended_at, starts_at, period_key in qs.values_list("status", "ended_at", "slot__starts_at",
                                                                      "slot__period_key"):
        assert ended_at is not None  # _end stamps ended_at with every end status (cancelled, no-show)
        events.append(_penalty_event(row_status, ended_at, starts_at, period_key))
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
    require(actor, "booking.manage")
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
