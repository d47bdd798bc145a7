"""The identity app's pure rules, alone: rates, sliding windows, lockout, bindable vehicles, usernames."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.identity import rules
from jiaoguan.identity.rules import Rate, parse_rate, window_admits


@pytest.mark.parametrize("text,limit,seconds", [
    ("5/h", 5, 3600), ("1/m", 1, 60), ("20/h", 20, 3600), ("10/15m", 10, 900), ("3/d", 3, 86400), ("2/s", 2, 1),
])
def test_parse_rate(text, limit, seconds):
    assert parse_rate(text) == Rate(limit, seconds)


@pytest.mark.parametrize("text", ["", "5", "5/x", "h/5", "five/h", "5/0m", "-1/h"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def _simulate(attempt_times, rate):
    admitted = []
    for t in sorted(attempt_times):
        ok, retry = window_admits(events=admitted, now=t, rate=rate)
        if ok:
            admitted.append(t)
        else:
            assert retry >= 1
            # the wait it announces is right: one second earlier it would still be refused
            assert not window_admits(events=admitted, now=t + retry - 1.0001, rate=rate)[0] or retry == 1
    return admitted


@given(times=st.lists(st.floats(min_value=0, max_value=20_000, allow_nan=False), max_size=60),
       limit=st.integers(min_value=1, max_value=6), seconds=st.sampled_from([1, 60, 600, 3600]))
def test_sliding_window_never_admits_more_than_the_limit_in_any_window(times, limit, seconds):
    rate = Rate(limit, seconds)
    admitted = _simulate(times, rate)
    for start in admitted:
        inside = [t for t in admitted if start <= t < start + seconds]
        assert len(inside) <= limit


@given(times=st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=1, max_size=40),
       limit=st.integers(min_value=1, max_value=5))
def test_sliding_window_admits_whenever_the_window_has_room(times, limit):
    rate = Rate(limit, 60)
    admitted = _simulate(times, rate)
    for t in sorted(times):
        if t not in admitted:
            recent = [a for a in admitted if t - 60 < a <= t]
            assert len(recent) >= limit


def test_one_per_minute_means_sixty_seconds_since_the_last():
    rate = parse_rate("1/m")
    assert window_admits(events=[1000.0], now=1059.0, rate=rate) == (False, 1)
    assert window_admits(events=[1000.0], now=1030.0, rate=rate) == (False, 30)
    assert window_admits(events=[1000.0], now=1060.0, rate=rate) == (True, 0)


@given(st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=10), st.integers(1, 120))
def test_login_failure_locks_exactly_at_the_limit(previous, max_failures, minutes):
    now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    previous = min(previous, max_failures - 1)
    outcome = rules.login_failure(failed_logins=previous, now=now, max_failures=max_failures, lock_minutes=minutes)
    if previous + 1 >= max_failures:
        assert outcome.locked and outcome.locked_until == now + dt.timedelta(minutes=minutes)
        assert outcome.failed_logins == 0
    else:
        assert not outcome.locked and outcome.failed_logins == previous + 1


def test_is_locked():
    now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert rules.is_locked(locked_until=now + dt.timedelta(seconds=1), now=now)
    assert not rules.is_locked(locked_until=now, now=now)
    assert not rules.is_locked(locked_until=None, now=now)


KINDS = ["small_car", "bus", "truck", "trailer", "motorcycle"]
USES = ["private", "passenger_commercial", "taxi", "freight", "bus_service", "learner", "official"]
PLATE_TYPES = ["01", "02", "15", "16", "07", "51", "52"]
STATUSES = ["normal", "mortgaged", "seized", "stolen", "scrapped", "transferred"]


@given(kind=st.sampled_from(KINDS), use=st.sampled_from(USES), plate_type=st.sampled_from(PLATE_TYPES),
       status=st.sampled_from(STATUSES), owned=st.booleans())
def test_only_private_small_cars_of_persons_are_bindable(kind, use, plate_type, status, owned):
    ok = rules.other_vehicle_bindable(kind=kind, use=use, plate_type=plate_type, status=status, owned_by_person=owned)
    expected = (owned and kind == "small_car" and use == "private" and plate_type in ("02", "52")
                and status not in ("scrapped", "transferred", "stolen"))
    assert ok == expected


@pytest.mark.parametrize("max_users,bound,left", [(3, 0, 2), (3, 1, 1), (3, 2, 0), (3, 5, 0), (1, 0, 0)])
def test_seats_left_counts_the_owner(max_users, bound, left):
    assert rules.seats_left(max_users=max_users, other_users_bound=bound) == left


@pytest.mark.parametrize("name,ok", [
    ("clerk01", True), ("admin01", True), ("a.b-c_d", True), ("ab", False), ("1clerk", False),
    ("13800138000", False), ("x" * 33, False), ("警号001", False), ("", False), ("has space", False),
])
def test_staff_usernames(name, ok):
    assert rules.staff_username_ok(name) is ok


@given(st.text(alphabet="0123456789", min_size=3, max_size=32))
def test_a_username_never_looks_like_a_phone_number(digits):
    assert not rules.staff_username_ok(digits)


@given(events=st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=5),
       now=st.floats(min_value=100, max_value=200, allow_nan=False))
def test_the_announced_wait_is_enough(events, now):
    rate = Rate(1, 60)
    ok, retry = window_admits(events=events, now=now, rate=rate)
    if not ok:
        assert window_admits(events=events, now=now + retry, rate=rate)[0]
