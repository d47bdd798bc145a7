"""Identifiers with check characters (DOMAIN §2): 身份证, 统一社会信用代码, VIN, plates, phone numbers."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.identifiers import (
    PLATE_LETTERS,
    PLATE_SUFFIXES,
    PROVINCES,
    USCC_ALPHABET,
    VIN_ALPHABET,
    format_plate,
    id_number_birth_date,
    id_number_check_digit,
    id_number_is_male,
    id_region_codes,
    make_id_number,
    make_uscc,
    make_vin,
    plate_kind,
    validate_id_number,
    validate_phone,
    validate_plate,
    validate_uscc,
    validate_vin,
    vin_check_digit,
)

TODAY = dt.date(2026, 6, 1)
REGIONS = sorted(id_region_codes())


def substitutions(value: str, alphabet: str):
    """Every string that differs from ``value`` in exactly one position, by a character of ``alphabet``."""
    for i, original in enumerate(value):
        for c in alphabet:
            if c != original:
                yield i, c, value[:i] + c + value[i + 1:]


def assert_invalid(fn, value, *, code: str | None = None, field: str, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        fn(value, **kwargs)
    err = info.value
    assert err.status == 422
    assert err.field == field and field in err.fields
    assert err.zh and err.en and err.zh != err.en
    if code is not None:
        assert err.code == code, (value, err.code)
    return err


# --- 身份证 ---------------------------------------------------------------------------------------------------

id_numbers = st.builds(
    make_id_number,
    st.sampled_from(REGIONS),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


def test_check_digit_follows_the_domain_formula():
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    body = "11010519491231002"
    assert "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11] == "X"
    assert id_number_check_digit(body) == "X"
    assert validate_id_number("11010519491231002X", today=TODAY) == "11010519491231002X"


def test_made_numbers_agree_with_python_stdnum():
    # make_id_number used to pass 17 digits to stdnum's calc_check_digit, which expects all 18: every number
    # it made had a wrong check digit.
    number = make_id_number("440304", dt.date(1990, 1, 1), 123)
    assert number == "440304199001011233"
    assert ric.is_valid(number)


@settings(max_examples=150)
@given(id_numbers)
def test_every_valid_id_number_is_accepted(number):
    assert validate_id_number(number, today=TODAY) == number
    assert validate_id_number(f" {number[:6]} {number[6:14]} {number[14:].lower()} ", today=TODAY) == number
    assert id_number_birth_date(number) == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert id_number_is_male(number) == (int(number[16]) % 2 == 1)


@settings(max_examples=60)
@given(id_numbers)
def test_every_single_character_change_of_an_id_number_is_rejected(number):
    for i, c, changed in substitutions(number, "0123456789X"):
        with pytest.raises(InvalidInput) as info:
            validate_id_number(changed, today=TODAY)
        assert info.value.field == "id_number", (i, c)


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "id_number.required"),
        ("   ", "id_number.required"),
        (None, "id_number.required"),
        ("11010519491231002", "id_number.format"),  # 17 characters
        ("11010519491231002X1", "id_number.format"),  # 19 characters
        ("1101051949123100X2", "id_number.format"),  # X not last
        ("11010519491231002Y", "id_number.format"),
        ("A1010519491231002X", "id_number.format"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "id_number.format"),  # Arabic-Indic digits are digits to Python, not to us
        ("110105194912310021", "id_number.check_digit"),
    ],
)
def test_malformed_id_numbers(value, code):
    assert_invalid(validate_id_number, value, code=code, field="id_number", today=TODAY)


@pytest.mark.parametrize(
    "body, code",
    [
        ("11010519901301001", "id_number.birth_date"),  # month 13
        ("11010519900230001", "id_number.birth_date"),  # 30 February
        ("11010518991231001", "id_number.birth_date"),  # before 1900
        ("11010520260602001", "id_number.birth_date"),  # after "today"
        ("00000019900101001", "id_number.region"),
        ("99999919900101001", "id_number.region"),
        ("44039919900101001", "id_number.region"),  # Guangdong, but no such county code
    ],
)
def test_bad_birth_date_or_region_with_a_correct_check_digit(body, code):
    number = body + id_number_check_digit(body)
    assert_invalid(validate_id_number, number, code=code, field="id_number", today=TODAY)


def test_future_birth_date_is_judged_against_the_clock(clock):
    number = make_id_number("440305", dt.date(2026, 7, 1), 1)
    clock.freeze(dt.date(2026, 6, 30))
    assert_invalid(validate_id_number, number, code="id_number.birth_date", field="id_number")
    clock.freeze(dt.date(2026, 7, 1))
    assert validate_id_number(number) == number


def test_region_codes_of_any_era_are_accepted():
    # 440309 龙华区 exists since 2016; a number issued there to someone born earlier is still real.
    assert validate_id_number(make_id_number("440309", dt.date(1990, 5, 5), 7), today=TODAY)
    # 440302 was a district office only 1983–1990.
    assert validate_id_number(make_id_number("440302", dt.date(2001, 5, 5), 8), today=TODAY)


def test_full_width_input_and_a_lower_case_x_are_normalised():
    assert validate_id_number("１１０１０５１９４９１２３１００２ｘ", today=TODAY) == "11010519491231002X"


def test_custom_field_name_is_reported():
    with pytest.raises(InvalidInput) as info:
        validate_id_number("123", field="holder_id", today=TODAY)
    assert info.value.field == "holder_id"
    assert info.value.as_dict("en")["fields"] == {"holder_id": info.value.en}


def test_make_id_number_refuses_bad_parts():
    with pytest.raises(ValueError):
        make_id_number("440304", dt.date(1990, 1, 1), 1000)
    with pytest.raises(ValueError):
        make_id_number("44030", dt.date(1990, 1, 1), 1)


# --- 统一社会信用代码 --------------------------------------------------------------------------------------------

usccs = st.builds(
    lambda first, second, region, org: make_uscc(first + second + region + org),
    st.sampled_from("123456789ANY"),
    st.sampled_from("123456789"),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


def test_known_uscc():
    assert validate_uscc("91110000600037341L") == "91110000600037341L"
    assert validate_uscc("9111 0000 6000 3734 1l") == "91110000600037341L"


def test_uscc_check_character_follows_the_domain_formula():
    body = "91110000600037341"
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    assert USCC_ALPHABET[(31 - total % 31) % 31] == "L" == make_uscc(body)[-1]


@settings(max_examples=150)
@given(usccs)
def test_every_valid_uscc_is_accepted(code):
    assert validate_uscc(code) == code
    if code[:8].isdigit():
        assert uscc.is_valid(code)  # agrees with python-stdnum wherever stdnum's narrower format applies


@settings(max_examples=40)
@given(usccs)
def test_every_single_character_change_of_a_uscc_is_rejected(code):
    for i, c, changed in substitutions(code, USCC_ALPHABET + "IOSVZ"):
        with pytest.raises(InvalidInput) as info:
            validate_uscc(changed)
        assert info.value.field == "uscc", (i, c)


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "uscc.format"),
        ("91110000600037341", "uscc.format"),
        ("91110000600037341L0", "uscc.format"),
        ("91110000600037341I", "uscc.format"),
        ("9111000060003734OL", "uscc.format"),
        ("9111000060003734SL", "uscc.format"),
        ("0111000060003734FL", "uscc.format"),  # no registration authority 0
        ("9A110000600037341L", "uscc.format"),  # positions 2–8 are digits
        ("91110000600037341M", "uscc.check_digit"),
    ],
)
def test_malformed_uscc(value, code):
    assert_invalid(validate_uscc, value, code=code, field="uscc")


def test_uscc_of_agricultural_and_other_registrations():
    # 登记管理部门 N (农业) and Y (其他) start with a letter; python-stdnum alone would refuse them.
    for body in ("N2440300MA5F12345", "Y1440300MA5F12345"):
        code = make_uscc(body)
        assert validate_uscc(code) == code


# --- VIN ------------------------------------------------------------------------------------------------------

VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
vins = st.builds(make_vin, st.text(VIN_ALPHABET, min_size=8, max_size=8), st.text(VIN_ALPHABET, min_size=8, max_size=8))


def test_known_vin():
    assert validate_vin("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"  # the ISO 3779 textbook example
    assert validate_vin("1m8gdm9a-xkp042788") == "1M8GDM9AXKP042788"
    assert vin_check_digit("1M8GDM9A0KP042788") == "X"


@settings(max_examples=150)
@given(vins)
def test_every_valid_vin_is_accepted(vin):
    assert len(vin) == 17
    assert validate_vin(vin) == vin


@settings(max_examples=60)
@given(vins)
def test_every_single_character_change_of_a_vin_is_rejected_unless_the_standard_cannot_see_it(vin):
    """ISO 3779 transliterates letters to digits (A, J and 1 are all 1): swapping a character for another of
    the same value keeps the check digit, which is the standard's blind spot. Every other substitution — and
    every change of the check digit itself — is rejected."""
    for i, c, changed in substitutions(vin, VIN_ALPHABET + "IOQ"):
        if i != 8 and c in VALUES and VALUES[c] == VALUES[vin[i]]:
            assert validate_vin(changed) == changed
            continue
        with pytest.raises(InvalidInput) as info:
            validate_vin(changed)
        assert info.value.field == "vin", (i, c)


def test_the_vin_check_digit_blind_spot_is_real():
    # A→J (both 1) and 8→Y (both 8) keep the check digit X: documented, not a bug of ours
    assert validate_vin("1M8GDM9JXKP042788") == "1M8GDM9JXKP042788"
    assert validate_vin("1M8GDM9AXKP0427Y8") == "1M8GDM9AXKP0427Y8"
    # …while a change of value is caught
    assert_invalid(validate_vin, "1M8GDM9BXKP042788", code="vin.check_digit", field="vin")


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "vin.format"),
        ("1M8GDM9AXKP04278", "vin.format"),  # 16
        ("1M8GDM9AXKP0427888", "vin.format"),  # 18
        ("1M8GDM9AXKP04278I", "vin.format"),
        ("1M8GDM9AXKP0427O8", "vin.format"),
        ("1M8GDM9AXKP0427Q8", "vin.format"),
        ("1M8GDM9AXKP04278!", "vin.format"),
        ("1M8GDM9A1KP042788", "vin.check_digit"),
    ],
)
def test_malformed_vins(value, code):
    assert_invalid(validate_vin, value, code=code, field="vin")


def test_make_vin_refuses_bad_parts():
    with pytest.raises(ValueError):
        make_vin("LSVAM41", "12345678")
    with pytest.raises(ValueError):
        make_vin("LSVAM41O", "12345678")


# --- Plates (GA 36, DOMAIN §2) --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value, canonical, kind",
    [
        ("粤B12345", "粤B12345", "standard"),
        ("粤B·A1234", "粤BA1234", "standard"),
        ("粤b 8a8z8", "粤B8A8Z8", "standard"),
        ("粤Ｂ１２３４５", "粤B12345", "standard"),  # full-width typing
        ("粤BD12345", "粤BD12345", "nev_small"),  # pure electric
        ("粤BF12345", "粤BF12345", "nev_small"),  # other new energy
        ("粤BDF1234", "粤BDF1234", "nev_small"),  # second character may be a letter
        ("粤B12345D", "粤B12345D", "nev_large"),
        ("粤B12345F", "粤B12345F", "nev_large"),
        ("粤B1234挂", "粤B1234挂", "suffix"),
        ("粤BA123学", "粤BA123学", "suffix"),
        ("粤B1234警", "粤B1234警", "suffix"),
        ("粤Z1234港", "粤Z1234港", "suffix"),
        ("粤Z1234澳", "粤Z1234澳", "suffix"),
        ("京A00001", "京A00001", "standard"),
        ("粤BD1234", "粤BD1234", "standard"),  # five characters: an ordinary plate that happens to start with D
    ],
)
def test_valid_plates(value, canonical, kind):
    assert validate_plate(value) == canonical
    assert plate_kind(canonical) == kind


@pytest.mark.parametrize(
    "value",
    [
        "",
        "粤",
        "粤B",
        "粤B1234",  # too short
        "粤B123456",  # 6 characters but not a new-energy pattern
        "粤BI2345",  # letter I
        "粤BO2345",
        "粤I12345",  # office letter I
        "粤O12345",
        "粤112345",  # office must be a letter
        "港B12345",  # not a province
        "AB12345",
        "粤B12345学1",
        "粤B12345学",  # suffix plates have 4 characters before the suffix
        "粤BF1A234",  # small NEV: D/F, a letter or digit, then FOUR DIGITS (DOMAIN §2)
        "粤BA12345",  # 6 characters starting with a letter other than D/F
        "粤B1234AD",  # large NEV: five digits then D/F
        "粤BD١٢٣٤٥",  # non-ASCII digits
        "粤B1234使",
    ],
)
def test_invalid_plates(value):
    assert_invalid(validate_plate, value, code="plate.format", field="plate")


_ld = PLATE_LETTERS + "0123456789"
plates = st.one_of(
    st.tuples(st.text(_ld, min_size=5, max_size=5)).map(lambda t: ("standard", t[0])),
    st.tuples(st.sampled_from("DF"), st.sampled_from(_ld), st.text("0123456789", min_size=4, max_size=4)).map(
        lambda t: ("nev_small", "".join(t))),
    st.tuples(st.text("0123456789", min_size=5, max_size=5), st.sampled_from("DF")).map(
        lambda t: ("nev_large", "".join(t))),
    st.tuples(st.text(_ld, min_size=4, max_size=4), st.sampled_from(PLATE_SUFFIXES)).map(
        lambda t: ("suffix", "".join(t))),
)


@settings(max_examples=200)
@given(st.sampled_from(PROVINCES), st.sampled_from(PLATE_LETTERS), plates)
def test_generated_plates(province, office, kind_rest):
    kind, rest = kind_rest
    plate = province + office + rest
    assert validate_plate(plate) == plate
    assert validate_plate(format_plate(plate)) == plate  # the display form parses back
    assert plate_kind(plate) == kind
    # I and O never appear, anywhere after the province
    for i in range(1, len(plate)):
        for bad in "IO":
            assert_invalid(validate_plate, plate[:i] + bad + plate[i + 1:], code="plate.format", field="plate")
    # a province character that is not one
    assert_invalid(validate_plate, "中" + plate[1:], code="plate.format", field="plate")


def test_there_are_31_provinces_and_24_office_letters():
    assert len(set(PROVINCES)) == 31
    assert set(PLATE_LETTERS) == set("ABCDEFGHJKLMNPQRSTUVWXYZ")


def test_format_plate():
    assert format_plate("粤B12345") == "粤B·12345"
    assert format_plate("粤BD12345") == "粤B·D12345"


# --- Phone numbers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value",
    ["13800138000", " 138 0013 8000 ", "138-0013-8000", "+8613800138000", "+86 138 0013 8000", "008613800138000",
     "１３８００１３８０００", "19912345678"],
)
def test_valid_phones(value):
    expected = "13800138000" if "138" in value or "１３８" in value else "19912345678"
    assert validate_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", None, "12800138000", "1380013800", "138001380000", "23800138000", "1380013800a", "+85213800138000",
     "١٣٨٠٠١٣٨٠٠٠", "abcdefghijk"],
)
def test_invalid_phones(value):
    assert_invalid(validate_phone, value, code="phone.format", field="phone")


@given(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
def test_generated_phones(second, rest):
    phone = "1" + second + rest
    assert validate_phone(phone) == phone
    assert validate_phone("+86" + phone) == phone
    with pytest.raises(InvalidInput):
        validate_phone(phone + "0")
    with pytest.raises(InvalidInput):
        validate_phone(phone[:-1])


@pytest.mark.parametrize(("plate", "plate_type", "green"), [
    ("粤BD12345", "52", True), ("粤B12345D", "51", True), ("粤BD12345", "", True), ("粤B12345D", "", True),
    ("粤BA1234", "02", False), ("粤BA1234", "", False), ("粤BA1234", "52", True),  # the type decides when known
    ("", "", False), ("not a plate", "", False),
])
def test_is_new_energy_plate(plate, plate_type, green):
    from jiaoguan.core.identifiers import is_new_energy_plate

    assert is_new_energy_plate(plate=plate, plate_type=plate_type) is green


@pytest.mark.parametrize(("plate", "plate_type", "colour"), [
    ("粤BH8M36", "01", "yellow"),  # a large truck's plate is yellow, not blue
    ("粤BA1234", "02", "blue"), ("粤BD12345", "52", "green"), ("粤B12345D", "51", "yellow-green"),
    ("粤BA123挂", "15", "yellow"), ("粤BA123学", "16", "yellow"), ("粤BA1234", "07", "yellow"),
    ("粤BD12345", "", "green"), ("粤B12345D", "", "yellow-green"), ("粤BA123挂", "", "yellow"),
    ("粤BA123学", "", "yellow"), ("粤BA123警", "", "white"), ("粤BA1234", "", "blue"), ("not a plate", "", "blue"),
])
def test_plate_colour(plate, plate_type, colour):
    from jiaoguan.core.identifiers import plate_colour

    assert plate_colour(plate, plate_type) == colour


@pytest.mark.parametrize(("value", "css"), [
    ("粤BD12345", "nev"), ("粤BA1234", ""), ("粤BA123学", "large"),
])
def test_plate_tone_filter_draws_the_plates_colour(value, css):
    from types import SimpleNamespace

    from jiaoguan.core.templatetags.jiaoguan import plate_tone

    assert plate_tone(value) == css
    assert plate_tone(SimpleNamespace(plate="粤BH8M36", plate_type="01")) == "large"  # by type: a truck is yellow
    assert plate_tone(SimpleNamespace(plate="粤BD12345", plate_type="small_car")) == "nev"  # not a GA 36 code
