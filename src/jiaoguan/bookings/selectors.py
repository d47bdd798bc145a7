"""Reads of the capacity engine. Availability here is for display only: decisions count after the lock
(services)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

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
from jiaoguan.core import clock
from jiaoguan.core.errors import not_found


@dataclass(frozen=True)
class QuotaAvailability:
    quota_id: int
    name: str
    label_zh: str
    label_en: str
    capacity: int
    taken: int
    pending: int  # ranked: applications waiting for the allocation

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)


def slot_availability(*, slot: Slot) -> list[QuotaAvailability]:
    now = clock.now()
    quotas = (Quota.objects.filter(slot=slot).order_by("id").annotate(
        taken=Count("bookings", filter=Q(bookings__status__in=("confirmed", "attended"))
                    | Q(bookings__status="held", bookings__hold_expires_at__gt=now), distinct=True),
        pending=Count("applications", filter=Q(applications__status="pending"), distinct=True)))
    return [QuotaAvailability(q.pk, q.name, q.label_zh, q.label_en, q.capacity, q.taken, q.pending) for q in quotas]


def slots_for_resource(*, resource: Resource, start: dt.datetime | None = None, end: dt.datetime | None = None,
                       bookable_only: bool = False) -> QuerySet[Slot]:
    qs = Slot.objects.filter(resource=resource).exclude(status=Slot.Status.CANCELLED)
    if start is not None:
        qs = qs.filter(starts_at__gte=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    if bookable_only:
        now = clock.now()
        qs = qs.filter(status=Slot.Status.OPEN, opens_at__lte=now, closes_at__gt=now, starts_at__gt=now)
    return qs.order_by("starts_at", "id")


def slot_get(*, slot_id: int) -> Slot:
    slot = Slot.objects.select_related("resource").filter(pk=slot_id).first()
    if slot is None:
        raise not_found("预约场次", "booking slot")
    return slot


def my_bookings(*, user, kind: str | None = None, live_only: bool = False) -> QuerySet[Booking]:
    qs = Booking.objects.filter(user=user).select_related("slot__resource", "quota")
    if kind:
        qs = qs.filter(slot__resource__kind=kind)
    if live_only:
        qs = qs.filter(status__in=LIVE_BOOKING)
    return qs.order_by("-created_at", "-id")


def my_booking(*, user, booking_id: int) -> Booking:
    b = Booking.objects.select_related("slot__resource", "quota").filter(pk=booking_id, user=user).first()
    if b is None:
        raise not_found("预约", "booking")
    return b


def my_applications(*, user, kind: str | None = None) -> QuerySet[Application]:
    qs = Application.objects.filter(user=user).select_related("slot__resource", "quota")
    if kind:
        qs = qs.filter(slot__resource__kind=kind)
    return qs.order_by("-created_at", "-id")


def my_application(*, user, application_id: int) -> Application:
    a = Application.objects.select_related("slot__resource", "quota").filter(pk=application_id, user=user).first()
    if a is None:
        raise not_found("预约申请", "application")
    return a


def my_waitlist(*, user, kind: str | None = None) -> QuerySet[WaitlistEntry]:
    qs = WaitlistEntry.objects.filter(user=user).select_related("slot__resource", "quota", "booking")
    if kind:
        qs = qs.filter(slot__resource__kind=kind)
    return qs.order_by("-created_at", "-id")


def application_rank(*, application: Application) -> int | None:
    """The live rank while pending (1 = first); the published rank once decided; None when withdrawn."""
    if application.status == Application.Status.WITHDRAWN:
        return None
    if application.status != Application.Status.PENDING:
        return application.rank
    ahead = Application.objects.filter(quota_id=application.quota_id, status=Application.Status.PENDING).filter(
        Q(sort_time__lt=application.sort_time) | Q(sort_time=application.sort_time, id__lt=application.pk)).count()
    return ahead + 1


def application_rank_check(*, application: Application) -> int:
    """The same rank by the pure rule (for tests and audits): ranks every pending application in Python."""
    others = [rules.Ranked(pk, t) for pk, t in Application.objects.filter(
        quota_id=application.quota_id, status=Application.Status.PENDING).values_list("id", "sort_time")]
    return rules.live_rank(rules.Ranked(application.pk, application.sort_time), others)


def live_booking_for_key(*, exclusive_key: str) -> Booking | None:
    return (Booking.objects.select_related("slot__resource")
            .filter(exclusive_key=exclusive_key, status__in=LIVE_BOOKING).first())


def live_application_for_key(*, exclusive_key: str) -> Application | None:
    return (Application.objects.select_related("slot__resource")
            .filter(exclusive_key=exclusive_key, status__in=(Application.Status.PENDING, Application.Status.ALLOCATED))
            .first())


def bookings_for_subject(*, subject: str) -> QuerySet[Booking]:
    return Booking.objects.filter(subject=subject).select_related("slot__resource").order_by("-created_at", "-id")


def last_cancel_or_no_show(*, subject: str) -> dt.datetime | None:
    """When the subject's last confirmed booking was cancelled by the citizen or missed (DOMAIN §6's third sort
    time): for a no-show the slot's start, for a cancellation the moment of cancelling."""
    latest = None
    for status, ended_at, starts_at in Booking.objects.filter(subject=subject).filter(
            Q(status=Booking.Status.CANCELLED, cancelled_by=Booking.CancelledBy.CITIZEN)
            | Q(status=Booking.Status.NO_SHOW)).values_list("status", "ended_at", "slot__starts_at"):
        at = starts_at if status == Booking.Status.NO_SHOW else ended_at
        if at and (latest is None or at > latest):
            latest = at
    return latest


def penalties_active(*, party: str, kind: str | None = None, at: dt.datetime | None = None) -> list[Penalty]:
    at = at or clock.now()
    qs = Penalty.objects.filter(party=party, lifted_at__isnull=True, starts_at__lte=at)
    if kind:
        qs = qs.filter(kind=kind)
    return [p for p in qs if p.ends_at is None or p.ends_at > at]


def slot_bookings(*, slot: Slot, statuses: tuple[str, ...] | None = None) -> QuerySet[Booking]:
    qs = Booking.objects.filter(slot=slot).select_related("user", "quota")
    if statuses:
        qs = qs.filter(status__in=statuses)
    return qs.order_by("quota_id", "created_at", "id")


def slot_applications(*, slot: Slot) -> QuerySet[Application]:
    return Application.objects.filter(slot=slot).select_related("quota").order_by("quota_id", "sort_time", "id")
