"""Reads of the capacity engine. Availability here is for display only: decisions count after the lock
(services)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from jiaoguan.bookings import rules
from jiaoguan.bookings.models import (
    LIVE_BOOKING,
    AllocationRun,
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
from jiaoguan.core.ids import parse_id

# The choices and constants other apps and the pages use (this app's models' reference data, read through here)
BookingStatus = Booking.Status
ResourceKind = Resource.Kind
ResourcePolicy = Resource.Policy
SlotStatus = Slot.Status
ApplicationStatus = Application.Status
WaitlistStatus = WaitlistEntry.Status

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


def seat_taken(*, now: dt.datetime, via: str = "") -> Q:
    """The one definition of a seat taken, for display (the services count again under the lock): a confirmed
    or attended booking, or a hold whose time has not run out. ``via``: the path from the queried model to the
    booking (``"bookings__"`` from a quota)."""
    return (Q(**{f"{via}status__in": rules.SEAT_TAKEN})
            | Q(**{f"{via}status": "held", f"{via}hold_expires_at__gt": now}))


def slot_availability(*, slot: Slot) -> list[QuotaAvailability]:
    now = clock.now()
    quotas = (Quota.objects.filter(slot=slot).order_by("id").annotate(
        taken=Count("bookings", filter=seat_taken(now=now, via="bookings__"), distinct=True),
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
        qs = qs.filter(bookable(now=clock.now()))
    return qs.order_by("starts_at", "id")


def bookable(*, now: dt.datetime, via: str = "") -> Q:
    """``rules.slot_bookable`` as a query (``via``: the path to the slot, ``"slot__"`` from a session)."""
    return Q(**{f"{via}status": "open", f"{via}opens_at__lte": now, f"{via}closes_at__gt": now,
                f"{via}starts_at__gt": now})


def slot_bookable(*, slot: Slot, now: dt.datetime | None = None) -> bool:
    """Does the slot take bookings now (rules.slot_bookable)?"""
    return rules.slot_bookable(status=slot.status, opens_at=slot.opens_at, closes_at=slot.closes_at,
                               starts_at=slot.starts_at, now=now or clock.now())


def slots_due_for_allocation(*, now: dt.datetime | None = None) -> QuerySet[Slot]:
    """Ranked slots whose window has closed and that may still be allocated (rules.SLOT): what the allocation
    job runs over and the console counts as due."""
    return Slot.objects.filter(resource__policy=Resource.Policy.RANKED,
                               status__in=rules.SLOT.sources(Slot.Status.ALLOCATED), closes_at__lte=now or clock.now())


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


def my_upcoming(*, user, now: dt.datetime | None = None) -> list[Booking]:
    """The user's bookings still to come (held or confirmed, the slot not yet started), soonest first: what the
    citizen's summary counts (jiaoguan.records)."""
    now = now or clock.now()
    return list(Booking.objects.filter(user=user, status__in=(Booking.Status.HELD, Booking.Status.CONFIRMED),
                                       slot__starts_at__gt=now)
                .select_related("slot__resource").order_by("slot__starts_at", "pk"))


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
        _ranked_ahead_of(application)).count()
    return ahead + 1


def _ranked_ahead_of(application: Application) -> Q:
    """Applications that rank ahead of this one: ``rules.RANK_ORDER`` compared column by column (lexicographic,
    as ``rules.rank_key``)."""
    ahead, same = Q(pk__in=[]), dict[str, object]()
    for field, value in zip(rules.RANK_ORDER, rules.rank_key(application)):
        ahead |= Q(**same, **{f"{field}__lt": value})
        same[field] = value
    return ahead


def application_rank_check(*, application: Application) -> int:
    """The same rank by the pure rule (``rules.live_rank``; for tests and audits): ranks every pending
    application in Python."""
    others = [rules.Ranked(pk, t) for pk, t in Application.objects.filter(
        quota_id=application.quota_id, status=Application.Status.PENDING).values_list("id", "sort_time")]
    return rules.live_rank(rules.Ranked(application.pk, application.sort_time), others)


def live_booking_for_key(*, exclusive_key: str) -> Booking | None:
    return (Booking.objects.select_related("slot__resource")
            .filter(exclusive_key=exclusive_key, status__in=LIVE_BOOKING).first())


def live_application_for_key(*, exclusive_key: str) -> Application | None:
    """The pending application for the key, or the allocated one whose booking is still live."""
    return (Application.objects.select_related("slot__resource")
            .filter(exclusive_key=exclusive_key)
            .filter(Q(status=Application.Status.PENDING)
                    | Q(status=Application.Status.ALLOCATED, booking__status__in=LIVE_BOOKING))
            .order_by("-created_at", "-id").first())


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


