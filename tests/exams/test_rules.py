"""Pure rules of driving-test booking: order, 5-booking limit, validity, window, deadline, sort time."""
import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.exams import rules

TZ = ZoneInfo("Asia/Shanghai")
subjects = st.sets(st.sampled_from(rules.SUBJECTS))
times = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(TZ))


def weekdays_only(day: dt.date, n: int) -> dt.date:
    """A calendar without holidays, for the window rule."""
    step = dt.timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    while left:
        day += step
        if day.weekday() < 5:
            left -= 1
    return day


# --- order ----------------------------------------------------------------------------------------------------------

def test_subject_one_first():
    assert rules.eligible_subjects([]) == ["1"]
    assert rules.eligible_subjects(["1"]) == ["2", "3"]
    assert rules.eligible_subjects(["1", "3"]) == ["2"]
    assert rules.eligible_subjects(["1", "2", "3"]) == ["4"]
    assert rules.eligible_subjects(["1", "2", "3", "4"]) == []
    assert rules.is_complete(["4", "3", "2", "1"]) and not rules.is_complete(["1", "2", "3"])


@given(subjects)
def test_eligible_subjects_have_their_prerequisites(passed):
    for s in rules.eligible_subjects(passed):
        assert s not in passed
        assert rules.PREREQUISITES[s] <= passed
    # without 科目一 nothing else; 科目四 never before both 科目二 and 科目三
    if "1" not in passed:
        assert rules.eligible_subjects(passed) in ([], ["1"])
    if not {"2", "3"} <= passed:
        assert "4" not in rules.eligible_subjects(passed)


@given(subjects)
def test_passing_in_order_reaches_completion(passed):
    done = set()
    for _ in range(4):
        nxt = rules.eligible_subjects(done)
        assert nxt, done
        done.add(nxt[0])
    assert rules.is_complete(done)


# --- booking limit ----------------------------------------------------------------------------------------------

@given(st.sampled_from(rules.SUBJECTS), st.integers(min_value=0, max_value=20))
def test_five_bookings_for_subjects_two_and_three(subject, used):
    left = rules.attempts_left(subject, used)
    if subject in ("2", "3"):
        assert left == max(0, 5 - used)
        assert rules.booking_allowed(subject, used) == (used < 5)
    else:
        assert left is None and rules.booking_allowed(subject, used)


def test_what_counts_as_a_booking():
    assert rules.counts_as_booking(status="confirmed", cancelled_by="")
    assert rules.counts_as_booking(status="attended", cancelled_by="")
    assert rules.counts_as_booking(status="no_show", cancelled_by="")
    assert rules.counts_as_booking(status="cancelled", cancelled_by="citizen")
    assert not rules.counts_as_booking(status="cancelled", cancelled_by="staff")
    assert not rules.counts_as_booking(status="cancelled", cancelled_by="system")


# --- validity ---------------------------------------------------------------------------------------------------

def test_valid_three_years():
    assert rules.permit_valid_until(dt.date(2026, 3, 10)) == dt.date(2029, 3, 9)
    assert rules.permit_valid_until(dt.date(2024, 2, 29)) == dt.date(2027, 2, 27)
    assert rules.permit_valid_on(accepted_on=dt.date(2026, 3, 10), day=dt.date(2029, 3, 9))
    assert not rules.permit_valid_on(accepted_on=dt.date(2026, 3, 10), day=dt.date(2029, 3, 10))
    assert not rules.permit_valid_on(accepted_on=dt.date(2026, 3, 10), day=dt.date(2026, 3, 9))


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_validity_is_about_three_years(day):
    until = rules.permit_valid_until(day)
    assert 365 * 3 - 1 <= (until - day).days <= 366 * 3


# --- window and deadline -----------------------------------------------------------------------------------------

def test_window_closes_at_midnight_three_working_days_before():
    # Thursday 26 Nov 2026 → Monday 23 Nov 00:00
    closes = rules.booking_closes_at(exam_date=dt.date(2026, 11, 26), tz=TZ, add_workdays=weekdays_only)
    assert closes == dt.datetime(2026, 11, 23, 0, 0, tzinfo=TZ)
    # Monday 30 Nov → Wednesday 25 Nov (the weekend is skipped)
    closes = rules.booking_closes_at(exam_date=dt.date(2026, 11, 30), tz=TZ, add_workdays=weekdays_only)
    assert closes == dt.datetime(2026, 11, 25, 0, 0, tzinfo=TZ)


