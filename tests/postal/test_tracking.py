"""S10 tracking numbers (EMS / China Post): the check digit, normalisation, clear messages."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.errors import InvalidInput
from jiaoguan.postal.tracking import (
    is_tracking_number,
    make_tracking_number,
    s10_check_digit,
    validate_tracking_number,
)


def test_known_numbers():
    assert s10_check_digit("12345678") == "5"  # the UPU example: RA123456785CN
    assert make_tracking_number(service="RA", serial=12345678) == "RA123456785CN"
    assert s10_check_digit("00000000") == "5"  # 11 - 0 = 11 → 5
    assert validate_tracking_number(" ea 1234-5678 5cn ") == "EA123456785CN"


@given(serial=st.integers(0, 10**8 - 1), service=st.sampled_from(["EA", "EZ", "RR", "CP"]))
def test_every_made_number_is_valid_and_every_wrong_check_digit_is_caught(serial, service):
    number = make_tracking_number(service=service, serial=serial)
    assert is_tracking_number(number) and validate_tracking_number(number.lower()) == number
    for wrong in set("0123456789") - {number[10]}:
        assert not is_tracking_number(number[:10] + wrong + number[11:])


@given(serial=st.integers(0, 10**8 - 1), position=st.integers(2, 9), delta=st.integers(1, 9))
def test_a_single_mistyped_digit_is_caught(serial, position, delta):
    number = make_tracking_number(service="EA", serial=serial)
    typo = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]

    def residue(n):
        return sum(int(d) * w for d, w in zip(n[2:10], (8, 6, 4, 2, 3, 5, 9, 7))) % 11

    # the weighted sum mod 11 always changes; S10's only blind spot is that residues 0 and 6 both give check "5"
    assert residue(typo) != residue(number)
    assert is_tracking_number(typo) == ({residue(typo), residue(number)} == {0, 6})


@pytest.mark.parametrize("value, code", [
    ("", "postal.tracking_required"),
    ("EA12345678CN", "postal.tracking_format"),
    ("1A123456785CN", "postal.tracking_format"),
    ("EA123456784CN", "postal.tracking_check_digit"),
])
def test_bad_numbers_are_refused_with_a_field_message(value, code):
    with pytest.raises(InvalidInput) as exc:
        validate_tracking_number(value)
    assert exc.value.code == code and exc.value.field == "tracking_number"
