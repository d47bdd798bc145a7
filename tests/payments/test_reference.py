"""Payment references: format, range, check digits, refusal before any lookup, barcode and QR."""
from __future__ import annotations

import re

import pytest
import segno
from barcode import Code128
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.errors import InvalidInput
from jiaoguan.payments import reference as R

sequences = st.integers(min_value=1, max_value=10**10 - 1)
kinds = st.sampled_from([R.KIND_ITEM, R.KIND_ORDER])


def test_format():
    code = R.reference_make(kind="1", sequence=12)
    assert code == "440391000000001294"
    assert R.reference_display(code) == "4403 9100 0000 0012 94"
    ref = R.reference_parse("4403 9100 0000 0012 94")
    assert (ref.kind, ref.sequence, ref.code) == ("1", 12, code)


@given(kinds, sequences)
def test_round_trip(kind, seq):
    code = R.reference_make(kind=kind, sequence=seq)
    assert len(code) == 18 and code.startswith("44039")
    assert R.reference_parse(code, kind=kind).sequence == seq


@given(kinds, sequences, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9))
def test_every_single_digit_change_is_refused(kind, seq, pos, delta):
    code = R.reference_make(kind=kind, sequence=seq)
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1:]
    with pytest.raises(InvalidInput) as exc:
        R.reference_parse(changed)
    assert exc.value.field == "reference"


@given(kinds, sequences, st.integers(min_value=0, max_value=16))
def test_every_adjacent_swap_is_refused(kind, seq, pos):
    code = R.reference_make(kind=kind, sequence=seq)
    if code[pos] == code[pos + 1]:
        return
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    with pytest.raises(InvalidInput):
        R.reference_parse(swapped)


def test_outside_our_range_is_refused_even_with_valid_check_digits():
    from stdnum.iso7064 import mod_97_10

    body = "1234510000000012"  # someone else's range, correct MOD 97-10 digits
    with pytest.raises(InvalidInput) as exc:
        R.reference_parse(body + mod_97_10.calc_check_digits(body))
    assert exc.value.code == "payments.reference_out_of_range"


@pytest.mark.parametrize("text", ["", "abc", "44039100000000129", "4403910000000012944", "４４０３９１０００００００００１２９５",
                                  "440391000000001295", "44039 1000 0000 0012 9x"])
def test_bad_shapes_and_check_digits(text):
    with pytest.raises(InvalidInput) as exc:
        R.reference_parse(text)
    assert exc.value.field == "reference"


def test_typed_input_is_normalised():
    assert R.reference_parse("４４０３-９１００-００００-００１２-９４").code == "440391000000001294"


def test_wrong_kind_is_refused():
    code = R.reference_make(kind=R.KIND_ORDER, sequence=5)
    with pytest.raises(InvalidInput):
        R.reference_parse(code, kind=R.KIND_ITEM)


def test_prefix_is_configurable(settings):
    settings.JIAOGUAN_PAY_REFERENCE_PREFIX = "5100 1"
    code = R.reference_make(kind="1", sequence=3)
    assert code.startswith("51001") and R.reference_parse(code).sequence == 3
    settings.JIAOGUAN_PAY_REFERENCE_PREFIX = "44039"
    with pytest.raises(InvalidInput):
        R.reference_parse(code)


def test_code128_svg():
    code = R.reference_make(kind="1", sequence=77)
    svg = R.reference_barcode_svg(code)
    assert svg.startswith("<svg") and svg.count("<rect") > 20
    assert Code128(code).get_fullcode() == code
    assert "4403" in svg  # the human-readable line under the bars


def test_qr_svg_is_a_full_qr_code():
    code = R.reference_make(kind="2", sequence=77)
    svg = R.reference_qr_svg(code)
    assert svg.startswith("<svg") and re.search(r'<path[^>]+d="M', svg)
    assert not segno.make_qr(code).is_micro
