"""The late fee (DOMAIN §4) and the life-cycle tables."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.money import percent_of
from jiaoguan.payments import rules

D = dt.date(2026, 3, 1)
fines = st.integers(min_value=0, max_value=10**9)
days = st.integers(min_value=-30, max_value=2000)


def fee(fine: int, n: int) -> int:
    return rules.late_fee_fen(fine_fen=fine, decision_date=D, on=D + dt.timedelta(days=n))


def test_examples():
    assert fee(20000, 15) == 0  # the 15th day after the decision is still on time
    assert fee(20000, 16) == 600  # 3% from the 16th day
    assert fee(20000, 20) == 3000  # 5 days late: 15%
    assert fee(20000, 49) == 20000  # capped at the fine
    assert fee(20000, 500) == 20000
    assert fee(5, 16) == 0  # 0.15 fen rounds to nothing
    assert fee(50, 16) == 2  # 1.5 fen rounds half up


@given(fines, days)
def test_never_before_the_16th_day(fine, n):
    if n <= 15:
        assert fee(fine, n) == 0


@given(fines, days)
def test_integer_capped_and_three_percent_a_day(fine, n):
    value = fee(fine, n)
    assert isinstance(value, int) and 0 <= value <= fine
    if n > 15:
        assert value == min(fine, percent_of(fine, 3 * (n - 15)))


@given(fines, days)
def test_never_decreases_day_by_day(fine, n):
    assert fee(fine, n) <= fee(fine, n + 1)


@given(st.integers(min_value=1, max_value=10**9))
def test_reaches_the_cap_after_34_days_late(fine):
    assert fee(fine, 15 + 34) == fine


def test_negative_fine_is_refused():
    with pytest.raises(ValueError):
        fee(-1, 20)


@pytest.mark.parametrize("machine", [rules.ITEM_MACHINE, rules.ORDER_MACHINE, rules.REFUND_MACHINE])
def test_tables_are_closed(machine):
    for old, targets in machine.table.items():
        assert targets <= machine.states, (old, targets)
        assert old not in targets


def test_terminal_item_states():
    assert not rules.ITEM_MACHINE.allows("paid", "unpaid")
    assert not rules.ITEM_MACHINE.allows("cancelled", "paying")
    assert not rules.ITEM_MACHINE.allows("refunded", "paid")
    assert rules.ITEM_MACHINE.allows("paying", "cancelled")
