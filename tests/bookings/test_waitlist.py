"""The waiting list: freed seats are offered for a limited time, in order, and pass on when an offer lapses."""
import datetime as dt

import pytest

from jiaoguan.bookings import services
from jiaoguan.bookings.models import Booking, Penalty, WaitlistEntry
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, NotFound
from tests.bookings.support import SYS, audits, book, join, ranked_slot, slot, user

pytestmark = pytest.mark.django_db
B = Booking.Status
W = WaitlistEntry.Status


def _full(capacity=1, **kw):
    s = slot(capacity=capacity, offer=30, **kw)
    seats = [book(s, user(), f"seat{i}", confirm=True) for i in range(capacity)]
    return s, seats


def test_join_only_when_full_and_once():
    s = slot(capacity=1)
    with pytest.raises(Conflict) as e:
        join(s, user(), "w1")
    assert e.value.code == "bookings.not_full"
    book(s, user(), "a")
    u = user()
    join(s, u, "w1")
    with pytest.raises(Conflict) as e:
        join(s, u, "w1")
    assert e.value.code == "bookings.waitlist_duplicate"


def test_cancel_offers_the_seat_in_order_and_it_passes_on(clock):
    clock.freeze(clock.now())
    s, (seat,) = _full()
    w1u, w2u = user(), user()
    e1 = join(s, w1u, "w1")
    clock.advance(dt.timedelta(seconds=1))
    e2 = join(s, w2u, "w2")
    services.booking_cancel(booking_id=seat.pk, user=seat.user, actor=SYS)
    e1.refresh_from_db()
    e2.refresh_from_db()
    assert e1.status == W.OFFERED and e2.status == W.WAITING
    offer = e1.booking
    assert offer.status == B.HELD and offer.hold_expires_at == clock.now() + dt.timedelta(minutes=30)
    assert len(audits(offer, "booking.waitlist_offer")) == 1 and len(audits(e1, "booking.waitlist_offer")) == 1
    # a newcomer cannot jump the queue
    with pytest.raises(Conflict):
        book(s, user(), "newcomer")
    # the offer lapses: the seat passes to the next, once
    clock.advance(dt.timedelta(minutes=30))
    assert services.holds_expire() == 1
    assert services.holds_expire() == 0
    e1.refresh_from_db()
    e2.refresh_from_db()
    offer.refresh_from_db()
    assert offer.status == B.EXPIRED and e1.status == W.LAPSED and e2.status == W.OFFERED
    assert len(audits(e1, "booking.waitlist_lapse")) == 1
    # the second accepts
    services.booking_confirm(booking_id=e2.booking_id, user=w2u, actor=SYS)
    e2.refresh_from_db()
    assert e2.status == W.ACCEPTED and e2.booking.status == B.CONFIRMED
    assert Booking.objects.filter(slot=s, status__in=("held", "confirmed")).count() == 1


def test_seats_freed_by_a_stale_hold_go_to_the_waiting_list_first(clock):
    clock.freeze(clock.now())
    s = slot(capacity=1)
    held = book(s, user(), "a")
    wu = user()
    e = join(s, wu, "w")
    clock.advance(dt.timedelta(minutes=11))  # the hold ran out; the sweep has not run
    with pytest.raises(Conflict) as err:  # the newcomer finds the seat offered to the waiting entry
        book(s, user(), "newcomer")
    assert err.value.code == "bookings.full"
    services.holds_expire()
    e.refresh_from_db()
    held.refresh_from_db()
    assert held.status == B.EXPIRED and e.status == W.OFFERED


def test_release_and_withdraw_pass_the_offer_on(clock):
    clock.freeze(clock.now())
    s, (seat,) = _full()
    us = [user() for _ in range(3)]
    entries = []
    for i, u in enumerate(us):
        entries.append(join(s, u, f"w{i}"))
        clock.advance(dt.timedelta(seconds=1))
    services.booking_cancel(booking_id=seat.pk, user=seat.user, actor=SYS)
    entries[0].refresh_from_db()
    services.booking_release(booking_id=entries[0].booking_id, user=us[0], actor=SYS)
    entries[1].refresh_from_db()
    assert entries[1].status == W.OFFERED
    services.waitlist_withdraw(entry_id=entries[1].pk, user=us[1], actor=SYS)  # letting an offer go
    for e in entries:
        e.refresh_from_db()
    assert [e.status for e in entries] == [W.LAPSED, W.WITHDRAWN, W.OFFERED]
    assert Booking.objects.get(pk=entries[1].booking_id).status == B.RELEASED
    with pytest.raises(Conflict):
        services.waitlist_withdraw(entry_id=entries[1].pk, user=us[1], actor=SYS)
    with pytest.raises(NotFound):
        services.waitlist_withdraw(entry_id=entries[2].pk, user=us[0], actor=SYS)
    assert Booking.objects.filter(slot=s, status__in=("held", "confirmed")).count() == 1


def test_entry_booked_elsewhere_or_banned_lapses():
    s, (seat,) = _full()
    other = slot(capacity=1, res=s.resource)
    u1, u2, u3 = user(), user(), user()
    e1 = join(s, u1, "w1")
    e2 = join(s, u2, "w2", party="banned")
    e3 = join(s, u3, "w3")
    book(other, u1, "w1", confirm=True)  # w1 got a seat elsewhere
    now = clock.now()
    Penalty.objects.create(party="banned", kind=s.resource.kind, reason_zh="测试", reason_en="test", starts_at=now,
                           ends_at=now + dt.timedelta(days=1), created_at=now)
    services.booking_cancel(booking_id=seat.pk, user=seat.user, actor=SYS)
    for e in (e1, e2, e3):
        e.refresh_from_db()
    assert (e1.status, e2.status, e3.status) == (W.LAPSED, W.LAPSED, W.OFFERED)


def test_more_capacity_goes_to_the_waiting_list():
    s, _ = _full()
    e = join(s, user(), "w")
    services.quota_set_capacity(slot_id=s.pk, quota="public", capacity=2, actor=SYS)
    e.refresh_from_db()
    assert e.status == W.OFFERED


def test_staff_cancel_of_an_offered_hold_lapses_the_entry():
    from jiaoguan.core.audit import Actor

    s, (seat,) = _full()
    wu = user()
    e = join(s, wu, "w")
    services.booking_cancel(booking_id=seat.pk, user=seat.user, actor=SYS)
    e.refresh_from_db()
    services.booking_cancel(booking_id=e.booking_id, actor=Actor(id=None, label="c", role="clerk"), reason="误操作")
    e.refresh_from_db()
    assert e.status == W.LAPSED
    assert book(s, wu, "w").status == B.HELD  # the key is free again; the seat too


def test_ranked_waitlist_after_allocation(clock):
    clock.freeze(clock.now())
    s = ranked_slot(capacity=2)
    from tests.bookings.support import apply

    u1 = user()
    apply(s, u1, "a1", clock.now())
    with pytest.raises(Conflict) as e:
        join(s, user(), "w0")
    assert e.value.code == "bookings.ranked_pending"
    clock.advance(dt.timedelta(days=7, minutes=1))
    services.applications_allocate(actor=SYS)
    # one seat left after the allocation: joining the list offers it at once
    e = join(s, user(), "w1")
    assert e.status == W.OFFERED
    e2 = join(s, user(), "w2")
    assert e2.status == W.WAITING
