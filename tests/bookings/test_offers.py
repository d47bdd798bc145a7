"""Every action a page offers on a booking is offered exactly when the service accepts it: one rule for both
(bookings.rules mark_block, staff_cancel_block, release_block / citizen_cancel_block), over every state a booking
can be in, before and after its slot starts; and the console says why a button is not there."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.bookings.models import Booking
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from tests.bookings.support import SYS, book, slot, user
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db
B = Booking.Status
CLERK = Actor(id=None, label="clerk", role="clerk")
STATES = ["held", "held_expired", "confirmed", "attended", "no_show", "cancelled", "released", "expired"]
CONSOLE = "/console/bookings/"


def _in_state(state: str, *, starts_in=dt.timedelta(hours=2), cancel_before=dt.timedelta(hours=1)):
    """A booking brought to ``state`` through the services, its slot starting in ``starts_in`` (frozen clock)."""
    s = slot(capacity=3, starts_in=starts_in, cancel_before=cancel_before)
    u = user()
    b = book(s, u, f"k-{state}", confirm=state not in ("held", "held_expired", "released", "expired"))
    if state in ("held_expired", "expired"):
        clock.advance(dt.timedelta(minutes=11))
        if state == "expired":
            services.holds_expire()
    elif state == "released":
        services.booking_release(booking_id=b.pk, user=u, actor=SYS)
    elif state == "cancelled":
        services.booking_cancel(booking_id=b.pk, actor=CLERK, reason="test")
    elif state in ("attended", "no_show"):
        back = clock.now()
        clock.freeze(s.starts_at + dt.timedelta(minutes=1))
        services.booking_mark(booking_id=b.pk, attended=state == "attended", actor=CLERK)
        clock.freeze(back)
    b.refresh_from_db()
    return b, u


def _accepts(call) -> str | None:
    try:
        call()
    except Conflict as exc:
        return exc.code
    return None


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("when", ["before", "after"])
def test_attendance_offered_iff_booking_mark_accepts(state, when, clock):
    clock.freeze(clock.now())
    b, _u = _in_state(state)
    if when == "after":
        clock.freeze(b.slot.starts_at + dt.timedelta(minutes=5))
    block = selectors.staff_mark_block(booking=b)
    assert _accepts(lambda: services.booking_mark(booking_id=b.pk, attended=True, actor=CLERK)) == block
    assert (block is None) == (state == "confirmed" and when == "after")


@pytest.mark.parametrize("state", STATES)
def test_staff_cancel_offered_iff_booking_cancel_accepts(state, clock):
    clock.freeze(clock.now())
    b, _u = _in_state(state)
    block = selectors.staff_cancel_block(booking=b)
    assert _accepts(lambda: services.booking_cancel(booking_id=b.pk, actor=CLERK, reason="x")) == block


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("when", ["early", "past_deadline"])
def test_citizen_give_up_offered_iff_release_or_cancel_accepts(state, when, clock):
    """One give-up button: a live hold is released, a confirmed booking cancelled before the deadline. A hold
    whose time has run out (not yet swept) is not offered, and booking_release refuses it too."""
    clock.freeze(clock.now())
    b, u = _in_state(state)
    if when == "past_deadline":
        clock.freeze(b.slot.cancel_until + dt.timedelta(minutes=1))
    block = selectors.citizen_give_up_block(booking=b)
    call = services.booking_release if b.status == B.HELD else services.booking_cancel
    assert _accepts(lambda: call(booking_id=b.pk, user=u, actor=SYS)) == block


@given(status=st.sampled_from(STATES[:1] + STATES[2:]), minutes=st.integers(-600, 600),
       hold=st.one_of(st.none(), st.integers(-600, 600)))
def test_rules_pure(status, minutes, hold):
    now = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    at = now + dt.timedelta(minutes=minutes)
    assert (rules.mark_block(status=status, starts_at=at, now=now) is None) == (status == "confirmed" and now >= at)
    assert (rules.staff_cancel_block(status=status) is None) == (status in ("held", "confirmed"))
    expires = None if hold is None else now + dt.timedelta(minutes=hold)
    assert (rules.release_block(status=status, hold_expires_at=expires, now=now) is None) == (
        status == "held" and expires is not None and expires > now)
    give_up = rules.give_up_block(status=status, hold_expires_at=expires, cancel_until=at, now=now)
    assert (give_up is None) == ((status == "held" and expires is not None and expires > now)
                                 or (status == "confirmed" and now < at))
    for code in (rules.mark_block(status=status, starts_at=at, now=now), rules.staff_cancel_block(status=status),
                 give_up):
        assert code is None or code in rules.BLOCK_TEXTS


def test_console_slot_page_says_why_a_button_is_missing(client, clock):
    """Before the slot starts no attendance buttons, and the row says they come when it starts; an ended booking
    offers no cancel and says it cannot be cancelled."""
    clock.freeze(clock.now())
    s = slot(capacity=3, starts_in=dt.timedelta(hours=1))
    b = book(s, user(), "a", confirm=True)
    gone = book(s, user(), "b", confirm=True)
    services.booking_cancel(booking_id=gone.pk, actor=CLERK, reason="test")
    client.force_login(user("clerk"))
    r = client.get(f"{CONSOLE}slots/{s.pk}/")
    page = r.content.decode()
    assert f"/console/bookings/bookings/{b.pk}/attendance/" not in page
    assert f"/console/bookings/bookings/{gone.pk}/cancel/" not in page
    assert f"/console/bookings/bookings/{b.pk}/cancel/" in page
    body = text(r)
    assert "时段开始后可登记到场情况" in body and "该预约当前状态不能取消" in body
    body_en = text(client.get(f"{CONSOLE}slots/{s.pk}/", **EN))
    assert "attendance can be marked once it starts" in body_en and "cannot be cancelled now" in body_en
    clock.advance(dt.timedelta(hours=1))
    page = client.get(f"{CONSOLE}slots/{s.pk}/").content.decode()
    assert f"/console/bookings/bookings/{b.pk}/attendance/" in page


@pytest.mark.parametrize("state", ["pending", "pending_closed", "withdrawn", "allocated"])
def test_withdraw_offered_iff_application_withdraw_accepts(state, clock, client):
    """我的预约 and the exams page offer 撤回 from rules.withdraw_block, what application_withdraw enforces."""
    from tests.bookings.support import apply, ranked_slot

    clock.freeze(clock.now())
    s = ranked_slot(capacity=2)
    u = user()
    a = apply(s, u, "w", clock.now())
    if state == "withdrawn":
        services.application_withdraw(application_id=a.pk, user=u, actor=SYS)
    if state in ("pending_closed", "allocated"):
        clock.freeze(s.closes_at + dt.timedelta(minutes=1))
    if state == "allocated":
        services.applications_allocate(actor=SYS)
    a.refresh_from_db()
    block = selectors.citizen_withdraw_block(application=a)
    client.force_login(u)
    shown = f"/me/bookings/applications/{a.pk}/withdraw/" in client.get("/me/bookings/").content.decode()
    got = _accepts(lambda: services.application_withdraw(application_id=a.pk, user=u, actor=SYS))
    assert shown == (block is None) == (got is None) == (state == "pending")
    assert got == block
