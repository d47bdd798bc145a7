"""Ranked: applications while the window is open, closing windows and the allocation job, telling applicants."""
from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction

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
    _check_key_free,
    _check_open,
    _lock_quota,
    _lock_quota_id,
    _notify,
    _person_of,
    _what,
    log,
)
from jiaoguan.bookings.services.penalties import _check_not_banned
from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, Change, audit_record, audit_records
from jiaoguan.core.errors import Conflict, not_found
from jiaoguan.core.outbox import events_emit
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


# --- the allocation job ------------------------------------------------------------------------------------------
#
# Set-based (issue 12 §2). One transaction allocates a batch of due slots in a fixed number of statements,
# whatever the number of slots and applications:
#
#   1. lock the slots, then all their quotas (core.locks, by id);
#   2. count each quota's free seats (capacity less its live bookings) and pending applications;
#   3. exclude the applications whose key got a live booking elsewhere meanwhile (one UPDATE);
#   4. book: one INSERT … SELECT creates the confirmed booking of every application ranked within its quota's free
#      seats — the rank is a window function partitioned by quota, in ``rules.RANK_ORDER`` — each with a reference
#      drawn by ``rules.references_new``;
#   5. rank: one UPDATE … FROM gives every pending application its rank and its outcome (the same window, read
#      under the same locks, so the same ranks);
#   6. mark the slots allocated (one UPDATE), one audit row per slot (one INSERT), one outbox event per slot.
#
# The same SQL runs on PostgreSQL and SQLite (≥ 3.35: window functions, UPDATE … FROM, RETURNING) but for the
# spelling of a parameter list (``_Dialect``). On PostgreSQL, outside a caller's transaction, a round of several
# batches runs them on ALLOCATE_WORKERS connections at once (the database's cores); each batch is still one
# transaction with the same locks, so the result is the same as one after the other.

# The most slots one allocation transaction takes: a round of more runs in several batches (a crash leaves finished
# batches done and the rest for the next run), and a round is split so that each worker gets a batch.
ALLOCATE_BATCH_SLOTS = 1000
# PostgreSQL's memory for the window's sort in an allocation transaction (SET LOCAL: that transaction only)
ALLOCATE_WORK_MEM = "256MB"

_LIVE = "(" + ", ".join(f"'{s}'" for s in LIVE_BOOKING) + ")"
_ORDER = ", ".join(f"a.{column}" for column in rules.RANK_ORDER)  # the one rank order (rules.RANK_ORDER)
_RANKED = f"ROW_NUMBER() OVER (PARTITION BY a.quota_id ORDER BY {_ORDER})"

# the columns the booking INSERT writes: every column of a booking (tests/bookings/test_allocation.py holds it to
# the model, so a new Booking field fails a test rather than an allocation)
BOOKED_COLUMNS = ("reference", "slot_id", "quota_id", "user_id", "subject", "subject_label", "exclusive_key",
                  "party", "status", "hold_expires_at", "cancelled_by", "application_id", "meta", "created_at",
                  "confirmed_at", "ended_at")


