"""Tracking numbers in the UPU S10 format that China Post / EMS use: two service letters, an 8-digit serial, a
check digit and the country code, e.g. ``EA123456785CN``.

The check digit: weights 8 6 4 2 3 5 9 7 over the serial, ``11 - sum mod 11``; 10 becomes 0 and 11 becomes 5.
A number that fails the check is refused before any lookup, so a typo is told as a typo.
"""
from __future__ import annotations

import re

from jiaoguan.core.errors import InvalidInput

_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_SEPARATORS = re.compile(r"[\s\-_.·]")


def s10_check_digit(serial: str) -> str:
    if len(serial) != 8 or not serial.isascii() or not serial.isdigit():
        raise ValueError("an S10 serial is 8 digits")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS)) % 11
    return str({10: 0, 11: 5}.get(check, check))


def make_tracking_number(*, service: str, serial: int, country: str = "CN") -> str:
    if not (0 <= serial < 10**8) or not re.fullmatch(r"[A-Z]{2}", service) or not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError("bad S10 parts")
    body = f"{serial:08d}"
    return f"{service}{body}{s10_check_digit(body)}{country}"


def is_tracking_number(value: str) -> bool:
    return bool(_S10.fullmatch(value)) and s10_check_digit(value[2:10]) == value[10]


def validate_tracking_number(value: object, *, field: str = "tracking_number") -> str:
    """Normalise (upper case, separators dropped) and check; raises InvalidInput with a field message."""
    text = _SEPARATORS.sub("", str(value or "")).upper()
    if not text:
        raise InvalidInput("postal.tracking_required", "请填写邮件号", "Enter the tracking number", field=field)
    if not _S10.fullmatch(text):
        raise InvalidInput("postal.tracking_format", "邮件号格式不正确（应为2个字母、9位数字、2个字母，如 EA123456785CN）",
                           "The tracking number should be 2 letters, 9 digits and 2 letters, e.g. EA123456785CN",
                           field=field)
    if s10_check_digit(text[2:10]) != text[10]:
        raise InvalidInput("postal.tracking_check_digit", "邮件号校验位不正确，请核对", "The tracking number's check digit "
                           "is wrong: please check it", field=field)
    return text
