"""Concurrency on PostgreSQL with real parallel connections: never oversold, each hold ends once, each slot
allocated once, one penalty per threshold.

The server allows 100 connections (shared with the rest of the suite), so the rush of 200 runs 200 threads
released together through at most ``POOL`` connections at a time, as a connection pool (pgbouncer) would."""
import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from jiaoguan.bookings import services
from jiaoguan.bookings.models import Application, Booking, Penalty, WaitlistEntry
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from tests.bookings.support import SYS, apply, book, join, ranked_slot, slot, user
from tests.concurrency import in_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
POOL = 40
LIVE = ("held", "confirmed", "attended")


def in_threads_pooled(n: int, fn, pool: int = POOL) -> list:
    return in_threads(n, fn, pool=pool)


def test_200_concurrent_bookings_for_the_last_10_seats():
    s = slot(capacity=50)
    for i in range(40):
        book(s, user(), f"early{i}", confirm=True)
    rush = [user() for _ in range(200)]
    results = in_threads_pooled(200, lambda i: book(s, rush[i], f"rush{i}").pk)
    booked = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(booked) == 10, [r for r in results if not isinstance(r, (int, Conflict))][:3]
    assert len(refused) == 190 and {r.code for r in refused} == {"bookings.full"}
    assert Booking.objects.filter(slot=s, status__in=LIVE).count() == 50
    assert AuditEntry.objects.filter(action="booking.hold").count() == 10


def test_same_key_on_two_slots_at_once_is_one_booking():
    s1, s2 = slot(capacity=5), slot(capacity=5)
    users = [user() for _ in range(8)]
    results = in_threads(8, lambda i: book(s1 if i % 2 else s2, users[i], "粤B12345:2026-10-01").pk)
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, int) or (isinstance(r, Conflict) and r.code == "bookings.duplicate") for r in results)
    assert Booking.objects.filter(exclusive_key="粤B12345:2026-10-01").count() == 1


def test_sweeps_and_confirms_racing_end_each_hold_once():
    t0 = clock.now()
    clock.freeze(t0)
    s = slot(capacity=10, offer=30)
    holders = [user() for _ in range(10)]
    held = [book(s, holders[i], f"h{i}") for i in range(10)]
    clock.advance(dt.timedelta(seconds=1))
    # make it full with the holds, then 10 people wait
    waiting = [user() for _ in range(10)]
    entries = []
    for i in range(10):
        entries.append(join(s, waiting[i], f"w{i}"))
        clock.advance(dt.timedelta(milliseconds=10))
    clock.freeze(t0 + dt.timedelta(minutes=5))  # confirmations still in time...
    late = t0 + dt.timedelta(minutes=11)  # ...while the sweeps think the holds have run out

    def work(i):
        if i < 3:
            return ("sweep", services.holds_expire(now=late))
        b = held[i - 3] if i - 3 < 10 else None
        return ("confirm", services.booking_confirm(booking_id=b.pk, user=b.user, actor=SYS).status)

    results = in_threads(13, work)
    confirmed = sum(1 for r in results if isinstance(r, tuple) and r[0] == "confirm")
    expired_by_sweeps = sum(r[1] for r in results if isinstance(r, tuple) and r[0] == "sweep")
    assert all(isinstance(r, tuple) or (isinstance(r, Conflict) and r.code == "bookings.hold_expired")
               for r in results), results
    assert confirmed + expired_by_sweeps == 10
    for b in held:
        b.refresh_from_db()
        assert b.status in ("confirmed", "expired")
        ends = AuditEntry.objects.filter(object_type="bookings.booking", object_id=str(b.pk),
                                         action__in=("booking.confirm", "booking.expire"))
        assert ends.count() == 1, b.pk
    offers = WaitlistEntry.objects.filter(slot=s, status="offered")
    assert offers.count() == expired_by_sweeps  # one offer per freed seat, to the first in line
    assert list(offers.order_by("created_at").values_list("pk", flat=True)) == [
        e.pk for e in entries[:expired_by_sweeps]]
    for e in offers:
        assert AuditEntry.objects.filter(object_type="bookings.waitlistentry", object_id=str(e.pk),
                                         action="booking.waitlist_offer").count() == 1
    assert Booking.objects.filter(slot=s, status__in=LIVE).count() == 10


def test_cancels_offers_and_newcomers_never_exceed_capacity():
    s = slot(capacity=5)
    seats = [book(s, user(), f"s{i}", confirm=True) for i in range(5)]
    waiting = [join(s, user(), f"w{i}") for i in range(8)]
    newcomers = [user() for _ in range(10)]

    def work(i):
        if i < 5:
            b = seats[i]
            return services.booking_cancel(booking_id=b.pk, user=b.user, actor=SYS).status
        if i < 15:
            return book(s, newcomers[i - 5], f"n{i}").status
        return services.holds_expire()

    results = in_threads(17, work)
    assert results[:5] == ["cancelled"] * 5
    assert all(isinstance(r, Conflict) and r.code == "bookings.full" for r in results[5:15]), results
    assert Booking.objects.filter(slot=s, status__in=LIVE).count() == 5
    offered = WaitlistEntry.objects.filter(slot=s, status="offered")
    assert sorted(offered.values_list("pk", flat=True)) == sorted(e.pk for e in waiting[:5])
    assert Booking.objects.filter(slot=s, status="held").count() == 5


