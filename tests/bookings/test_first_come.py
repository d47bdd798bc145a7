"""First come: hold, confirm, release, expiry, cancellation deadlines, attendance; bad input writes nothing."""
import datetime as dt

import pytest

from jiaoguan.bookings import selectors, services
from jiaoguan.bookings.models import Booking, Resource, Slot
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.bookings.support import SYS, audits, book, counts, ranked_slot, resource, slot, user

pytestmark = pytest.mark.django_db
B = Booking.Status
CLERK = Actor(id=None, label="clerk", role="clerk")
CITIZEN = Actor(id=None, label="citizen", role="citizen")


def test_hold_confirm_and_every_transition_audited():
    s = slot(capacity=1)
    u = user()
    b = book(s, u, "k1")
    assert b.status == B.HELD and b.hold_expires_at == b.created_at + dt.timedelta(minutes=10)
    assert [a.action for a in audits(b)] == ["booking.hold"]
    b = services.booking_confirm(booking_id=b.pk, user=u, actor=SYS)
    assert b.status == B.CONFIRMED and b.hold_expires_at is None
    again = services.booking_confirm(booking_id=b.pk, user=u, actor=SYS)  # a double click: the same booking
    assert again.status == B.CONFIRMED
    confirm = audits(b, "booking.confirm")
    assert len(confirm) == 1 and confirm[0].old["status"] == "held" and confirm[0].new["status"] == "confirmed"


def test_full_slot_and_one_live_booking_per_key():
    s = slot(capacity=2)
    u1, u2, u3 = user(), user(), user()
    book(s, u1, "k1")
    with pytest.raises(Conflict) as e:
        book(s, u1, "k1")
    assert e.value.code == "bookings.duplicate"
    book(s, u2, "k2")
    before = counts()
    with pytest.raises(Conflict) as e:
        book(s, u3, "k3")
    assert e.value.code == "bookings.full" and counts() == before


def test_quotas_are_separate():
    s = slot(quotas=[services.QuotaSpec("public", 1), services.QuotaSpec("merchant", 1, "商户", "Merchants")])
    book(s, user(), "a", quota="public")
    book(s, user(), "b", quota="merchant")
    with pytest.raises(Conflict):
        book(s, user(), "c", quota="merchant")
    avail = {q.name: (q.capacity, q.taken, q.free) for q in selectors.slot_availability(slot=s)}
    assert avail == {"public": (1, 1, 0), "merchant": (1, 1, 0)}
    with pytest.raises(NotFound):
        book(s, user(), "d", quota="vip")


def test_release_frees_the_seat():
    s = slot(capacity=1)
    u = user()
    b = book(s, u, "k1")
    services.booking_release(booking_id=b.pk, user=u, actor=SYS)
    b.refresh_from_db()
    assert b.status == B.RELEASED and b.ended_at
    book(s, user(), "k2")
    with pytest.raises(Conflict):
        services.booking_release(booking_id=b.pk, user=u, actor=SYS)


def test_hold_expires_exactly_once(clock):
    clock.freeze(clock.now())
    s = slot(capacity=1)
    u = user()
    b = book(s, u, "k1")
    clock.advance(dt.timedelta(minutes=9, seconds=59))
    assert services.holds_expire() == 0
    clock.advance(dt.timedelta(seconds=1))
    assert services.holds_expire() == 1
    assert services.holds_expire() == 0
    b.refresh_from_db()
    assert b.status == B.EXPIRED and len(audits(b, "booking.expire")) == 1
    with pytest.raises(Conflict) as e:
        services.booking_confirm(booking_id=b.pk, user=u, actor=SYS)
    assert e.value.code == "bookings.hold_expired"


def test_confirm_after_the_hold_ran_out_but_before_the_sweep(clock):
    clock.freeze(clock.now())
    s = slot(capacity=1)
    u = user()
    b = book(s, u, "k1")
    clock.advance(dt.timedelta(minutes=11))
    with pytest.raises(Conflict) as e:
        services.booking_confirm(booking_id=b.pk, user=u, actor=SYS)
    assert e.value.code == "bookings.hold_expired"
    # a newcomer takes the seat: the stale hold is expired under the lock first
    b2 = book(s, user(), "k2")
    b.refresh_from_db()
    assert b.status == B.EXPIRED and b2.status == B.HELD


