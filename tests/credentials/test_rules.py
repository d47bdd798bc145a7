"""Pure rules: Damm check digits, number format, masking of stray identifiers, dates, canonical content."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.ids import parse_id
from jiaoguan.credentials import rules

digits = st.text(alphabet="0123456789", min_size=14, max_size=14)


def test_numbers_are_well_formed():
    for _ in range(50):
        n = rules.number_new(2026)
        assert len(n) == 15 and n.startswith("2026") and rules.number_valid(n)
    assert not rules.number_valid("")
    assert not rules.number_valid("20261234567890")  # too short
    assert not rules.number_valid("２０２６１２３４５６７８９０１")  # full-width digits
    assert rules.number_display("202612345678901") == "2026 1234 5678 901"


@given(digits, st.integers(0, 13), st.integers(1, 9))
def test_every_single_digit_error_is_caught(body, pos, delta):
    number = body + rules.damm_digit(body)
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert rules.number_valid(number) and not rules.number_valid(wrong)


@given(digits, st.integers(0, 13))
def test_every_swap_of_neighbours_is_caught(body, pos):
    number = body + rules.damm_digit(body)
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2:]
    assert swapped == number or not rules.number_valid(swapped)


def test_stray_identifiers_are_masked():
    assert rules.mask_personal("身份证 44030419900101123X") == "身份证 4403**********123X"
    assert rules.mask_personal("联系电话13800138000。") == "联系电话138****8000。"
    assert rules.mask_personal("粤B·D12345 09:00–17:00") == "粤B·D12345 09:00–17:00"
    assert rules.mask_personal("4403**********123X") == "4403**********123X"


def test_fields_are_normalised():
    out = rules.normalise_fields([("号牌", "Plate", "粤B***45"), ("电话", "Phone", "13912345678", False)])
    assert out == [{"zh": "号牌", "en": "Plate", "value": "粤B***45", "public": True},
                   {"zh": "电话", "en": "Phone", "value": "139****5678", "public": False}]
    for bad in ([("号牌", "Plate")], [("", "Plate", "x")]):
        try:
            rules.normalise_fields(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_date_status():
    d = dt.date(2026, 10, 1)
    assert rules.date_status(valid_from=d, valid_until=d, on=d) == rules.VALID
    assert rules.date_status(valid_from=d, valid_until=d, on=d + dt.timedelta(days=1)) == rules.EXPIRED
    assert rules.date_status(valid_from=d, valid_until=None, on=d - dt.timedelta(days=1)) == rules.NOT_YET_VALID
    assert rules.date_status(valid_from=d, valid_until=None, on=dt.date(2099, 1, 1)) == rules.VALID


def test_canonical_content_changes_with_every_part():
    base = dict(number="202612345678901", kind="truck_pass", holder_id=7, holder_display="陈*行", title_zh="货车通行证",
                title_en="Truck pass", fields=[{"zh": "号牌", "en": "Plate", "value": "粤B***45", "public": True}],
                valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 2, 1), source_type="applications.application",
                source_id="1", issued_at=dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC), algorithm="ed25519",
                key_id="k1")
    ref = rules.canonical_content(**base)
    assert ref == rules.canonical_content(**dict(base))
    changes = {"number": "202612345678902", "kind": "x", "holder_id": 8, "holder_display": "x", "title_zh": "x",
               "title_en": "x", "fields": [], "valid_from": dt.date(2025, 1, 1), "valid_until": None,
               "source_type": "x", "source_id": "2", "issued_at": dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC),
               "algorithm": "hmac-sha256", "key_id": "k2"}
    for name, value in changes.items():
        assert rules.canonical_content(**{**base, name: value}) != ref, name


def test_parse_id():
    assert parse_id("12") == 12
    assert parse_id("0") is None and parse_id("99999999999999999999") is None
    assert parse_id("²") is None and parse_id("-1") is None and parse_id("") is None
