"""Pure rules: GA 36 validity of every generated number (hypothesis), compose shapes, policies, keeping a plate."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.identifiers import PLATE_LETTERS, plate_kind, validate_plate
from jiaoguan.plates import rules

DIGITS = "0123456789"
series_char = st.sampled_from(list("#@*") + list(PLATE_LETTERS) + list(DIGITS))


@given(st.lists(series_char, min_size=5, max_size=5).map("".join))
@settings(max_examples=60, deadline=None)
def test_every_generated_ordinary_number_is_valid(series):
    for serial in itertools.islice(rules.expand_series(series), 300):
        number = "粤B" + serial
        if rules.is_pool_number(number, rules.ORDINARY):
            assert validate_plate(number) == number
            assert plate_kind(number) == "standard"
            assert rules.letters_in(serial) <= 2
            assert "I" not in serial and "O" not in serial
        else:
            assert rules.letters_in(serial) > 2


@given(st.sampled_from("DF"), st.sampled_from(list(PLATE_LETTERS + DIGITS)), st.text(DIGITS, min_size=4, max_size=4))
def test_nev_small_numbers(first, second, rest):
    number = f"粤B{first}{second}{rest}"
    assert rules.is_pool_number(number, rules.NEV_SMALL)
    assert not rules.is_pool_number(number, rules.ORDINARY)


@given(st.text(alphabet=PLATE_LETTERS + DIGITS + "IO", min_size=0, max_size=7))
def test_check_number_never_accepts_what_validate_plate_refuses(serial):
    number = "粤B" + serial
    for kind in rules.KIND_SHAPES:
        try:
            out = rules.check_number(number, kind=kind, prefix="粤B")
        except InvalidInput:
            continue
        assert validate_plate(out) == out and "I" not in out[2:] and "O" not in out[2:]
        assert plate_kind(out) == rules.KIND_SHAPES[kind]


def test_series_size_and_expansion():
    assert rules.series_size("A####") == 10_000
    assert rules.series_size("@####") == 240_000
    assert list(rules.expand_series("A000#"))[:3] == ["A0000", "A0001", "A0002"]
    with pytest.raises(InvalidInput):
        rules.check_series("A###", kind=rules.ORDINARY)
    with pytest.raises(InvalidInput):
        rules.check_series("A#####", kind=rules.ORDINARY)
    assert rules.check_series("d0####", kind=rules.NEV_SMALL) == "D0####"


def test_compose_shapes():
    assert rules.shape_of("A1B23") == "LNLNN"
    rules.check_composed("粤BA1234", kind=rules.ORDINARY, patterns=None)
    with pytest.raises(InvalidInput) as e:
        rules.check_composed("粤B12345", kind=rules.ORDINARY, patterns=None)
    assert e.value.code == "plates.pattern" and e.value.field == "number"
    rules.check_composed("粤B12345", kind=rules.ORDINARY, patterns={"02": ["NNNNN"]})


def test_policies():
    assert rules.policy_matches("prefix", "J", "J1234")
    assert not rules.policy_matches("prefix", "J", "AJ123")
    assert rules.policy_matches("contains", "4", "A1240")
    assert rules.policy_matches("regex", r".*(\d)\1{3}.*", "A8888")
    assert not rules.policy_matches("regex", r".*(\d)\1{3}.*", "A8878")
    for rule, value in (("prefix", "I"), ("contains", ""), ("regex", "("), ("nope", "A")):
        with pytest.raises(InvalidInput):
            rules.check_policy(rule, value)


@given(st.integers(0, 2000), st.integers(0, 1500))
def test_keep_rule(held_days, ago):
    today = dt.date(2026, 11, 21)
    given_up = today - dt.timedelta(days=ago)
    held_from = given_up - dt.timedelta(days=held_days)
    codes = {r.code for r in rules.keep_refusals(held_from=held_from, given_up_on=given_up, today=today,
                                                 violations_cleared=True)}
    assert ("plates.keep_held_too_short" in codes) == (held_days < 365)
    assert ("plates.keep_too_late" in codes) == (ago > 730)
    assert "plates.keep_violations" in {r.code for r in rules.keep_refusals(
        held_from=held_from, given_up_on=given_up, today=today, violations_cleared=False)}


def test_life_cycles_of_a_selection_and_a_number():
    """The machines the services check (core.states): a selection is worked on only while open and confirmed
    once; a pool number is never taken from someone (assigned → held) nor held straight from assigned."""
    from jiaoguan.core.errors import Conflict
    from jiaoguan.plates.models import PlateNumber, Selection

    assert rules.SELECTION.states == set(Selection.Status.values)
    assert rules.NUMBER.states == set(PlateNumber.Status.values)
    assert rules.SELECTION.terminal == {"confirmed", "cancelled"}
    assert rules.SELECTION.sources("confirmed") == {"open"}
    assert rules.NUMBER.sources("assigned") == {"held"}
    for cur, to in [("assigned", "held"), ("available", "assigned"), ("withheld", "assigned")]:
        with pytest.raises(Conflict) as exc:
            rules.NUMBER.check(cur, to)
        assert exc.value.code == "plates.number_status"