def test_hold_never_outlasts_the_start(clock):
    clock.freeze(clock.now())
    s = slot(capacity=1, starts_in=dt.timedelta(minutes=5))
    b = book(s, user(), "k1")
    assert b.hold_expires_at == s.starts_at


def test_confirm_at_once():
    s = slot(capacity=1)
    b = book(s, user(), "k1", confirm=True)
    assert b.status == B.CONFIRMED and b.confirmed_at and [a.action for a in audits(b)] == ["booking.confirm"]


def test_someone_elses_booking_is_not_found_and_nothing_written():
    s = slot(capacity=1)
    owner, other = user(), user()
    b = book(s, owner, "k1")
    before = counts()
    for call in (services.booking_confirm, services.booking_release, services.booking_cancel):
        with pytest.raises(NotFound):
            call(booking_id=b.pk, user=other, actor=SYS)
    with pytest.raises(NotFound):
        services.booking_confirm(booking_id=999999, user=owner, actor=SYS)
    b.refresh_from_db()
    assert b.status == B.HELD and counts() == before


def test_bad_input_writes_nothing(clock):
    clock.freeze(clock.now())
    u = user()
    past = slot(capacity=5, starts_in=dt.timedelta(hours=1))
    ranked = ranked_slot()
    soon = slot(capacity=5)
    later = services.slot_create(resource=soon.resource, starts_at=clock.now() + dt.timedelta(days=9),
                                 ends_at=clock.now() + dt.timedelta(days=9, hours=1),
                                 opens_at=clock.now() + dt.timedelta(days=2),
                                 quotas=[services.QuotaSpec("public", 5)], actor=SYS)
    clock.advance(dt.timedelta(hours=2))
    before = counts()
    with pytest.raises(InvalidInput) as e:  # a slot in the past: 422 with the field
        book(past, u, "a")
    assert e.value.code == "bookings.slot_past" and e.value.field == "slot"
    with pytest.raises(Conflict) as e:  # a ranked slot booked first come
        book(ranked, u, "b")
    assert e.value.code == "bookings.ranked_only"
    with pytest.raises(Conflict) as e:  # a window not yet open
        book(later, u, "c")
    assert e.value.code == "bookings.window_not_open"
    with pytest.raises(Conflict) as e:  # a first-come slot applied for by rank
        services.application_submit(slot_id=soon.pk, user=u, subject="x", exclusive_key="d", party="p",
                                    sort_time=clock.now(), actor=SYS)
    assert e.value.code == "bookings.first_come_only"
    with pytest.raises(NotFound):
        services.seat_book(slot_id=987654, user=u, subject="x", exclusive_key="e", party="p", actor=SYS)
    assert counts() == before


def test_closed_window_and_cancelled_slot(clock):
    clock.freeze(clock.now())
    res = resource()
    starts = clock.now() + dt.timedelta(days=3)
    s = services.slot_create(resource=res, starts_at=starts, ends_at=starts + dt.timedelta(hours=1),
                             closes_at=starts - dt.timedelta(days=1), quotas=[services.QuotaSpec("public", 3)],
                             actor=SYS)
    clock.advance(dt.timedelta(days=2, minutes=1))
    before = counts()
    with pytest.raises(Conflict) as e:
        book(s, user(), "a")
    assert e.value.code == "bookings.window_closed" and counts() == before
    s2 = slot(capacity=3, res=res)
    services.slot_cancel(slot_id=s2.pk, actor=SYS, reason="场地维修")
    with pytest.raises(Conflict) as e:
        book(s2, user(), "b")
    assert e.value.code == "bookings.slot_unavailable"


