"""Money in integer fen, and masking of personal data for display."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.core.money import MAX_FEN, fen_to_yuan, format_yuan, percent_of, yuan_to_fen

# --- yuan_to_fen ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, fen",
    [
        ("12.34", 1234),
        ("12.3", 1230),
        ("12", 1200),
        ("0.01", 1),
        ("0", 0),
        ("  200 ", 20000),
        ("¥1,234.50", 123450),
        ("￥1,234.50", 123450),  # full-width yuan sign
        ("1,234,567.89", 123456789),
        ("１２.３４", 1234),  # full-width digits
        ("200元", 20000),
        ("1.230", 123),  # a trailing zero is not a third decimal
        ("-12.30", -1230),
        ("-¥0.50", -50),
        ("+5", 500),
        (12, 1200),
        (Decimal("0.10"), 10),
        (Decimal("1E+3"), 100000),
    ],
)
def test_yuan_to_fen(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    "text",
    ["12.345", "0.001", "1.2345", Decimal("0.005"), "NaN", "nan", "Infinity", "-inf", Decimal("NaN"),
     Decimal("Infinity"), "", "   ", "abc", "12.3.4", "1e3", "1E+30", "12,34", "1,2,3", ",123", "1,234.",
     ".5", "¥", "--5", "12 34", "0x10", "1_000", None, True, "١٢"],
)
def test_yuan_to_fen_refuses(text):
    with pytest.raises(InvalidInput) as info:
        yuan_to_fen(text)
    err = info.value
    assert err.code == "core.money_invalid" and err.field == "amount" and err.status == 422
    assert isinstance(err, DomainError)


def test_yuan_to_fen_names_the_field_and_refuses_amounts_a_column_cannot_hold():
    with pytest.raises(InvalidInput) as info:
        yuan_to_fen("9" * 30, field="fine")
    assert info.value.field == "fine"
    assert yuan_to_fen(str(fen_to_yuan(MAX_FEN))) == MAX_FEN


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_and_parse_round_trip(fen):
    text = format_yuan(fen)
    assert text.startswith("-¥" if fen < 0 else "¥")
    assert yuan_to_fen(text) == fen
    assert yuan_to_fen(str(fen_to_yuan(fen))) == fen
    assert fen_to_yuan(fen) == Decimal(fen) / 100


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=3, max_value=8))
def test_more_than_two_decimals_is_refused_never_rounded(whole, decimals):
    frac = "1".rjust(decimals, "0")  # e.g. 001 — a non-zero digit beyond the second place
    with pytest.raises(InvalidInput):
        yuan_to_fen(f"{whole}.{frac}")


@pytest.mark.parametrize(
    "fen, text",
    [(0, "¥0.00"), (1, "¥0.01"), (1234, "¥12.34"), (-50, "-¥0.50"), (123456789, "¥1,234,567.89"),
     (20000, "¥200.00")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


# --- percent_of -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "fen, percent, result",
    [
        (20000, 3, 600),  # late fee: 3 % of ¥200 is ¥6
        (50, 3, 2),  # 1.5 fen rounds half up
        (49, 3, 1),  # 1.47
        (16, 3, 0),  # 0.48
        (17, 3, 1),  # 0.51
        (-50, 3, -2),  # half away from zero
        (100, "12.5", 13),  # 12.5
        (100, Decimal("0.5"), 1),  # 0.5 rounds up
        (100, 0, 0),
    ],
)
def test_percent_of(fen, percent, result):
    assert percent_of(fen, percent) == result


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=1000))
def test_percent_of_is_the_nearest_fen(fen, percent):
    exact = Decimal(fen) * percent / 100
    result = percent_of(fen, percent)
    assert abs(Decimal(result) - exact) <= Decimal("0.5")
    if exact - int(exact) == Decimal("0.5"):
        assert result == int(exact) + 1  # ties go up
    assert isinstance(result, int)


def test_percent_of_refuses_garbage():
    for bad in ("abc", "NaN", "inf"):
        with pytest.raises(ValueError):
            percent_of(100, bad)


# --- masking --------------------------------------------------------------------------------------------------

def test_masking_examples():
    assert mask_id_number("44030419900101123X") == "4403**********123X"
    assert mask_phone("13800000000") == "138****0000"
    assert mask_name("张三") == "张*"
    assert mask_name("张小明") == "张*明"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("王") == "*"
    assert mask_address("广东省深圳市福田区福华一路1号") == "广东省深圳****"  # a third of the text, at most six characters
    for fn in (mask_id_number, mask_phone, mask_name, mask_address):
        assert fn("") == "" and fn(None) == ""


@given(st.text(alphabet="0123456789X", min_size=9, max_size=30))
def test_mask_id_number_shows_only_the_ends(value):
    masked = mask_id_number(value)
    assert len(masked) == len(value)
    assert masked[:4] == value[:4] and masked[-4:] == value[-4:]
    assert set(masked[4:-4]) == {"*"}


@given(st.text(min_size=0, max_size=8))
def test_short_id_numbers_are_fully_hidden(value):
    assert mask_id_number(value) == "*" * len(value)


@given(st.text(alphabet="0123456789", min_size=7, max_size=15))
def test_mask_phone_hides_the_middle(value):
    masked = mask_phone(value)
    assert len(masked) == len(value) and masked[:3] == value[:3] and masked[-4:] == value[-4:]
    assert set(masked[3:-4]) <= {"*"} and len(masked[3:-4]) == len(value) - 7


@given(st.text(min_size=2, max_size=10))
def test_mask_name_keeps_at_most_first_and_last(value):
    masked = mask_name(value)
    assert len(masked) == len(value) and masked[0] == value[0]
    assert masked.count("*") >= len(value) - 2 and masked.count("*") >= 1


@given(st.text(min_size=1, max_size=60))
def test_mask_address_never_shows_more_than_six_characters(value):
    masked = mask_address(value)
    assert masked.endswith("****")
    shown = masked[:-4]
    assert value.startswith(shown) and 1 <= len(shown) <= 6
    if len(value) > 3:
        assert len(shown) < len(value)
