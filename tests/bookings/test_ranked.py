"""Ranked allocation: live rank, one allocation per slot, results published and notified."""
import datetime as dt

import pytest

from jiaoguan.bookings import selectors, services
from jiaoguan.bookings.models import AllocationRun, Application, Booking, Slot
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, NotFound
from tests.bookings.support import SYS, apply, audits, book, counts, ranked_slot, slot, user

pytestmark = pytest.mark.django_db
A = Application.Status


def test_live_rank_ties_and_allocation(clock):
    clock.freeze(clock.now())
    s = ranked_slot(capacity=2)
    t = clock.now() - dt.timedelta(days=30)
    us = [user() for _ in range(4)]
    a0 = apply(s, us[0], "k0", t + dt.timedelta(days=2))
    a1 = apply(s, us[1], "k1", t)
    a2 = apply(s, us[2], "k2", t)  # a tie with a1: submitted later, ranks after it
    a3 = apply(s, us[3], "k3", t + dt.timedelta(days=1))
    ranks = [selectors.application_rank(application=a) for a in (a0, a1, a2, a3)]
    assert ranks == [4, 1, 2, 3]
    assert ranks == [selectors.application_rank_check(application=a) for a in (a0, a1, a2, a3)]
    services.application_withdraw(application_id=a1.pk, user=us[1], actor=SYS)
    assert selectors.application_rank(application=a2) == 1
    assert selectors.application_rank(application=Application.objects.get(pk=a1.pk)) is None
    with pytest.raises(Conflict):  # one pending application per key; a withdrawn one frees it
        apply(s, us[2], "k2", t)
    apply(s, us[1], "k1", t + dt.timedelta(days=3))
    # not before the window closes
    assert services.applications_allocate(actor=SYS).allocated == 0
    assert Slot.objects.get(pk=s.pk).status == Slot.Status.OPEN
    clock.advance(dt.timedelta(days=7))
    assert services.slots_close() == 1
    run = services.applications_allocate(actor=SYS)
    assert (run.slots, run.applications, run.allocated) == (1, 4, 2)
    s.refresh_from_db()
    assert s.status == Slot.Status.ALLOCATED and s.allocated_at == clock.now()
    by_key = {a.exclusive_key: a for a in Application.objects.filter(slot=s, status__in=(A.ALLOCATED, A.UNSUCCESSFUL))}
    assert {k: (a.status, a.rank) for k, a in by_key.items()} == {
        "k2": (A.ALLOCATED, 1), "k3": (A.ALLOCATED, 2), "k0": (A.UNSUCCESSFUL, 3), "k1": (A.UNSUCCESSFUL, 4)}
    assert by_key["k2"].booking.status == Booking.Status.CONFIRMED
    assert by_key["k2"].booking.meta["rank"] == 1
    # a second run finds nothing to do
    again = services.applications_allocate(actor=SYS)
    assert (again.slots, again.allocated) == (0, 0)
    assert Booking.objects.filter(slot=s).count() == 2
    assert len(audits(s, "booking.slot_allocated")) == 1


def test_results_are_notified_once_through_the_outbox(clock):
    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.notifications.models import Message

    clock.freeze(clock.now())
    s = ranked_slot(capacity=1)
    us = [user() for _ in range(3)]
    for i, u in enumerate(us):
        apply(s, u, f"k{i}", clock.now() - dt.timedelta(days=i))
    clock.advance(dt.timedelta(days=7, seconds=1))
    services.applications_allocate(actor=SYS)
    event = OutboxEvent.objects.get(topic="bookings.slot_allocated")
    assert event.payload["slot_id"] == s.pk
    from jiaoguan.core.outbox import event_deliver

    event_deliver(event.pk)  # (already delivered eagerly on commit, or now)
    inbox = Message.objects.filter(channel="inbox", template_code__in=("booking.allocated", "booking.unsuccessful"))
    assert sorted(inbox.values_list("template_code", flat=True)) == [
        "booking.allocated", "booking.unsuccessful", "booking.unsuccessful"]
    assert services.slot_allocation_notify(slot_id=s.pk) == 0