def test_cancel_deadline(clock):
    clock.freeze(clock.now())
    s = slot(capacity=2, cancel_before=dt.timedelta(days=1))
    u = user()
    b = book(s, u, "k1", confirm=True)
    held = book(s, user(), "k2")
    with pytest.raises(Conflict) as e:  # a held seat is released, not cancelled
        services.booking_cancel(booking_id=held.pk, user=held.user, actor=SYS)
    assert e.value.code == "bookings.not_confirmed"
    clock.advance(dt.timedelta(days=1))  # exactly the deadline: too late
    before = counts()
    with pytest.raises(Conflict) as e:
        services.booking_cancel(booking_id=b.pk, user=u, actor=SYS)
    assert e.value.code == "bookings.cancel_closed" and counts() == before
    # staff may still cancel, with a reason, and it is marked as theirs
    with pytest.raises(InvalidInput):
        services.booking_cancel(booking_id=b.pk, actor=CLERK, reason=" ")
    with pytest.raises(Forbidden):
        services.booking_cancel(booking_id=b.pk, actor=CITIZEN, reason="x")
    b = services.booking_cancel(booking_id=b.pk, actor=CLERK, reason="考场调整")
    assert b.status == B.CANCELLED and b.cancelled_by == "staff"
    entry = audits(b, "booking.cancel")[0]
    assert entry.reason == "考场调整" and entry.actor_role == "clerk"


def test_citizen_cancel_before_deadline():
    s = slot(capacity=1)
    u = user()
    b = book(s, u, "k1", confirm=True)
    b = services.booking_cancel(booking_id=b.pk, user=u, actor=SYS)
    assert b.status == B.CANCELLED and b.cancelled_by == "citizen"
    with pytest.raises(Conflict):
        services.booking_cancel(booking_id=b.pk, user=u, actor=SYS)
    book(s, user(), "k2")  # the seat is free again
    s2 = slot(capacity=1, res=s.resource)
    assert book(s2, u, "k1").status == B.HELD  # and the key may be booked again


def test_attendance(clock):
    clock.freeze(clock.now())
    s = slot(capacity=3, starts_in=dt.timedelta(hours=2))
    b1 = book(s, user(), "a", confirm=True)
    b2 = book(s, user(), "b", confirm=True)
    held = book(s, user(), "c")
    with pytest.raises(Conflict) as e:
        services.booking_mark(booking_id=b1.pk, attended=True, actor=CLERK)
    assert e.value.code == "bookings.not_started"
    clock.advance(dt.timedelta(hours=2))
    with pytest.raises(Forbidden):
        services.booking_mark(booking_id=b1.pk, attended=True, actor=CITIZEN)
    assert services.booking_mark(booking_id=b1.pk, attended=True, actor=CLERK).status == B.ATTENDED
    assert services.booking_mark(booking_id=b2.pk, attended=False, actor=CLERK).status == B.NO_SHOW
    for bid in (b1.pk, b2.pk, held.pk):
        with pytest.raises(Conflict):
            services.booking_mark(booking_id=bid, attended=True, actor=CLERK)
    with pytest.raises(NotFound):
        services.booking_mark(booking_id=424242, attended=True, actor=CLERK)
    assert len(audits(b2, "booking.no_show")) == 1


def test_capacity_changes(clock):
    s = slot(capacity=2)
    book(s, user(), "a")
    book(s, user(), "b")
    with pytest.raises(Conflict) as e:
        services.quota_set_capacity(slot_id=s.pk, quota="public", capacity=1, actor=SYS)
    assert e.value.code == "bookings.capacity_below_taken"
    with pytest.raises(InvalidInput):
        services.quota_set_capacity(slot_id=s.pk, quota="public", capacity=-1, actor=SYS)
    with pytest.raises(Forbidden):
        services.quota_set_capacity(slot_id=s.pk, quota="public", capacity=5, actor=CLERK)
    services.quota_set_capacity(slot_id=s.pk, quota="public", capacity=3, actor=SYS)
    book(s, user(), "c")