def test_window_with_the_real_calendar_skips_national_day():
    from jiaoguan.core.workdays import _by_calendar

    def add(day, n):  # the chinese-calendar data without the database overrides
        step = dt.timedelta(days=-1)
        left = abs(n)
        while left:
            day += step
            if _by_calendar(day):
                left -= 1
        return day

    # Friday 9 Oct 2026: 1–7 Oct are holidays, so 3 working days back is Wednesday 30 Sep
    closes = rules.booking_closes_at(exam_date=dt.date(2026, 10, 9), tz=TZ, add_workdays=add)
    assert closes.date() < dt.date(2026, 10, 1)


@settings(max_examples=200)
@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_window_always_leaves_three_working_days(exam_date):
    closes = rules.booking_closes_at(exam_date=exam_date, tz=TZ, add_workdays=weekdays_only)
    assert closes.time() == dt.time(0, 0) and closes.tzinfo == TZ
    assert closes.weekday() < 5  # closes at the start of a working day
    between = [closes.date() + dt.timedelta(days=i) for i in range((exam_date - closes.date()).days)]
    assert sum(1 for d in between if d.weekday() < 5) == 3


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_cancel_until_end_of_the_day_before(exam_date):
    until = rules.cancel_until(exam_date=exam_date, tz=TZ)
    assert until == dt.datetime.combine(exam_date, dt.time(0, 0), tzinfo=TZ)
    last_second = until - dt.timedelta(seconds=1)
    assert last_second.date() == exam_date - dt.timedelta(days=1)


# --- sort time --------------------------------------------------------------------------------------------------

def test_sort_time_cases():
    accepted = dt.datetime(2026, 1, 5, 10, 0, tzinfo=TZ)
    exam = dt.datetime(2026, 3, 1, 9, 0, tzinfo=TZ)
    cancel = dt.datetime(2026, 2, 1, 12, 0, tzinfo=TZ)
    assert rules.sort_time(accepted_at=accepted) == accepted  # (1) first 科目一 booking
    assert rules.sort_time(accepted_at=accepted, last_exam_at=exam) == exam  # (2) after an exam
    assert rules.sort_time(accepted_at=accepted, last_cancel_or_no_show_at=cancel) == cancel  # (3)
    assert rules.sort_time(accepted_at=accepted, last_exam_at=exam, last_cancel_or_no_show_at=cancel) == exam
    later = dt.datetime(2026, 4, 1, tzinfo=TZ)
    assert rules.sort_time(accepted_at=accepted, last_exam_at=exam, last_cancel_or_no_show_at=later) == later


@given(times, st.none() | times, st.none() | times)
def test_sort_time_is_the_latest_known(accepted, exam, cancel):
    t = rules.sort_time(accepted_at=accepted, last_exam_at=exam, last_cancel_or_no_show_at=cancel)
    known = [x for x in (accepted, exam, cancel) if x is not None]
    assert t in known and all(t >= x for x in known)


@given(times, st.none() | times, st.none() | times, times)
def test_a_later_event_never_ranks_you_earlier(accepted, exam, cancel, event):
    before = rules.sort_time(accepted_at=accepted, last_exam_at=exam, last_cancel_or_no_show_at=cancel)
    after_cancel = rules.sort_time(accepted_at=accepted, last_exam_at=exam,
                                   last_cancel_or_no_show_at=max(event, cancel) if cancel else event)
    after_exam = rules.sort_time(accepted_at=accepted, last_exam_at=max(event, exam) if exam else event,
                                 last_cancel_or_no_show_at=cancel)
    assert after_cancel >= before and after_exam >= before


def test_progress_rows():
    rows = rules.progress({"1": dt.datetime(2026, 1, 1, tzinfo=TZ)}, {"2": 2, "3": 5})
    by = {r["subject"]: r for r in rows}
    assert by["1"]["passed"] and not by["1"]["eligible"]
    assert by["2"]["eligible"] and by["2"]["bookings_left"] == 3
    assert by["3"]["bookings_left"] == 0 and by["4"]["bookings_left"] is None and not by["4"]["eligible"]


def test_the_permit_life_cycle_covers_the_model():
    from jiaoguan.exams.models import Permit
    from jiaoguan.exams.rules import PERMIT

    assert PERMIT.states == set(Permit.Status.values) and PERMIT.terminal == {"completed", "revoked"}