def test_allocated_booking_cancelled_frees_the_key_and_the_window_rules(clock):
    clock.freeze(clock.now())
    s = ranked_slot(capacity=1)
    u = user()
    a = apply(s, u, "permit:1:2", clock.now())
    clock.advance(dt.timedelta(days=7, seconds=1))
    before = counts()
    with pytest.raises(Conflict) as e:  # after the window closes a pending application cannot be withdrawn
        services.application_withdraw(application_id=a.pk, user=u, actor=SYS)
    assert e.value.code == "bookings.window_closed" and counts() == before
    with pytest.raises(Conflict) as e:  # nor can one apply
        apply(s, user(), "late", clock.now())
    assert e.value.code == "bookings.window_closed"
    services.applications_allocate(actor=SYS)
    a.refresh_from_db()
    assert selectors.live_application_for_key(exclusive_key="permit:1:2").pk == a.pk
    services.booking_cancel(booking_id=a.booking.pk, user=u, actor=SYS)
    assert selectors.live_application_for_key(exclusive_key="permit:1:2") is None
    s2 = ranked_slot(capacity=1, res=s.resource)
    assert apply(s2, u, "permit:1:2", clock.now()).status == A.PENDING  # the same subject may apply again
    assert selectors.last_cancel_or_no_show(subject="s:permit:1:2") == clock.now()


def test_application_key_booked_elsewhere_is_skipped_and_the_seat_goes_on(clock):
    clock.freeze(clock.now())
    s = ranked_slot(capacity=1)
    u1, u2 = user(), user()
    a1 = apply(s, u1, "K", clock.now() - dt.timedelta(days=9))
    a2 = apply(s, u2, "K2", clock.now())
    # K gets a live booking elsewhere meanwhile (bypassing the check, as a race would)
    other = slot(capacity=1)
    Booking.objects.create(reference="YYRACE00001", slot=other, quota=other.quotas.get(), user=u1, subject="x",
                           exclusive_key="K", party="p", status="confirmed", created_at=clock.now())
    clock.advance(dt.timedelta(days=7, seconds=1))
    run = services.applications_allocate(actor=SYS)
    a1.refresh_from_db()
    a2.refresh_from_db()
    assert run.allocated == 1 and a1.status == A.UNSUCCESSFUL and a2.status == A.ALLOCATED and a2.rank == 1


def test_duplicate_and_permission_and_foreign_ids(clock):
    s = ranked_slot(capacity=1)
    u, other = user(), user()
    a = apply(s, u, "K", clock.now())
    with pytest.raises(Conflict) as e:
        apply(s, other, "K", clock.now())
    assert e.value.code == "bookings.duplicate"
    before = counts()
    with pytest.raises(NotFound):
        services.application_withdraw(application_id=a.pk, user=other, actor=SYS)
    assert counts() == before
    with pytest.raises(Forbidden):
        services.applications_allocate(actor=Actor(id=None, label="c", role="clerk"))
    assert AllocationRun.objects.count() == 0


def test_quotas_allocated_separately(clock):
    clock.freeze(clock.now())
    s = ranked_slot(quotas=[services.QuotaSpec("public", 1), services.QuotaSpec("merchant", 2, "商户", "Merchants")])
    for i in range(3):
        apply(s, user(), f"p{i}", clock.now() - dt.timedelta(days=i), quota="public")
        apply(s, user(), f"m{i}", clock.now() - dt.timedelta(days=i), quota="merchant")
    clock.advance(dt.timedelta(days=7, seconds=1))
    run = services.applications_allocate(actor=SYS)
    assert run.allocated == 3
    assert set(Booking.objects.filter(slot=s).values_list("exclusive_key", flat=True)) == {"p2", "m2", "m1"}


def test_staff_run_is_recorded_even_when_idle_and_system_runs_only_when_busy():
    assert services.applications_allocate(actor=SYS).pk is None
    staff = Actor(id=None, label="approver 1", role="approver")
    run = services.applications_allocate(actor=staff)
    assert run.pk and run.slots == 0 and selectors.allocation_runs()[0].pk == run.pk


def test_book_waitlist_on_ranked_slot_refused(clock):
    s = ranked_slot()
    with pytest.raises(Conflict):
        book(s, user(), "x")