def penalties_active(*, party: str | None = None, kind: str | None = None,
                     at: dt.datetime | None = None) -> list[Penalty]:
    """Penalties in force (not lifted, started, not ended; a period ban counts until lifted). ``party`` None:
    everyone's (the console's list), newest first."""
    at = at or clock.now()
    qs = Penalty.objects.filter(lifted_at__isnull=True, starts_at__lte=at).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=at)).select_related("rule")
    if party is not None:
        qs = qs.filter(party=party)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("-created_at", "-id")[:500])


def slot_bookings(*, slot: Slot, statuses: tuple[str, ...] | None = None) -> QuerySet[Booking]:
    qs = Booking.objects.filter(slot=slot).select_related("user", "quota")
    if statuses:
        qs = qs.filter(status__in=statuses)
    return qs.order_by("quota_id", "created_at", "id")


def slot_applications(*, slot: Slot) -> QuerySet[Application]:
    return Application.objects.filter(slot=slot).select_related("quota").order_by("quota_id", "sort_time", "id")


def booking_get(*, booking_id: int) -> Booking:
    """Any booking (staff)."""
    b = Booking.objects.select_related("slot__resource", "quota", "user").filter(pk=booking_id).first()
    if b is None:
        raise not_found("预约", "booking")
    return b


def slots_list(*, kind: str | None = None, day: dt.date | None = None, status: str | None = None,
               resource_id: int | None = None) -> QuerySet[Slot]:
    """Slots for the console, by kind, local day (Asia/Shanghai) and status, soonest first."""
    qs = Slot.objects.select_related("resource")
    if kind:
        qs = qs.filter(resource__kind=kind)
    if resource_id:
        qs = qs.filter(resource_id=resource_id)
    if status:
        qs = qs.filter(status=status)
    if day is not None:
        start, end = clock.day_bounds(day)
        qs = qs.filter(starts_at__gte=start, starts_at__lt=end)
    return qs.order_by("starts_at", "id")


def slots_taken(*, slot_ids: list[int]) -> dict[int, tuple[int, int]]:
    """slot id -> (seats, taken) for a page of slots, in two queries."""
    seats = dict(Quota.objects.filter(slot_id__in=slot_ids).values("slot_id").annotate(n=Sum("capacity"))
                 .values_list("slot_id", "n"))
    now = clock.now()
    taken = dict(Booking.objects.filter(slot_id__in=slot_ids).filter(seat_taken(now=now))
        .values("slot_id").annotate(n=Count("id")).values_list("slot_id", "n"))
    return {sid: (seats.get(sid) or 0, taken.get(sid, 0)) for sid in slot_ids}


def booking_of_kind(*, booking_id, kind: str, user=None) -> Booking | None:
    """A booking of one kind (a domain app's own: "counter", "exam", ...), only the user's when ``user`` is
    given; None when there is none (a malformed id too)."""
    if parse_id(booking_id) is None:
        return None
    qs = Booking.objects.select_related("slot__resource", "user").filter(pk=booking_id, slot__resource__kind=kind)
    if user is not None:
        qs = qs.filter(user=user)
    return qs.first()


def resource_day_bookings(*, resource: Resource, day: dt.date) -> QuerySet[Booking]:
    """Every booking (live and ended) of a resource's slots on a local day, in slot order."""
    start, end = clock.day_bounds(day)
    return (Booking.objects.filter(slot__resource=resource, slot__starts_at__gte=start, slot__starts_at__lt=end)
            .select_related("slot", "user").order_by("slot__starts_at", "created_at", "id"))


def party_bookings(*, user, party: str | None, kind: str, live_only: bool = False) -> QuerySet[Booking]:
    """The bookings of ``kind`` the user made or that were made for ``party`` (an enterprise's), newest first;
    none for an anonymous user."""
    if getattr(user, "pk", None) is None:
        return Booking.objects.none()
    mine = Q(user=user)
    if party:
        mine |= Q(party=party)
    qs = Booking.objects.filter(mine, slot__resource__kind=kind).select_related("slot__resource", "quota")
    if live_only:
        qs = qs.filter(status__in=LIVE_BOOKING)
    return qs.order_by("-created_at", "-id")


def slots_by_id(*, slot_ids: Iterable) -> dict[int, Slot]:
    """The slots of these ids (malformed ones ignored), by id."""
    ids = {i for i in (parse_id(s) for s in slot_ids) if i is not None}
    return {s.pk: s for s in Slot.objects.filter(pk__in=ids)}


