"""The pure rules: quota split, slot times, entry windows, delay, exemptions (hypothesis for the many cases)."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.eastern import rules

KW = {"exempt_kinds": ("bus", "truck", "trailer"), "exempt_uses": ("taxi", "bus_service", "official"),
      "exempt_plate_types": ("01", "51")}


@given(total=st.integers(min_value=0, max_value=2_000_000), parts=st.integers(min_value=1, max_value=24))
def test_split_quota_adds_up_and_is_even(total, parts):
    split = rules.split_quota(total, parts)
    assert len(split) == parts and sum(split) == total
    assert max(split) - min(split) <= 1
    assert split == sorted(split, reverse=True)  # the earlier slots take the remainder


def test_national_day_2020():
    public = rules.split_quota(30_000, 6)
    merchant = rules.split_quota(10_000, 6)
    assert sum(public) + sum(merchant) == 40_000 and merchant == [1667, 1667, 1667, 1667, 1666, 1666]


@given(first=st.integers(min_value=0, max_value=23), minutes=st.integers(min_value=15, max_value=600),
       count=st.integers(min_value=1, max_value=24))
def test_slots_back_to_back(first, minutes, count):
    start = dt.time(first, 0)
    times = rules.slot_times(day=dt.date(2026, 10, 1), first=start, minutes=minutes, count=count)
    assert all(b[0] == a[1] for a, b in zip(times, times[1:]))
    fits = rules.slots_fit_day(first=start, minutes=minutes, count=count)
    assert fits == (times[-1][1] <= times[0][0].replace(hour=0) + dt.timedelta(days=1))


@given(delayed=st.booleans(), hours=st.integers(min_value=1, max_value=12),
       offset=st.integers(min_value=-600, max_value=24 * 60))
def test_entry_window(delayed, hours, offset):
    start = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=2)
    until = rules.entry_ends(slot_ends_at=end, delayed=delayed, delay_hours=hours)
    at = start + dt.timedelta(minutes=offset)
    inside = rules.in_window(at=at, starts_at=start, ends_at=until)
    limit = 120 + (hours * 60 if delayed else 0)
    assert inside == (0 <= offset < limit)


def test_delay_once_before_the_end():
    end = dt.datetime(2026, 10, 1, 10, 0, tzinfo=dt.UTC)
    assert rules.may_report_delay(now=end - dt.timedelta(seconds=1), slot_ends_at=end, already=False)
    assert not rules.may_report_delay(now=end, slot_ends_at=end, already=False)
    assert not rules.may_report_delay(now=end - dt.timedelta(hours=1), slot_ends_at=end, already=True)


@given(kind=st.sampled_from(["small_car", "bus", "truck", "trailer", "motorcycle", None]),
       use=st.sampled_from(["private", "taxi", "bus_service", "official", "learner", None]),
       plate_type=st.sampled_from(["01", "02", "51", "52", "16"]), listed=st.booleans())
def test_exemptions(kind, use, plate_type, listed):
    ex = rules.exemption_for(kind=kind, use=use, plate_type=plate_type, listed=listed, **KW)
    expected = listed or kind in KW["exempt_kinds"] or use in KW["exempt_uses"] or (
        kind is None and plate_type in KW["exempt_plate_types"])
    assert (ex is not None) == expected
    if listed:
        assert ex is rules.EXEMPT_LOCAL


def test_default_period_key_is_the_week():
    assert rules.default_period_key(dt.date(2026, 11, 21)) == "2026-w47"


def test_demo_dates():
    from jiaoguan.eastern.demo import _next_holiday, _next_weekend

    assert _next_weekend(dt.date(2026, 11, 21)) == [dt.date(2026, 11, 28), dt.date(2026, 11, 29)]  # a Saturday
    assert _next_weekend(dt.date(2026, 11, 19)) == [dt.date(2026, 11, 21), dt.date(2026, 11, 22)]
    assert _next_holiday(dt.date(2026, 11, 21)) == ([dt.date(2027, 5, 1), dt.date(2027, 5, 2), dt.date(2027, 5, 3)],
                                                    "2027-labour-day")



@given(status=st.sampled_from(["held", "confirmed", "attended", "cancelled", "no_show"]),
        reported=st.booleans(), minutes=st.integers(-600, 600))
def test_delay_block_is_offered_iff_the_service_accepts(status, reported, minutes):
    """The page's can_delay (selectors.may_report_delay) and booking_delay share rules.delay_block: offered
    only for a confirmed booking, once, before its slot ends."""
    import datetime as _dt

    from jiaoguan.eastern import rules as r

    now = _dt.datetime(2026, 12, 7, 10, 0, tzinfo=_dt.UTC)
    ends = now + _dt.timedelta(minutes=minutes)
    block = r.delay_block(status=status, delay_reported=reported, now=now, slot_ends_at=ends)
    assert (block is None) == (status == "confirmed" and not reported and now < ends)


def test_typed_plate_types_are_the_registers():
    """services._plate_type accepts exactly the register's plate types (read through registry.selectors)."""
    from jiaoguan.registry import selectors as registry
    from jiaoguan.registry.models import Vehicle

    assert set(registry.PLATE_TYPE_PREFERENCE) == set(Vehicle.PlateType.values)
