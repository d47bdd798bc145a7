"""Identifiers with their check characters (DOMAIN.md §2).

Each ``validate_*`` normalises its input (trim, upper-case, drop separators) and returns the canonical form,
or raises ``InvalidInput`` with a field-level message in Chinese and English. ``make_*`` builds valid numbers
(demo city, tests). ID cards and USCC use python-stdnum; the VIN check digit (ISO 3779, mandatory in China
under GB 16735) is ours because stdnum has no VIN module.
"""
from __future__ import annotations

import datetime as dt
import re

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from jiaoguan.core.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s·•\-_.．]")


def _bad(field: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)


# --- 居民身份证 (GB 11643-1999) ---------------------------------------------------------------------------------

def validate_id_number(value: str, *, field: str = "id_number") -> str:
    number = _SEPARATORS.sub("", str(value or "")).upper()
    if not number:
        raise _bad(field, "id_number.required", "请填写身份证号码", "Enter the ID card number")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise _bad(field, "id_number.format", "身份证号码应为18位，最后一位可以是数字或X",
                   "An ID card number has 18 characters; the last may be a digit or X")
    try:
        ric.validate(number)
    except StdnumError as exc:
        if ric.calc_check_digit(number[:17]) != number[17]:
            raise _bad(field, "id_number.check_digit", "身份证号码校验位不正确，请核对",
                       "The ID card number's check digit is wrong; please check it") from exc
        raise _bad(field, "id_number.invalid", "身份证号码中的地区或出生日期不正确",
                   "The ID card number has an invalid region or birth date") from exc
    return number


def id_number_birth_date(number: str) -> dt.date:
    return ric.get_birth_date(number)


def id_number_is_male(number: str) -> bool:
    return int(number[16]) % 2 == 1


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """region: 6-digit code; sequence 0–999 (odd = male)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body)


# --- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------------------------

def validate_uscc(value: str, *, field: str = "uscc") -> str:
    code = _SEPARATORS.sub("", str(value or "")).upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        raise _bad(field, "uscc.format", "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）",
                   "A unified social credit code has 18 digits or capital letters (no I, O, S, V, Z)")
    if uscc.calc_check_digit(code[:17]) != code[17]:
        raise _bad(field, "uscc.check_digit", "统一社会信用代码校验位不正确，请核对",
                   "The unified social credit code's check character is wrong; please check it")
    try:
        uscc.validate(code)
    except StdnumError as exc:
        raise _bad(field, "uscc.invalid", "统一社会信用代码不正确", "The unified social credit code is invalid") from exc
    return code


def make_uscc(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


# --- VIN (GB 16735 / ISO 3779) --------------------------------------------------------------------------------

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin_check_digit(vin: str) -> str:
    """The check character for a 17-character VIN (position 9 is ignored by its weight 0)."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS))
    r = total % 11
    return "X" if r == 10 else str(r)


def validate_vin(value: str, *, field: str = "vin") -> str:
    vin = _SEPARATORS.sub("", str(value or "")).upper()
    if not re.fullmatch(r"[0-9A-HJ-NPR-Z]{17}", vin):
        raise _bad(field, "vin.format", "车辆识别代号应为17位数字或大写字母（不含I、O、Q）",
                   "A VIN has 17 digits or capital letters (no I, O, Q)")
    if vin_check_digit(vin) != vin[8]:
        raise _bad(field, "vin.check_digit", "车辆识别代号第9位校验位不正确，请核对",
                   "The VIN's check digit (9th character) is wrong; please check it")
    return vin


def make_vin(wmi_vds: str, vis: str) -> str:
    """wmi_vds: the first 8 characters; vis: the last 8. Returns the VIN with its check digit."""
    draft = wmi_vds + "0" + vis
    return wmi_vds + vin_check_digit(draft) + vis


# --- Plates (GA 36) -------------------------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
PLATE_SUFFIXES = "挂学警港澳"
_L = PLATE_LETTERS
_LD = PLATE_LETTERS + "0123456789"
_PLATE_PATTERNS = {
    # kind -> regex of what follows province + office letter
    "nev_small": re.compile(rf"[DF][{_LD}]\d{{4}}"),
    "nev_large": re.compile(r"\d{5}[DF]"),
    "suffix": re.compile(rf"[{_LD}]{{4}}[{PLATE_SUFFIXES}]"),
    "standard": re.compile(rf"[{_LD}]{{5}}"),
}


def plate_kind(plate: str) -> str:
    """'nev_small', 'nev_large', 'suffix' or 'standard' for a validated plate."""
    rest = plate[2:]
    for kind, pattern in _PLATE_PATTERNS.items():
        if pattern.fullmatch(rest):
            return kind
    raise ValueError(plate)


def validate_plate(value: str, *, field: str = "plate") -> str:
    plate = _SEPARATORS.sub("", str(value or "")).upper()
    msg = ("号牌号码格式不正确：省份简称 + 发牌机关字母 + 5位（新能源6位）号码，不含字母I和O",
           "The plate number is malformed: province + office letter + 5 characters (6 for new-energy), "
           "without the letters I and O")
    if len(plate) < 7 or plate[0] not in PROVINCES or plate[1] not in _L:
        raise _bad(field, "plate.format", *msg)
    if not any(p.fullmatch(plate[2:]) for p in _PLATE_PATTERNS.values()):
        raise _bad(field, "plate.format", *msg)
    return plate


def format_plate(plate: str) -> str:
    """粤B12345 -> 粤B·12345 for display."""
    return f"{plate[:2]}·{plate[2:]}"


# --- Mobile phone numbers -------------------------------------------------------------------------------------

def validate_phone(value: str, *, field: str = "phone") -> str:
    phone = _SEPARATORS.sub("", str(value or ""))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        raise _bad(field, "phone.format", "请输入11位中国大陆手机号码", "Enter an 11-digit mainland China mobile number")
    return phone