def test_allocation_run_twice_at_once_allocates_once():
    clock.freeze(clock.now())
    s = ranked_slot(capacity=5)
    for i in range(20):
        apply(s, user(), f"a{i}", clock.now() - dt.timedelta(hours=i % 7))
    clock.advance(dt.timedelta(days=7, seconds=1))
    staff = Actor(id=None, label="approver", role="approver")
    runs = in_threads(3, lambda i: services.applications_allocate(actor=staff))
    assert all(not isinstance(r, Exception) for r in runs), runs
    assert sum(r.allocated for r in runs) == 5 and sum(r.slots for r in runs) == 1
    assert Booking.objects.filter(slot=s).count() == 5
    assert Application.objects.filter(slot=s, status="allocated").count() == 5
    assert AuditEntry.objects.filter(action="booking.slot_allocated").count() == 1


def test_concurrent_cancellations_of_one_party_make_one_penalty():
    services.penalty_rules_seed()
    slots = [slot(capacity=3, kind="eastern", period_key="2026-nd") for _ in range(6)]
    bookings = [book(s, user(), f"p{i}", party="粤B77777", confirm=True) for i, s in enumerate(slots)]
    results = in_threads(6, lambda i: services.booking_cancel(booking_id=bookings[i].pk, user=bookings[i].user,
                                                              actor=SYS).status)
    assert results == ["cancelled"] * 6
    assert Penalty.objects.filter(party="粤B77777").count() == 1
    assert AuditEntry.objects.filter(action="booking.penalty").count() == 1


def test_offer_gives_way_to_an_uncommitted_booking_of_the_same_key():
    """Transaction R has inserted a booking with key K (not committed); a cancellation offers the freed seat to a
    waiting entry with the same key K, so its insert waits for R. With OFFER_LOCK_TIMEOUT the offer gives way, the
    cancellation commits, R commits, and the entry keeps waiting. (Before issue 12, R then waited for the audit
    chain's head held by the cancellation, a deadlock; appends take no lock now, but an offer must still never
    hold a cancellation up for as long as another transaction runs.)"""
    full = slot(capacity=1)
    other = slot(capacity=5)
    holder, waiter = user(), user()
    seat = book(full, holder, "holder-key", confirm=True)
    entry = join(full, waiter, "waiter-key")
    other_quota = other.quotas.get()
    inserted = threading.Event()
    outcome: dict = {}

    def racer():
        try:
            with transaction.atomic():
                now = clock.now()
                Booking.objects.create(reference="RACER00001", slot=other, quota=other_quota, user=waiter,
                                       subject="s:waiter-key", exclusive_key="waiter-key", party="p",
                                       status="confirmed", created_at=now, confirmed_at=now)
                inserted.set()
                time.sleep(0.3)  # the cancellation runs meanwhile and its offer meets this uncommitted key
            outcome["racer"] = "committed"
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["racer"] = exc
        finally:
            connection.close()

    t = threading.Thread(target=racer)
    t.start()
    assert inserted.wait(10)
    try:
        cancelled = services.booking_cancel(booking_id=seat.pk, user=holder, actor=SYS)
    finally:
        t.join()
    assert cancelled.status == "cancelled"
    assert outcome["racer"] == "committed"
    entry.refresh_from_db()
    assert entry.status == "waiting" and entry.booking_id is None
    assert Booking.objects.filter(exclusive_key="waiter-key", status__in=LIVE).count() == 1


def test_confirmation_waits_for_the_quota_not_for_the_audit_head():
    """The deadlock of the hold-expiry sweep and a confirmation, step by step (not by chance): the sweep holds
    the quota and, having audited one expired hold, the audit head; then it ends the next hold. A confirmation
    that updated that hold's row first and then waited for the audit head made PostgreSQL abort one of the two
    ("deadlock detected", a 500). Now a confirmation takes the quota first, as every writer of its bookings: it
    waits there, the sweep ends the hold and commits, and the confirmation finds the hold expired (a 409)."""
    s = slot(capacity=2)
    holder = user()
    b = book(s, holder, "confirm-me")
    started = threading.Event()
    outcome: dict = {}

    def confirm():
        started.set()
        try:
            outcome["confirm"] = services.booking_confirm(booking_id=b.pk, user=holder, actor=SYS).status
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["confirm"] = exc
        finally:
            connection.close()

    t = threading.Thread(target=confirm)
    sweep_error = None
    try:
        with transaction.atomic():  # what holds_expire does, one step at a time
            services.quotas_lock(slot_ids=[s.pk])
            audit_record(actor=SYS, action="booking.expire", object_type="bookings.booking", object_id="other")
            t.start()
            assert started.wait(10)
            time.sleep(0.5)  # the confirmation runs up to its first wait meanwhile
            assert Booking.objects.filter(pk=b.pk, status="held").update(status="expired") == 1
    except Exception as exc:  # noqa: BLE001 - a deadlock aborts one of the two
        sweep_error = exc
    finally:
        t.join(30)
    assert sweep_error is None, sweep_error
    assert isinstance(outcome["confirm"], Conflict) and outcome["confirm"].code == "bookings.hold_expired", outcome
    b.refresh_from_db()
    assert b.status == "expired"
