"""One working-day calendar: overrides → chinese-calendar data → weekends (ARCHITECTURE §4)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.core.models import HolidayOverride
from jiaoguan.core.workdays import add_workdays, calendar_covers, is_workday, workdays_between
from tests.core.helpers import raw_execute

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "day, workday",
    [
        # National Day 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked
        ("2025-09-26", True),
        ("2025-09-27", False),  # Saturday
        ("2025-09-28", True),  # Sunday, make-up working day
        ("2025-09-30", True),
        *[(f"2025-10-0{d}", False) for d in range(1, 9)],
        ("2025-10-09", True),
        ("2025-10-11", True),  # Saturday, make-up working day
        ("2025-10-12", False),
        # Spring Festival 2025: 28 January – 4 February off; 26 January (Sun) and 8 February (Sat) worked
        ("2025-01-26", True),
        ("2025-01-28", False),
        ("2025-01-31", False),  # a Friday, but a holiday
        ("2025-02-04", False),
        ("2025-02-05", True),
        ("2025-02-08", True),
        # Spring Festival 2026: 15–23 February off; 14 and 28 February (Saturdays) worked
        ("2026-02-14", True),
        ("2026-02-16", False),
        ("2026-02-23", False),
        ("2026-02-24", True),
        ("2026-02-28", True),
        # plain weeks
        ("2025-03-03", True),  # Monday
        ("2025-03-08", False),  # Saturday
        ("2025-03-09", False),  # Sunday
    ],
)
def test_statutory_calendar(day, workday):
    assert is_workday(D(day)) is workday


def test_years_without_data_fall_back_to_weekends_and_the_fixed_holidays():
    assert calendar_covers(D("2026-12-31")) and not calendar_covers(D("2027-01-01"))
    # the statutory holidays on fixed days hold without data: New Year's Day 2027 is a Friday, so is 1 October
    assert not is_workday(D("2027-01-01")) and is_workday(D("2027-01-04"))
    assert is_workday(D("2027-05-03")) and not is_workday(D("2027-05-01"))  # Labour Day 2027: a Saturday
    assert not is_workday(D("2027-10-01")) and is_workday(D("2027-09-30")) and is_workday(D("2027-10-04"))
    assert not is_workday(D("2027-04-05")) and is_workday(D("2027-04-06"))  # Qingming 2027, a Monday (solar term)
    assert not is_workday(D("2028-05-01")) and not is_workday(D("2028-05-02"))  # Monday and Tuesday
    # lunar holidays and make-up days need the State Council's notice (overrides): weekends meanwhile
    assert is_workday(D("2027-02-08"))  # Monday
    assert not is_workday(D("2027-10-02")) and not is_workday(D("2027-10-03"))


def test_overrides_win_over_weekends_and_over_the_data():
    HolidayOverride.objects.create(date=D("2027-10-01"), is_workday=False, name="国庆节")
    HolidayOverride.objects.create(date=D("2027-09-26"), is_workday=True, name="国庆调休")  # a Sunday
    HolidayOverride.objects.create(date=D("2025-10-09"), is_workday=False, name="地方决定")  # data says workday
    HolidayOverride.objects.create(date=D("2025-10-05"), is_workday=True, name="地方决定")  # data says holiday
    assert not is_workday(D("2027-10-01"))
    assert is_workday(D("2027-09-26"))
    assert not is_workday(D("2025-10-09"))
    assert is_workday(D("2025-10-05"))
    assert add_workdays(D("2027-09-24"), 1) == D("2027-09-26")  # Friday → the worked Sunday
    assert add_workdays(D("2027-09-30"), 1) == D("2027-10-04")  # Thursday → past the holiday Friday and weekend
    assert workdays_between(D("2027-09-24"), D("2027-10-04")) == 6  # 26 27 28 29 30 | 4
    HolidayOverride.objects.create(date=D("2027-01-01"), is_workday=True, name="假设调休")  # staff have the last word
    assert is_workday(D("2027-01-01"))


def test_an_override_written_elsewhere_is_seen_at_once():
    # Another process (admin in a web worker) edits the table: no process-local cache may hide it.
    assert is_workday(D("2027-06-14"))
    raw_execute("INSERT INTO core_holidayoverride (date, is_workday, name) VALUES (%s, %s, %s)",
                [D("2027-06-14"), False, "端午节"])
    assert not is_workday(D("2027-06-14"))
    assert add_workdays(D("2027-06-11"), 1) == D("2027-06-15")
    raw_execute("DELETE FROM core_holidayoverride WHERE date = %s", [D("2027-06-14")])
    assert is_workday(D("2027-06-14"))


@pytest.mark.parametrize(
    "start, n, expected",
    [
        ("2025-09-30", 1, "2025-10-09"),  # the last day before National Day, plus one
        ("2025-09-26", 1, "2025-09-28"),  # Friday → the make-up Sunday
        ("2025-09-26", 4, "2025-10-09"),
        ("2025-09-26", 6, "2025-10-11"),  # the make-up Saturday
        ("2025-09-26", 7, "2025-10-13"),
        ("2025-10-01", 0, "2025-10-09"),  # zero from a holiday: the next working day
        ("2025-10-09", 0, "2025-10-09"),
        ("2025-10-09", -1, "2025-09-30"),
        ("2025-10-13", -7, "2025-09-26"),
        ("2025-01-27", 1, "2025-02-05"),  # across Spring Festival
        ("2026-12-31", 1, "2027-01-04"),  # into a year without data: New Year's Day (Friday), then the weekend
        ("2026-12-30", 1, "2026-12-31"),
        ("2027-04-30", 1, "2027-05-03"),  # Labour Day 1–2 May 2027 is a weekend; 3 May a Monday, worked (no notice)
        ("2027-09-30", 1, "2027-10-04"),  # National Day 1 October 2027, a Friday
    ],
)
def test_add_workdays(start, n, expected):
    assert add_workdays(D(start), n) == D(expected)


def test_workdays_between():
    assert workdays_between(D("2025-09-30"), D("2025-10-09")) == 1
    assert workdays_between(D("2025-09-26"), D("2025-10-13")) == 7
    assert workdays_between(D("2025-10-13"), D("2025-09-26")) == -7
    assert workdays_between(D("2025-10-09"), D("2025-10-09")) == 0
    assert workdays_between(D("2025-10-01"), D("2025-10-08")) == 0


def test_datetimes_count_as_their_local_date():
    from django.utils import timezone

    # 2025-10-08 20:00 UTC is 9 October 04:00 in Shanghai: a working day
    moment = dt.datetime(2025, 10, 8, 20, 0, tzinfo=dt.UTC)
    assert is_workday(moment)
    assert is_workday(timezone.localtime(moment).date())
    assert add_workdays(moment, 0) == D("2025-10-09")


dates = st.dates(min_value=D("2024-01-01"), max_value=D("2028-12-31"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dates, st.integers(min_value=1, max_value=60))
def test_add_workdays_properties(day, n):
    HolidayOverride.objects.get_or_create(date=D("2027-10-01"), defaults={"is_workday": False})
    HolidayOverride.objects.get_or_create(date=D("2027-09-26"), defaults={"is_workday": True})
    end = add_workdays(day, n)
    assert end > day
    assert is_workday(end)
    assert workdays_between(day, end) == n
    assert workdays_between(end, day) == -n
    # the day before the end is short of the count
    assert workdays_between(day, end - dt.timedelta(days=1)) == n - 1
    if is_workday(day):
        assert add_workdays(end, -n) == day


@settings(max_examples=60, deadline=None)
@given(dates)
def test_zero_workdays_is_the_first_workday_on_or_after(day):
    first = add_workdays(day, 0)
    assert first >= day and is_workday(first)
    assert all(not is_workday(day + dt.timedelta(days=k)) for k in range((first - day).days))
