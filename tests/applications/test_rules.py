"""Pure rules: time limits in working days (National Day, make-up days, property test against a day-by-day count),
reference numbers, form validation, file recognition."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.applications import rules, services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.core import workdays
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.models import HolidayOverride
from tests.applications.support import accepted, staff


def day_by_day(start: dt.date, days: int) -> dt.date:
    """The obvious count: step one day at a time and count the working days of the calendar."""
    day, left = start, days
    if days == 0:
        while not workdays.is_workday(day):
            day += dt.timedelta(days=1)
        return day
    while left:
        day += dt.timedelta(days=1)
        if workdays.is_workday(day):
            left -= 1
    return day


@pytest.mark.django_db
def test_national_day_2026_time_limit():
    # accepted Wed 2026-09-30; 10-01..07 are holidays, Sat 10-10 is a make-up working day
    assert rules.due_date(dt.date(2026, 9, 30), 3) == dt.date(2026, 10, 10)
    assert rules.due_date(dt.date(2026, 9, 30), 4) == dt.date(2026, 10, 12)
    assert rules.due_date(dt.date(2026, 10, 3), 1) == dt.date(2026, 10, 8)  # accepted on a holiday


@pytest.mark.django_db
def test_national_day_in_the_engine(clock):
    clock.freeze(dt.datetime(2026, 9, 30, 16, 0))
    clerk = staff("clerk")
    app = accepted(clerk, service="t_standard")
    assert app.due_at == rules.end_of_day(dt.date(2026, 10, 10))
    # the time limit has not run out during the holiday: still open on 10-09, overdue only after 10-10
    clock.freeze(dt.datetime(2026, 10, 9, 12, 0))
    assert services.applications_escalate_overdue() == 0
    clock.freeze(dt.datetime(2026, 10, 11, 9, 0))
    assert services.applications_escalate_overdue() == 1


@pytest.mark.django_db
def test_staff_edited_override_counts():
    HolidayOverride.objects.create(date=dt.date(2030, 5, 6), is_workday=False, name="测试")
    assert rules.due_date(dt.date(2030, 5, 3), 1) == dt.date(2030, 5, 7)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31)),
       days=st.integers(min_value=0, max_value=40))
def test_due_date_matches_a_day_by_day_count(start, days):
    due = rules.due_date(start, days)
    assert due == day_by_day(start, days)
    assert workdays.is_workday(due)
    if days:
        assert workdays.workdays_between(start, due) == days


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 12, 20)),
       days=st.integers(min_value=1, max_value=15), used=st.integers(min_value=0, max_value=15),
       gap=st.integers(min_value=0, max_value=30))
def test_pause_keeps_the_working_days_left(start, days, used, gap):
    """Sent back after ``used`` calendar days and resubmitted ``gap`` days later: the new due date is exactly
    as many working days after the resubmission as were left after the send-back day."""
    due = rules.due_date(start, days)
    paused_on = start + dt.timedelta(days=used)
    left = max(workdays.workdays_between(paused_on, due), 0)
    resumed = paused_on + dt.timedelta(days=gap)
    new_due = rules.due_date(resumed, left)
    assert new_due == day_by_day(resumed, left)
    assert new_due >= resumed
    if left:
        assert workdays.workdays_between(resumed, new_due) == left


def test_reference_numbers():
    ref = rules.reference_make(dt.date(2026, 10, 8), 17)
    assert len(ref) == 15 and ref.startswith("20261008000017") and rules.reference_valid(ref)
    for i in range(14):  # any single changed digit is caught
        changed = ref[:i] + str((int(ref[i]) + 1) % 10) + ref[i + 1:]
        assert not rules.reference_valid(changed)
    assert not rules.reference_valid("2026130800001" + "70")
    assert not rules.reference_valid("abc")


@given(st.integers(min_value=1, max_value=999_999))
def test_reference_luhn_catches_adjacent_swaps(seq):
    ref = rules.reference_make(dt.date(2026, 1, 2), seq)
    assert rules.reference_valid(ref)
    for i in range(13):
        if ref[i] != ref[i + 1] and {ref[i], ref[i + 1]} != {"0", "9"}:
            swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]
            assert not rules.reference_valid(swapped)


def test_sniff_by_content_not_name():
    assert rules.sniff(b"%PDF-1.7 ...") == ("pdf", "application/pdf")
    assert rules.sniff(b"\xff\xd8\xff\xdb") == ("jpeg", "image/jpeg")
    assert rules.sniff(b"\x89PNG\r\n\x1a\nxx") == ("png", "image/png")
    assert rules.sniff(b"MZ\x90\x00") is None and rules.sniff(b"GIF89a") is None


@pytest.fixture
def sample(test_catalogue):
    return catalogue().get("sample")


def test_form_clean_types(sample):
    today = dt.date(2026, 11, 23)
    data = {"plate": "粤b·a1234", "urgency": "urgent", "start_date": "2026-12-31", "trips": "3",
            "contact_phone": "+86 138-0013-8000", "driver_id_number": "11010519491231002x", "note": " 备注 "}
    cleaned, errors = rules.form_clean(sample, data, today=today)
    assert errors == {}
    assert cleaned == {"plate": "粤BA1234", "urgency": "urgent", "start_date": "2026-12-31", "trips": 3,
                       "contact_phone": "13800138000", "driver_id_number": "11010519491231002X", "note": "备注"}


def test_form_clean_errors(sample):
    today = dt.date(2026, 11, 23)
    data = {"plate": "粤BI2345", "urgency": "secret", "start_date": "2027-01-01", "trips": "2.5",
            "contact_phone": "12345", "driver_id_number": "110105194912310021", "note": "x" * 201}
    _cleaned, errors = rules.form_clean(sample, data, today=today)
    assert set(errors) == {"plate", "urgency", "start_date", "trips", "contact_phone", "driver_id_number", "note"}
    assert errors["start_date"][1] == "The date may not be after 2026-12-31"
    _c, errors = rules.form_clean(sample, {**data, "start_date": "2026-11-23"}, today=today)
    assert errors["start_date"][0] == "日期不能早于2026-11-24"
    _c, errors = rules.form_clean(sample, {}, today=today)
    assert set(errors) == {"plate", "urgency", "start_date", "trips", "contact_phone"}  # the required ones


def test_tampered_forms_are_refused(sample):
    with pytest.raises(InvalidInput) as e:
        rules.draft_values(sample, {"plate": "粤BA1234", "is_approved": True})
    assert e.value.code == "applications.unknown_field" and "is_approved" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        rules.draft_values(sample, {"urgency": "vip"})
    assert e.value.fields["urgency"][1] == "The chosen value is not one of the choices"
    with pytest.raises(InvalidInput):
        rules.draft_values(sample, {"note": {"nested": 1}})
    with pytest.raises(InvalidInput):
        rules.draft_values(sample, {"note": "x" * 3000})
    with pytest.raises(InvalidInput):
        rules.draft_values(sample, ["not", "a", "dict"])
    assert rules.draft_values(sample, {"plate": " 粤bz ", "trips": 3}) == {"plate": "粤bz", "trips": 3}


def test_date_bounds():
    from jiaoguan.applications.catalogue import date_bound

    today = dt.date(2026, 1, 31)
    assert date_bound("today", today) == today
    assert date_bound("today+1", today) == dt.date(2026, 2, 1)
    assert date_bound("today-31", today) == dt.date(2025, 12, 31)
    assert date_bound("end_of_next_month", today) == dt.date(2026, 2, 28)
    assert date_bound("end_of_next_month", dt.date(2026, 12, 15)) == dt.date(2027, 1, 31)
    assert date_bound("2026-05-01", today) == dt.date(2026, 5, 1)


@pytest.mark.django_db
def test_workdays_left_and_due_soon(clock):
    clock.freeze(dt.datetime(2026, 9, 29, 10, 0))
    clerk = staff("clerk")
    app = accepted(clerk, service="t_standard")  # due 2026-10-09 (Tue 29th + 3: 30th, 8th, 9th)
    assert app.due_at == rules.end_of_day(dt.date(2026, 10, 9))
    assert rules.workdays_left(clock.now(), app.due_at) == 3
    # one working day before: 2026-09-30's threshold reaches the 8th only
    assert rules.due_soon_threshold(clock.now(), 1) == rules.end_of_day(dt.date(2026, 9, 30))
    clock.freeze(dt.datetime(2026, 10, 8, 9, 0))
    assert rules.due_soon_threshold(clock.now(), 1) >= app.due_at
    assert services.applications_warn_due_soon() == 1
    assert services.applications_warn_due_soon() == 0  # once
