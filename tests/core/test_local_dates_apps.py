"""The date rules of every app with the clock frozen at 00:30, 07:59, 08:00 and 23:59 Beijing time (issue 9 §1).

Before 08:00 Beijing time the UTC date is the day before; each rule below must see the *local* date at all four
hours, across a month end, a year end (into 2027, which the chinese-calendar data lacks) and the eve of a holiday.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jiaoguan.core import clock as core_clock
from jiaoguan.core import workdays

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")
DAYS = {
    "month-end": dt.date(2026, 11, 30),
    "year-end": dt.date(2026, 12, 31),            # tomorrow is New Year's Day 2027 (a Friday, no calendar data)
    "national-day-eve": dt.date(2026, 9, 30),
    "spring-festival-eve": dt.date(2026, 2, 14),  # a make-up Saturday; 15–23 February off
}
HOURS = [dt.time(0, 30), dt.time(7, 59), dt.time(8, 0), dt.time(23, 59)]
INSTANTS = [pytest.param(dt.datetime.combine(day, t, tzinfo=BEIJING), id=f"{name}-{t:%H%M}")
            for name, day in DAYS.items() for t in HOURS]


@pytest.fixture(params=INSTANTS)
def at(request, clock) -> dt.datetime:
    clock.freeze(request.param)
    return request.param


# --- core: the one notion of "today" -------------------------------------------------------------------------------

def test_clock_gives_the_local_day(at):
    now = core_clock.now()
    assert now.utcoffset() == dt.timedelta(0) and now == at  # kept in UTC, as timezone.now() gives it
    assert now.date() == (at.date() - dt.timedelta(days=1) if at.hour < 8 else at.date())  # the trap
    today = at.date()
    assert core_clock.today() == core_clock.localdate(now) == core_clock.localdate() == today
    assert core_clock.localtime(now).replace(tzinfo=None) == at.replace(tzinfo=None)
    start, end = core_clock.day_bounds(today)
    assert start <= now < end and end - start == dt.timedelta(days=1)
    assert start == core_clock.local_midnight(today) == dt.datetime.combine(today, dt.time.min, tzinfo=BEIJING)
    assert core_clock.local_datetime(today, at.timetz().replace(tzinfo=None)) == now
    assert core_clock.isoformat(now) == at.isoformat() and core_clock.isoformat(today) == today.isoformat()


def test_workdays_count_from_the_local_day(at):
    today = at.date()
    assert workdays.is_workday(core_clock.now()) == workdays.is_workday(today)
    assert workdays.add_workdays(core_clock.now(), 1) == workdays.add_workdays(today, 1)
    assert workdays.workdays_between(core_clock.now(), today) == 0


def test_next_working_days_at_the_boundaries():
    assert workdays.add_workdays(DAYS["year-end"], 1) == dt.date(2027, 1, 4)   # New Year's Day, then a weekend
    assert workdays.add_workdays(DAYS["national-day-eve"], 1) == dt.date(2026, 10, 8)  # 1–7 October off
    assert workdays.add_workdays(DAYS["spring-festival-eve"], 1) == dt.date(2026, 2, 24)
    assert workdays.add_workdays(DAYS["month-end"], 1) == dt.date(2026, 12, 1)


# --- applications: references and time limits ----------------------------------------------------------------------

def test_application_reference_and_due_date(at):
    from jiaoguan.applications import rules, services

    today = at.date()
    assert services._next_reference().startswith(f"{today:%Y%m%d}")
    due = rules.due_at_for(core_clock.now(), 5)
    assert core_clock.localdate(due) == workdays.add_workdays(today, 5)
    assert core_clock.localtime(due).time() == dt.time(23, 59, 59)
    assert rules.workdays_left(core_clock.now(), due) == 5


# --- payments: numbers that embed a date, order expiry, reconciliation ---------------------------------------------

def test_payment_numbers_and_order_expiry(at):
    from jiaoguan.payments import simulator
    from jiaoguan.payments.services import _order_expiry

    today = at.date()
    token = simulator.sim_trade_create(out_trade_no=f"T{at:%H%M}{today:%m%d}", amount_fen=20000, subject="罚款")
    trade = simulator.sim_trade_confirm(token=token)
    assert trade.trade_no.startswith(f"SIM{today:%Y%m%d}")
    assert [line.out_no for line in simulator.sim_settlement_lines(day=today)] == [trade.out_trade_no]
    assert simulator.sim_settlement_lines(day=today - dt.timedelta(days=1)) == []
    expiry = _order_expiry(core_clock.now())
    assert core_clock.now() < expiry <= core_clock.local_midnight(today + dt.timedelta(days=1))
    assert core_clock.localdate(expiry - dt.timedelta(microseconds=1)) == today


def test_postal_reference_embeds_the_local_date(at):
    from jiaoguan.postal.services import _new_reference

    assert _new_reference().startswith(f"JGP{at.date():%y%m%d}")


# --- bookings, exams and the day pages: local days and years -------------------------------------------------------

def test_a_slot_at_this_hour_is_on_todays_page(at):
    from jiaoguan.bookings import selectors
    from tests.bookings.support import slot

    s = slot(starts_in=dt.timedelta(seconds=30))  # still today at 23:59
    assert list(selectors.slots_list(day=at.date())) == [s]
    assert not selectors.slots_list(day=at.date() - dt.timedelta(days=1)).exists()


def test_exam_deadlines_count_from_the_local_exam_day(at):
    from jiaoguan.exams import rules
    from jiaoguan.exams.services import session_times

    closes, cancel_until = session_times(starts_at=core_clock.now())
    assert cancel_until == core_clock.local_midnight(at.date())
    assert closes == core_clock.local_midnight(workdays.add_workdays(at.date(), -rules.CLOSE_WORKDAYS_BEFORE))


def test_booking_penalty_years_are_beijing_years():
    from jiaoguan.bookings import rules

    def event(at: dt.datetime) -> rules.PenaltyEvent:
        utc = at.astimezone(dt.UTC)
        return rules.PenaltyEvent(at=utc, period_key="", recorded_at=utc)

    old = event(dt.datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING))
    new = event(dt.datetime(2027, 1, 1, 0, 30, tzinfo=BEIJING))  # 2026-12-31 16:30 UTC: the same UTC year
    assert not rules.event_in_window(window="year", window_days=0, event=old, trigger=new)
    assert rules.year_end(rules._local(new.at)) == dt.datetime(2028, 1, 1, tzinfo=BEIJING)
    assert rules.year_end(rules._local(old.at)) == dt.datetime(2027, 1, 1, tzinfo=BEIJING)
