"""Ranked: applications while the window is open, closing windows and the allocation job, telling applicants."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from jiaoguan.bookings import rules, selectors
from jiaoguan.bookings.models import (
    LIVE_BOOKING,
    AllocationRun,
    Application,
    Booking,
    Quota,
    Resource,
    Slot,
)
from jiaoguan.bookings.services.common import (
    DUPLICATE,
    A,
    B,
    _check_key_free,
    _check_open,
    _live_count,
    _lock_quota,
    _lock_quota_id,
    _lock_slot,
    _notify,
    _person_of,
    _what,
    log,
)
from jiaoguan.bookings.services.penalties import _check_not_banned
from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, not_found
from jiaoguan.core.outbox import event_emit
from jiaoguan.identity.roles import require


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
  FROM (SELECT id AS aid, ROW_NUMBER() OVER (ORDER BY {order}) AS rn
          FROM bookings_application
         WHERE quota_id = %s AND status = 'pending') AS r
 WHERE bookings_application.id = r.aid
""".format(order=", ".join(rules.RANK_ORDER))  # the one rank order (rules.RANK_ORDER; the property test ties them)


def _allocate_slot(*, slot_id: int, actor: Actor, now: dt.datetime) -> tuple[int, int] | None:
    """Allocate one closed slot in one transaction: rank each quota's pending applications with one SQL
    statement (window function; ``rules.RANK_ORDER``, as ``rules.rank_order``), create the confirmed bookings of
    those within the seats, publish. None when the slot is not (or no longer) due: the slot row is locked
    first, so a second run at the same time waits and then finds it allocated."""
    with transaction.atomic():
        slot = _lock_slot(slot_id)  # and its quotas
        if slot is None or not rules.SLOT.allows(slot.status, Slot.Status.ALLOCATED) or slot.closes_at > now:
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
    require(actor, "booking.manage")
    now = now or clock.now()
    run = AllocationRun(started_at=clock.now(), actor_label=actor.label[:150])
    qs = selectors.slots_due_for_allocation(now=now)
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