class _Dialect:
    """The few places where PostgreSQL and SQLite spell the same thing differently: lists passed as one
    parameter (an array; a JSON text for SQLite), and adding a key to a JSON object."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"

    def ids_in(self, column: str, ids: list[int]) -> tuple[str, list]:
        """``column`` is one of ``ids``."""
        if self.pg:
            return f"{column} = ANY(%s::bigint[])", [ids]
        return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]

    def quotas(self, rows: list[tuple[int, int, int]]) -> tuple[str, list]:
        """A derived table ``f(qid, free, base)`` of these rows."""
        if self.pg:
            cols = list(zip(*rows)) if rows else [(), (), ()]
            return ("unnest(%s::bigint[], %s::int[], %s::int[]) AS f(qid, free, base)",
                    [list(cols[0]), list(cols[1]), list(cols[2])])
        return ("(SELECT json_extract(value, '$[0]') AS qid, json_extract(value, '$[1]') AS free, "
                "json_extract(value, '$[2]') AS base FROM json_each(%s)) AS f", [json.dumps(rows)])

    def numbered(self, values: list[str]) -> tuple[str, list]:
        """A derived table ``r(n, value)`` of ``values`` numbered from 1 (joined on ``n``: indexing an array
        parameter row by row would walk it from its start each time)."""
        if self.pg:
            return "unnest(%s::text[]) WITH ORDINALITY AS r(value, n)", [values]
        return "(SELECT key + 1 AS n, value FROM json_each(%s)) AS r", [json.dumps(values)]

    def with_rank(self, meta_sql: str, rank_sql: str) -> str:
        """The JSON object ``meta_sql`` with ``"rank"`` set to ``rank_sql``."""
        if self.pg:
            return f"{meta_sql} || jsonb_build_object('rank', {rank_sql})"
        return f"json_set({meta_sql}, '$.rank', {rank_sql})"


def _quota_figures(d: _Dialect, quota_ids: list[int]) -> dict[int, tuple[int, int]]:
    """quota id -> (free seats, pending applications), counted under the quota locks."""
    where, params = d.ids_in("q.id", quota_ids)
    with connection.cursor() as cur:
        cur.execute(f"""
            /* allocate:figures */
            SELECT q.id,
                   q.capacity - (SELECT COUNT(*) FROM bookings_booking b
                                  WHERE b.quota_id = q.id AND b.status IN {_LIVE}),
                   (SELECT COUNT(*) FROM bookings_application a WHERE a.quota_id = q.id AND a.status = 'pending')
              FROM bookings_quota q
             WHERE {where}""", params)
        return {qid: (max(0, free), pending) for qid, free, pending in cur.fetchall()}


def _exclude_booked_keys(d: _Dialect, quota_ids: list[int], now_db) -> list[tuple[int, int]]:
    """An application whose key got a live booking elsewhere meanwhile (a race the checks at application time
    cannot close) is out of the running, unranked, so the seat goes to the next in line instead of being lost.
    Returns (application id, quota id) of those."""
    where, params = d.ids_in("quota_id", quota_ids)
    with connection.cursor() as cur:
        cur.execute(f"""
            /* allocate:exclude */
            UPDATE bookings_application SET status = 'unsuccessful', decided_at = %s
             WHERE {where} AND status = 'pending'
               AND EXISTS (SELECT 1 FROM bookings_booking b
                            WHERE b.exclusive_key = bookings_application.exclusive_key AND b.status IN {_LIVE})
            RETURNING id, quota_id""", [now_db, *params])
        return [(aid, qid) for aid, qid in cur.fetchall()]


def _book(d: _Dialect, quotas: list[tuple[int, int, int]], now_db) -> list[tuple[int, int]]:
    """The confirmed booking of every pending application ranked within its quota's free seats, in one INSERT …
    SELECT. ``quotas``: (quota id, free seats, base) where base is the sum of the free seats of the quotas before
    it, so application ``rn`` of a quota takes reference number ``base + rn``. Returns (application id, quota id)
    of the bookings made."""
    f_sql, f_params = d.quotas(quotas)
    refs_sql, refs_params = d.numbered(rules.references_new(sum(free for _q, free, _b in quotas)))
    where, params = d.ids_in("a.quota_id", [q for q, _f, _b in quotas])
    with connection.cursor() as cur:
        cur.execute(f"""
            /* allocate:book */
            INSERT INTO bookings_booking ({", ".join(BOOKED_COLUMNS)})
            SELECT r.value, x.slot_id, x.quota_id, x.user_id, x.subject, x.subject_label, x.exclusive_key,
                   x.party, 'confirmed', NULL, '', x.id, {d.with_rank("x.meta", "x.rn")}, %s, %s, NULL
              FROM (SELECT a.id, a.slot_id, a.quota_id, a.user_id, a.subject, a.subject_label, a.exclusive_key,
                           a.party, a.meta, f.free, f.base, {_RANKED} AS rn
                      FROM bookings_application a JOIN {f_sql} ON f.qid = a.quota_id
                     WHERE {where} AND a.status = 'pending') x
              JOIN {refs_sql} ON r.n = x.base + x.rn
             WHERE x.rn <= x.free
            RETURNING application_id, quota_id""", [now_db, now_db, *f_params, *params, *refs_params])
        return [(aid, qid) for aid, qid in cur.fetchall()]


def _rank(d: _Dialect, quotas: list[tuple[int, int, int]], now_db) -> int:
    """Give every pending application of these quotas its rank (1 = first, ``rules.RANK_ORDER``): allocated
    within the quota's free seats, unsuccessful beyond. Returns how many were decided."""
    f_sql, f_params = d.quotas(quotas)
    where, params = d.ids_in("a.quota_id", [q for q, _f, _b in quotas])
    with connection.cursor() as cur:
        cur.execute(f"""
            /* allocate:rank */
            UPDATE bookings_application
               SET rank = r.rn,
                   status = CASE WHEN r.rn <= r.free THEN 'allocated' ELSE 'unsuccessful' END,
                   decided_at = %s
              FROM (SELECT a.id AS aid, f.free AS free, {_RANKED} AS rn
                      FROM bookings_application a JOIN {f_sql} ON f.qid = a.quota_id
                     WHERE {where} AND a.status = 'pending') r
             WHERE bookings_application.id = r.aid""", [now_db, *f_params, *params])
        return cur.rowcount