def test_staff_setup_validation(clock):
    clock.freeze(clock.now())
    res = resource()
    with pytest.raises(Conflict) as e:
        services.resource_create(kind="counter", code=res.code, name_zh="x", name_en="x", actor=SYS)
    assert e.value.code == "bookings.code_taken"
    with pytest.raises(InvalidInput):
        services.resource_create(kind="zoo", code="z", name_zh="x", name_en="x", actor=SYS)
    with pytest.raises(Forbidden):
        services.resource_create(kind="counter", code="z", name_zh="x", name_en="x", actor=CLERK)
    now = clock.now()
    with pytest.raises(InvalidInput) as e:
        services.slot_create(resource=res, starts_at=now - dt.timedelta(hours=1), ends_at=now,
                             quotas=[services.QuotaSpec("public", 1)], actor=SYS)
    assert "starts_at" in e.value.fields
    ranked = resource(policy=Resource.Policy.RANKED)
    with pytest.raises(InvalidInput) as e:
        services.slot_create(resource=ranked, starts_at=now + dt.timedelta(days=2),
                             ends_at=now + dt.timedelta(days=2, hours=1), quotas=[services.QuotaSpec("public", 1)],
                             actor=SYS)
    assert "closes_at" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        services.slot_create(resource=res, starts_at=now + dt.timedelta(days=2),
                             ends_at=now + dt.timedelta(days=2, hours=1),
                             quotas=[services.QuotaSpec("a", 1), services.QuotaSpec("a", 2)], actor=SYS)
    assert "quotas" in e.value.fields
    assert Slot.objects.filter(resource=res).count() == 0


def test_slot_cancel_cancels_everything_without_penalty():
    s = slot(capacity=2, kind="eastern", period_key="2026-nd")
    u1, u2, u3 = user(), user(), user()
    b1 = book(s, u1, "a", party="P", confirm=True)
    b2 = book(s, u2, "b")
    from tests.bookings.support import join

    e = join(s, u3, "c")
    with pytest.raises(InvalidInput):
        services.slot_cancel(slot_id=s.pk, actor=SYS, reason="")
    with pytest.raises(Forbidden):
        services.slot_cancel(slot_id=s.pk, actor=CLERK, reason="台风")
    services.slot_cancel(slot_id=s.pk, actor=SYS, reason="台风")
    services.slot_cancel(slot_id=s.pk, actor=SYS, reason="台风")  # idempotent
    for b in (b1, b2):
        b.refresh_from_db()
        assert b.status == B.CANCELLED and b.cancelled_by == "staff"
    e.refresh_from_db()
    assert e.status == "withdrawn"
    assert selectors.penalties_active(party="P") == []
    s.refresh_from_db()
    assert s.status == Slot.Status.CANCELLED and len(audits(s, "booking.slot_cancel")) == 1


def test_quotas_lock_for_batches():
    from django.db import transaction

    s1, s2 = slot(capacity=1), slot(capacity=1)
    with transaction.atomic():
        ids = services.quotas_lock(slot_ids=[s2.pk, s1.pk, s1.pk])
        assert ids == sorted(ids) and len(ids) == 2
        services.keys_lock(exclusive_keys=["b1", "b2"])  # a batch takes all its keys first, in one sorted call
        book(s1, user(), "b1")
        book(s2, user(), "b2")
    # (two batches with crossed keys: tests/counters/test_concurrency.py)


def test_citizen_cancel_block_matches_the_deadline():
    """One rule for the cancel button and booking_cancel: confirmed, and before the slot's deadline."""
    import datetime as _dt

    from jiaoguan.bookings import rules as r

    now = _dt.datetime(2026, 12, 7, 10, 0, tzinfo=_dt.UTC)
    for status, delta, want in [("confirmed", 1, None), ("confirmed", 0, "bookings.cancel_closed"),
                                ("confirmed", -5, "bookings.cancel_closed"), ("held", 60, "bookings.not_confirmed"),
                                ("cancelled", 60, "bookings.not_cancellable"), ("attended", 60, "bookings.not_cancellable")]:
        assert r.citizen_cancel_block(status=status, cancel_until=now + _dt.timedelta(minutes=delta), now=now) == want
