"""Payment references (缴款编号): our own format, from a number range reserved for the traffic police.

Format (18 digits, printed in groups of four: ``4403 9100 0000 0012 77``)::

    PPPPP  K  SSSSSSSSSS  CC
    |      |  |           └─ two check digits, ISO 7064 MOD 97-10 over the 16 digits before them
    |      |  └─ sequence: the record's number, zero-padded to 10 digits
    |      └─ kind: 1 = payable item (printed on a penalty decision), 2 = order (on the e-receipt)
    └─ range prefix reserved for the traffic police (setting JIAOGUAN_PAY_REFERENCE_PREFIX, default "44039")

The prefix is the anti-fraud idea of Shenzhen's 缴费一维码: a scanned or typed code that is not in our range,
or whose check digits do not match, is refused by ``reference_parse`` before anything is looked up. MOD 97-10
(python-stdnum's ``stdnum.iso7064.mod_97_10``) catches every single-digit error and every swap of two adjacent
digits. Spaces, hyphens and full-width digits in typed input are ignored.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from stdnum.iso7064 import mod_97_10

from jiaoguan.core.errors import InvalidInput

KIND_ITEM = "1"
KIND_ORDER = "2"
KINDS = {KIND_ITEM, KIND_ORDER}
SEQUENCE_DIGITS = 10


def reference_prefix() -> str:
    prefix = "".join(ch for ch in str(settings.JIAOGUAN_PAY_REFERENCE_PREFIX) if ch.isdigit())
    if not 3 <= len(prefix) <= 8:
        raise ValueError("JIAOGUAN_PAY_REFERENCE_PREFIX must hold 3 to 8 digits")
    return prefix


def reference_length() -> int:
    return len(reference_prefix()) + 1 + SEQUENCE_DIGITS + 2


@dataclass(frozen=True)
class Reference:
    code: str  # digits only
    kind: str
    sequence: int

    @property
    def display(self) -> str:
        return reference_display(self.code)

    def __str__(self) -> str:
        return self.code


def reference_make(*, kind: str, sequence: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown reference kind {kind!r}")
    if not 0 < sequence < 10**SEQUENCE_DIGITS:
        raise ValueError("sequence out of range")
    body = f"{reference_prefix()}{kind}{sequence:0{SEQUENCE_DIGITS}d}"
    return body + mod_97_10.calc_check_digits(body)


def reference_display(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def _bad(zh: str, en: str, code: str = "payments.reference_invalid") -> InvalidInput:
    return InvalidInput(code, zh, en, field="reference")


def reference_parse(text: str, *, kind: str | None = None) -> Reference:
    """Validate a scanned or typed reference without touching the database. Raises InvalidInput (422) with
    field "reference": wrong shape, outside our range, unknown kind, or bad check digits."""
    if not isinstance(text, str):
        raise _bad("缴款编号格式不正确", "The payment reference is not valid")
    raw = unicodedata.normalize("NFKC", text)
    digits = "".join(ch for ch in raw if ch not in " -\u00a0\t")
    if not digits.isascii() or not digits.isdigit() or len(digits) != reference_length():
        raise _bad(f"缴款编号应为{reference_length()}位数字", f"A payment reference has {reference_length()} digits")
    prefix = reference_prefix()
    if not digits.startswith(prefix):
        raise _bad("该编号不是交警部门的缴款编号，请勿缴费", "This is not a traffic-police payment reference; do not pay",
                   "payments.reference_out_of_range")
    if not mod_97_10.is_valid(digits):
        raise _bad("缴款编号校验位错误，请核对后重新输入", "The check digits of the payment reference are wrong",
                   "payments.reference_check_digit")
    ref_kind = digits[len(prefix)]
    sequence = int(digits[len(prefix) + 1:-2])
    if ref_kind not in KINDS or sequence == 0 or (kind is not None and ref_kind != kind):
        raise _bad("该编号不是有效的缴款编号", "This is not a valid payment reference", "payments.reference_out_of_range")
    return Reference(code=digits, kind=ref_kind, sequence=sequence)


def reference_barcode_svg(code: str) -> str:
    """The reference as a Code 128 barcode (python-barcode), SVG text with the grouped digits printed below."""
    from barcode import Code128  # lazy: a heavy third-party import, only for the pages that draw codes
    from barcode.writer import SVGWriter

    out = io.BytesIO()
    Code128(code, writer=SVGWriter()).write(out, options={"module_height": 12.0, "font_size": 8, "text_distance": 4,
                                                          "quiet_zone": 4.0})
    svg = out.getvalue().decode("utf-8")
    # drop the XML prolog and doctype so it can be inlined in a page; its style="fill:…" become SVG attributes,
    # which the Content-Security-Policy (style-src 'self', no inline style) lets the browser apply
    return _STYLE_ATTRIBUTE.sub(_as_presentation_attributes, svg[svg.index("<svg"):])


_STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')


def _as_presentation_attributes(match: re.Match[str]) -> str:
    """``style="fill:black;font-size:8pt"`` → ``fill="black" font-size="8pt"`` (python-barcode writes only SVG
    presentation properties: fill, font-size, text-anchor)."""
    pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def reference_qr_svg(code: str, *, scale: int = 4) -> str:
    """The reference as a QR code (segno.make_qr: never Micro QR, which many phones cannot read), SVG text."""
    import segno  # lazy: a heavy third-party import, only for the pages that draw codes

    out = io.BytesIO()
    segno.make_qr(code, error="m").save(out, kind="svg", scale=scale, xmldecl=False, svgns=True,
                                         title=reference_display(code))
    return out.getvalue().decode("utf-8")


_SVG_SIZE = re.compile(r'^<svg([^>]*?)\swidth="([\d.]+)(mm|px)?"\s+height="([\d.]+)(mm|px)?"')
_PX_PER = {"mm": 96 / 25.4, "px": 1.0, None: 1.0}


def svg_fluid(svg: str) -> str:
    """Give an inline SVG from reference_barcode_svg / reference_qr_svg a viewBox, so CSS can size it (fill a
    phone's width, print at a fixed size) without cropping. Its fixed width and height stay as the default size."""
    svg = str(svg or "")
    m = _SVG_SIZE.match(svg)
    if not m:
        return svg
    w = float(m.group(2)) * _PX_PER[m.group(3)]
    h = float(m.group(4)) * _PX_PER[m.group(5)]
    return (f'<svg{m.group(1)} width="{m.group(2)}{m.group(3) or ""}" height="{m.group(4)}{m.group(5) or ""}" '
            f'viewBox="0 0 {w:.3f} {h:.3f}" preserveAspectRatio="xMidYMid meet"' + svg[m.end():])