@dataclass
class _Outcome:
    slots: int = 0
    applications: int = 0
    allocated: int = 0


def _allocate_batch(*, slot_ids: list[int], actor: Actor, now: dt.datetime) -> _Outcome:
    """Allocate these slots (those of them still due once locked) in one transaction. A second run at the same
    time waits for the slot locks and then finds them allocated."""
    out = _Outcome()
    with transaction.atomic():
        slots = [s for s in locks.lock_rows(Slot, slot_ids, related=("resource",))
                 if rules.SLOT.allows(s.status, Slot.Status.ALLOCATED) and s.closes_at <= now]
        if not slots:
            return out
        ids = [s.pk for s in slots]
        quotas = locks.lock_rows(Quota.objects.filter(slot_id__in=ids))  # then every quota of them, by id
        d = _Dialect()
        if d.pg:  # the window's sort of a million rows in memory, not in temporary files
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('work_mem', %s, true)", [ALLOCATE_WORK_MEM])
        now_db = connection.ops.adapt_datetimefield_value(now)
        figures = _quota_figures(d, [q.pk for q in quotas]) if quotas else {}
        table, base = [], 0
        for qid in sorted(figures):
            table.append((qid, figures[qid][0], base))
            base += figures[qid][0]
        excluded = _exclude_booked_keys(d, list(figures), now_db) if figures else []
        booked = _book(d, table, now_db) if base else []
        out.applications = (_rank(d, table, now_db) if table else 0) + len(excluded)
        out.allocated, out.slots = len(booked), len(slots)
        Slot.objects.filter(pk__in=ids).update(status=Slot.Status.ALLOCATED, allocated_at=now)
        decided: dict[int, dict[str, list[int]]] = {q.pk: {"allocated": [], "excluded": []} for q in quotas}
        for aid, qid in booked:
            decided[qid]["allocated"].append(aid)
        for aid, qid in excluded:
            decided[qid]["excluded"].append(aid)
        of_slot: dict[int, list[Quota]] = {}
        for q in quotas:
            of_slot.setdefault(q.slot_id, []).append(q)
        changes = []
        for slot in slots:
            details = [{"quota": q.name, "seats": figures[q.pk][0], "applications": figures[q.pk][1],
                        "allocated": len(decided[q.pk]["allocated"]),
                        "allocated_applications": sorted(decided[q.pk]["allocated"]),
                        "excluded_applications": sorted(decided[q.pk]["excluded"])}
                       for q in of_slot.get(slot.pk, [])]
            changes.append(Change(
                action="booking.slot_allocated", object_type=slot._meta.label_lower, object_id=slot.pk,
                old={"status": slot.status},
                new={"status": Slot.Status.ALLOCATED, "applications": sum(x["applications"] for x in details),
                     "allocated": sum(x["allocated"] for x in details), "quotas": details}))
        audit_records(actor=actor, changes=changes)  # one row per slot, in one INSERT
        events_emit(topic="bookings.slot_allocated", payloads=[{  # one event per slot, in one INSERT
            "slot_id": slot.pk, "kind": slot.resource.kind, "resource": slot.resource.code,
            "allocated_at": now.isoformat()} for slot in slots])
    return out


