"""Pure rules: eligibility (every reason at once), slot times, mark numbers, masked plates."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.inspections import rules

DUE = dt.date(2026, 12, 31)


def facts(**kw) -> rules.Facts:
    base = dict(status="normal", status_zh="正常", status_en="Normal", on_site=True, due=DUE,
                on=DUE - dt.timedelta(days=10), insured=True, unsettled=0, window_days=90)
    base.update(kw)
    return rules.Facts(**base)


def codes(refusals) -> set[str]:
    return {r.code for r in refusals}


def test_on_site_due_insured_clean_may_book():
    assert rules.action(facts()) == (rules.BOOK, [])


def test_exempt_due_may_apply_for_mark_not_book():
    f = facts(on_site=False)
    assert rules.action(f) == (rules.MARK, [])
    assert codes(rules.booking_refusals(f)) == {"inspections.exempt"}


def test_non_exempt_cannot_apply_for_mark():
    assert codes(rules.mark_refusals(facts())) == {"inspections.not_exempt"}


def test_every_reason_is_listed_in_chinese_and_english():
    f = facts(status="seized", status_zh="查封", status_en="Seized", on=DUE - dt.timedelta(days=200), insured=False,
              unsettled=2)
    refusals = rules.booking_refusals(f)
    assert codes(refusals) == {"inspections.vehicle_status", "inspections.not_due", "inspections.insurance",
                               "inspections.unsettled_violations"}
    assert all(r.zh and r.en and r.zh != r.en for r in refusals)
    assert any("2条" in r.zh for r in refusals) and any("2 traffic" in r.en for r in refusals)
    act, reasons = rules.action(f)
    assert act == rules.NONE and len(reasons) == 4


def test_window_edges():
    assert rules.is_due(due=DUE, on=DUE - dt.timedelta(days=90), window_days=90)
    assert not rules.is_due(due=DUE, on=DUE - dt.timedelta(days=91), window_days=90)
    assert rules.is_due(due=DUE, on=DUE + dt.timedelta(days=400), window_days=90)  # overdue: still may


def test_overdue_mark_can_be_switched_off():
    f = facts(on_site=False, on=DUE + dt.timedelta(days=1), mark_allowed_overdue=False)
    assert codes(rules.mark_refusals(f)) == {"inspections.mark_overdue"}
    assert rules.mark_refusals(facts(on_site=False, on=DUE + dt.timedelta(days=1))) == []


@given(on=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2032, 1, 1)), on_site=st.booleans(),
       insured=st.booleans(), unsettled=st.integers(0, 3), window=st.integers(0, 180),
       status=st.sampled_from(["normal", "mortgaged", "seized", "stolen"]))
def test_action_agrees_with_the_refusals(on, on_site, insured, unsettled, window, status):
    f = facts(on=on, on_site=on_site, insured=insured, unsettled=unsettled, window_days=window, status=status)
    act, reasons = rules.action(f)
    expected_ok = (status in ("normal", "mortgaged") and insured and unsettled == 0
                   and on >= DUE - dt.timedelta(days=window))
    if expected_ok:
        assert act == (rules.BOOK if on_site else rules.MARK) and reasons == []
    else:
        assert act == rules.NONE and reasons
    # never both: a vehicle either books an on-site test or gets the mark online
    assert not (rules.booking_refusals(f) == [] and rules.mark_refusals(f) == [])


@given(first=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 1, 1)), span=st.integers(0, 20),
       open_h=st.integers(6, 12), close_h=st.integers(13, 22), minutes=st.sampled_from([10, 15, 30, 45, 60, 90]),
       weekdays=st.sets(st.integers(0, 6), min_size=1))
def test_slot_times(first, span, open_h, close_h, minutes, weekdays):
    last = first + dt.timedelta(days=span)
    slots = rules.slot_times(first=first, last=last, opens=dt.time(open_h), closes=dt.time(close_h),
                             minutes=minutes, weekdays=weekdays)
    per_day = (close_h - open_h) * 60 // minutes
    all_days = [first + dt.timedelta(days=i) for i in range(span + 1)]
    days = [d for d in all_days if d.weekday() in weekdays]
    assert len(slots) == per_day * len(days)
    for s in slots:
        assert s.day.weekday() in weekdays and first <= s.day <= last
        assert dt.time(open_h) <= s.start < s.end <= dt.time(close_h)
        start = dt.datetime.combine(s.day, s.start)
        assert dt.datetime.combine(s.day, s.end) - start == dt.timedelta(minutes=minutes)
    assert len({(s.day, s.start) for s in slots}) == len(slots)


def test_slot_times_skip_closed_days():
    monday = dt.date(2026, 11, 23)
    slots = rules.slot_times(first=monday, last=monday + dt.timedelta(days=1), opens=dt.time(9), closes=dt.time(10),
                             minutes=30, open_day=lambda d: d != monday)
    assert [s.day for s in slots] == [monday + dt.timedelta(days=1)] * 2


@given(year=st.integers(2020, 2099))
def test_mark_numbers_carry_a_check_digit(year):
    n = rules.mark_number_new(year)
    assert rules.mark_number_valid(n) and n.startswith(str(year)) and len(n) == 13
    wrong = n[:-1] + str((int(n[-1]) + 1) % 10)
    assert not rules.mark_number_valid(wrong)


def test_mask_plate():
    assert rules.mask_plate("粤B12345") == "粤B***45"
    assert rules.mask_plate("粤BD12345") == "粤B****45"
    assert "123" not in rules.mask_plate("粤B12345")


def test_result_life_cycle_is_recorded_once():
    from jiaoguan.inspections.models import InspectionBooking

    assert rules.RESULT.states == set(InspectionBooking.Result.values)
    assert rules.RESULT.terminal == {"passed", "failed"}
    for result in InspectionBooking.Result.values:
        block = rules.result_block(status="attended", result=result)
        assert (block is None) == (result == "pending") == rules.RESULT.allows(result, "passed")