def slot_ranked_applications(*, slot: Slot, limit: int = 500) -> list[tuple[Application, int | None]]:
    """A slot's applications with their rank (live while pending, published once decided), best first within
    each quota: what the console and the staff API show. The live ranks come from ``rules.ranks``; the first
    ``limit`` in rank order are read, so the ranks of those are exact."""
    apps = list(Application.objects.filter(slot=slot).select_related("quota", "user")
                .order_by("quota_id", *rules.RANK_ORDER)[:limit])
    pending: dict[int, list[rules.Ranked]] = {}
    for a in apps:
        if a.status == Application.Status.PENDING:
            pending.setdefault(a.quota_id, []).append(rules.Ranked(a.pk, a.sort_time))
    live = {pk: rank for items in pending.values() for pk, rank in rules.ranks(items).items()}
    return [(a, live[a.pk] if a.status == Application.Status.PENDING else a.rank) for a in apps]


def allocation_runs(*, limit: int = 20) -> list[AllocationRun]:
    return list(AllocationRun.objects.order_by("-started_at", "-id")[:limit])


def slot_waitlist(*, slot: Slot) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(slot=slot).select_related("quota", "user", "booking").order_by(
        "created_at", "id")


@dataclass(frozen=True)
class MyItem:
    """One line of "my bookings": a booking, a pending/decided application or a waiting-list entry."""
    kind: str  # "booking" | "application" | "waitlist"
    obj: Booking | Application | WaitlistEntry
    slot: Slot
    rank: int | None = None
    seats: int | None = None


def my_items(*, user, limit: int = 200) -> list[MyItem]:
    """Everything of the user across kinds, newest first: bookings; applications (allocated ones appear as
    their booking; pending ones with the live rank and the seats); waiting-list entries still waiting."""
    items: list[MyItem] = []
    for b in my_bookings(user=user)[:limit]:
        items.append(MyItem("booking", b, b.slot))
    apps = list(my_applications(user=user).filter(booking__isnull=True)[:limit])
    pending_quotas = {a.quota_id for a in apps if a.status == Application.Status.PENDING}
    seats = dict(Quota.objects.filter(pk__in=pending_quotas).values_list("pk", "capacity"))
    for a in apps:
        items.append(MyItem("application", a, a.slot, rank=application_rank(application=a),
                            seats=seats.get(a.quota_id)))
    for e in my_waitlist(user=user).filter(status=WaitlistEntry.Status.WAITING)[:limit]:
        items.append(MyItem("waitlist", e, e.slot))
    items.sort(key=lambda i: (i.obj.created_at, i.obj.pk), reverse=True)
    return items


def my_waitlist_entry(*, user, entry_id: int) -> WaitlistEntry:
    e = WaitlistEntry.objects.select_related("slot__resource", "quota").filter(pk=entry_id, user=user).first()
    if e is None:
        raise not_found("候补记录", "waiting-list entry")
    return e


def citizen_may_cancel(*, booking, now: dt.datetime | None = None) -> bool:
    """May the booking's citizen cancel it now (rules.citizen_cancel_block, as services.booking_cancel)?"""
    return rules.citizen_cancel_block(status=booking.status, cancel_until=booking.slot.cancel_until,
                                      now=now or clock.now()) is None


def citizen_give_up_block(*, booking, now: dt.datetime | None = None) -> str | None:
    """Why the citizen's give-up button (release a hold, cancel a confirmed booking) is not offered, or None:
    rules.give_up_block, i.e. what booking_release / booking_cancel enforce."""
    return rules.give_up_block(status=booking.status, hold_expires_at=booking.hold_expires_at,
                               cancel_until=booking.slot.cancel_until, now=now or clock.now())


def citizen_withdraw_block(*, application, now: dt.datetime | None = None) -> str | None:
    """Why the citizen's 撤回 of a ranked application is not offered (rules.withdraw_block, as
    services.application_withdraw), or None."""
    return rules.withdraw_block(status=application.status, closes_at=application.slot.closes_at,
                                now=now or clock.now())


def staff_mark_block(*, booking, now: dt.datetime | None = None) -> str | None:
    """Why staff may not mark attendance now (rules.mark_block, as services.booking_mark), or None."""
    return rules.mark_block(status=booking.status, starts_at=booking.slot.starts_at, now=now or clock.now())


def staff_cancel_block(*, booking) -> str | None:
    """Why staff may not cancel the booking (rules.staff_cancel_block, as services.booking_cancel), or None."""
    return rules.staff_cancel_block(status=booking.status)


def block_text(code: str | None) -> tuple[str, str] | None:
    """The (zh, en) a page shows for a refusal code of the rules above (None: nothing to say)."""
    return rules.BLOCK_TEXTS.get(code) if code else None