def _allocate_with_retries(*, slot_ids: list[int], actor: Actor, now: dt.datetime) -> _Outcome:
    for attempt in range(3):
        try:
            return _allocate_batch(slot_ids=slot_ids, actor=actor, now=now)
        except IntegrityError:  # a key booked elsewhere (or a reference drawn twice) meanwhile: again
            log.warning("allocation of %s slots hit a duplicate (attempt %s)", len(slot_ids), attempt + 1)
    return _Outcome()


def _in_own_connection(fn, /, **kwargs):
    """Run ``fn`` in a worker thread: its own database connection, closed when done."""
    try:
        return fn(**kwargs)
    finally:
        connections.close_all()  # this thread's connections only


def applications_allocate(*, actor: Actor, now: dt.datetime | None = None, slot_ids: list[int] | None = None,
                          batch_slots: int = ALLOCATE_BATCH_SLOTS, workers: int | None = None) -> AllocationRun:
    """The allocation job: every ranked slot whose window has closed and that is not allocated yet, set-based in
    batches of at most ``batch_slots`` slots, each one transaction (a crash leaves finished batches done and the
    rest for the next run). Running it twice, even at the same time, allocates each slot once. The run is
    recorded when a person started it or when it allocated something (the periodic job does not leave a row
    every five minutes). ``workers`` (default ``settings.JIAOGUAN_ALLOCATION_WORKERS``): batches run at once on
    PostgreSQL when not called inside a transaction."""
    require(actor, "booking.manage")
    now = now or clock.now()
    run = AllocationRun(started_at=clock.now(), actor_label=actor.label[:150])
    qs = selectors.slots_due_for_allocation(now=now)
    if slot_ids is not None:
        qs = qs.filter(pk__in=slot_ids)
    due = list(qs.order_by("starts_at", "id").values_list("pk", flat=True))
    workers = max(1, settings.JIAOGUAN_ALLOCATION_WORKERS if workers is None else workers)
    parallel = workers > 1 and len(due) > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
    size = max(1, min(batch_slots, -(-len(due) // workers) if parallel else batch_slots))
    batches = [due[i:i + size] for i in range(0, len(due), size)]
    if parallel and len(batches) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="allocate") as pool:
            outcomes = list(pool.map(lambda batch: _in_own_connection(
                _allocate_with_retries, slot_ids=batch, actor=actor, now=now), batches))
    else:
        outcomes = [_allocate_with_retries(slot_ids=batch, actor=actor, now=now) for batch in batches]
    for result in outcomes:
        run.slots += result.slots
        run.applications += result.applications
        run.allocated += result.allocated
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
    """Tell every applicant of an allocated slot the result (the outbox handler of ``bookings.slot_allocated``,
    run by a worker after the allocation has committed), ``chunk`` applicants per transaction. Idempotent: an
    application is notified once (``meta.notified``, written with its messages), even by two runs at once —
    each chunk locks its applications and reads them again before it writes."""
    slot = Slot.objects.select_related("resource").get(pk=slot_id)
    what = _what(slot)
    seats = {q.pk: q.capacity for q in slot.quotas.all()}
    sent = after = 0
    User = get_user_model()
    while True:
        ids = list(Application.objects.filter(slot=slot, status__in=(A.ALLOCATED, A.UNSUCCESSFUL), pk__gt=after)
                   .exclude(meta__has_key="notified").order_by("id").values_list("pk", flat=True)[:chunk])
        if not ids:
            return sent
        after = ids[-1]
        with transaction.atomic():
            batch = [a for a in locks.lock_rows(Application, ids) if not (a.meta or {}).get("notified")]
            users = User.objects.in_bulk({a.user_id for a in batch})
            refs = dict(Booking.objects.filter(application__in=batch).values_list("application_id", "reference"))
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
