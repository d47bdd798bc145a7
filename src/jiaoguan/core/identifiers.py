"""Identifiers with their check characters (DOMAIN.md §2).

Each ``validate_*`` normalises its input (trim, upper-case, drop separators) and returns the canonical form,
or raises ``InvalidInput`` with a field-level message in Chinese and English. ``make_*`` builds valid numbers
(demo city, tests). Input typed with full-width characters (４４０３…, 粤Ｂ) is folded to ASCII first.
python-stdnum supplies the region table (cn/loc) and the USCC check character; the ID card check digit is
computed here from the 17-digit body (stdnum's ``cn.ric.calc_check_digit`` expects all 18 characters and silently
gives a wrong digit for 17), and the VIN check digit (ISO 3779, mandatory in China under GB 16735) is ours
because stdnum has no VIN module.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

from stdnum import numdb
from stdnum.cn import ric, uscc

from jiaoguan.core import clock
from jiaoguan.core.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s·•\-_.．]")


def _bad(field: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)


def _clean(value: object) -> str:
    """Canonical text of a typed identifier: full-width characters folded to ASCII (NFKC: "４４０３" → "4403",
    "ＡＢ" → "AB"), separators and spaces dropped, upper-cased. Digits are then matched as ASCII [0-9] only,
    so other scripts' digits ("١٢٣") never pass as numbers."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    return _SEPARATORS.sub("", text).upper()


# --- 居民身份证 (GB 11643-1999) ---------------------------------------------------------------------------------

_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"
ID_MIN_BIRTH = dt.date(1900, 1, 1)


def id_number_check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits (DOMAIN §2): "10X98765432"[Σ(digit × weight) mod 11]."""
    if len(body17) != 17 or not body17.isascii() or not body17.isdigit():
        raise ValueError("an ID card number body is 17 digits")
    return _RIC_CHECK[sum(int(c) * w for c, w in zip(body17, _RIC_WEIGHTS)) % 11]


@functools.lru_cache(maxsize=1)
def id_region_codes() -> frozenset[str]:
    """Every 6-digit administrative division code in python-stdnum's table (cn/loc), of any era.

    An ID number keeps the code of the place where it was first issued even after that division is renamed or
    merged, so a code that existed at any time is accepted (stdnum itself also demands that the code existed in
    the birth year, which refuses real numbers issued after a late household registration)."""
    codes: set[str] = set()

    def expand(low: str, high: str) -> list[str]:
        width = len(low)
        return [f"{n:0{width}d}" for n in range(int(low), int(high) + 1)]

    for _length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        for province in expand(low, high):
            for _l, c_low, c_high, props, _children in children:
                if "county" in props:
                    codes.update(province + county for county in expand(c_low, c_high))
    return frozenset(codes)


def validate_id_number(value: str, *, field: str = "id_number", today: dt.date | None = None) -> str:
    """A 居民身份证 number: 18 characters, known region, real birth date not in the future, check digit."""
    number = _clean(value)
    if not number:
        raise _bad(field, "id_number.required", "请填写身份证号码", "Enter the ID card number")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise _bad(field, "id_number.format", "身份证号码应为18位，最后一位可以是数字或X",
                   "An ID card number has 18 characters; the last may be a digit or X")
    if id_number_check_digit(number[:17]) != number[17]:
        raise _bad(field, "id_number.check_digit", "身份证号码校验位不正确，请核对",
                   "The ID card number's check digit is wrong; please check it")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if today is None:
        today = clock.today()
    if birth is None or not (ID_MIN_BIRTH <= birth <= today):
        raise _bad(field, "id_number.birth_date", "身份证号码中的出生日期不正确",
                   "The ID card number has an invalid birth date")
    if number[:6] not in id_region_codes():
        raise _bad(field, "id_number.region", "身份证号码中的地区代码不正确",
                   "The ID card number has an unknown region code")
    return number


def id_number_birth_date(number: str) -> dt.date:
    return ric.get_birth_date(number)


def id_number_is_male(number: str) -> bool:
    return int(number[16]) % 2 == 1


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """region: 6-digit code; sequence 0–999 (odd = male). Returns the number with its check digit."""
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ValueError("region is a 6-digit division code")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence is 0–999")
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + id_number_check_digit(body)


# --- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O S V Z
# 登记管理部门 (position 1): 1–9, A (军队), N (农业), Y (其他); position 2 (机构类别) and 3–8 (行政区划) are
# digits; 9–17 the organisation code; 18 the check character.
_USCC_RE = re.compile(rf"[1-9ANY][0-9]{{7}}[{USCC_ALPHABET}]{{10}}")


def uscc_check_character(body17: str) -> str:
    """GB 32100-2015: weights 3^(i-1) mod 31, check value (31 − Σ mod 31) mod 31 (python-stdnum's cn.uscc)."""
    if len(body17) != 17 or any(c not in USCC_ALPHABET for c in body17):
        raise ValueError("a USCC body is 17 characters of " + USCC_ALPHABET)
    return uscc.calc_check_digit(body17)


def validate_uscc(value: str, *, field: str = "uscc") -> str:
    code = _clean(value)
    if not code:
        raise _bad(field, "uscc.format", "请填写统一社会信用代码", "Enter the unified social credit code")
    if not _USCC_RE.fullmatch(code):
        raise _bad(field, "uscc.format", "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）",
                   "A unified social credit code has 18 digits or capital letters (no I, O, S, V, Z)")
    if uscc_check_character(code[:17]) != code[17]:
        raise _bad(field, "uscc.check_digit", "统一社会信用代码校验位不正确，请核对",
                   "The unified social credit code's check character is wrong; please check it")
    return code


def make_uscc(body17: str) -> str:
    return body17 + uscc_check_character(body17)


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
    """A 17-character VIN with its check digit in position 9. The check digit (ISO 3779) catches a changed
    character unless the new one has the same transliteration value (A, J and 1 are all 1; S and 2 are 2…):
    that is the standard's limit, not ours."""
    vin = _clean(value)
    if not vin:
        raise _bad(field, "vin.format", "请填写车辆识别代号", "Enter the VIN")
    if not re.fullmatch(rf"[{VIN_ALPHABET}]{{17}}", vin):
        raise _bad(field, "vin.format", "车辆识别代号应为17位数字或大写字母（不含I、O、Q）",
                   "A VIN has 17 digits or capital letters (no I, O, Q)")
    if vin_check_digit(vin) != vin[8]:
        raise _bad(field, "vin.check_digit", "车辆识别代号第9位校验位不正确，请核对",
                   "The VIN's check digit (9th character) is wrong; please check it")
    return vin


def make_vin(wmi_vds: str, vis: str) -> str:
    """wmi_vds: the first 8 characters; vis: the last 8. Returns the VIN with its check digit."""
    if len(wmi_vds) != 8 or len(vis) != 8 or any(c not in VIN_ALPHABET for c in wmi_vds + vis):
        raise ValueError("a VIN is 8 + 8 characters of " + VIN_ALPHABET)
    draft = wmi_vds + "0" + vis
    return wmi_vds + vin_check_digit(draft) + vis


# --- Plates (GA 36) -------------------------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
PLATE_SUFFIXES = "挂学警港澳"
_L = PLATE_LETTERS
_LD = PLATE_LETTERS + "0123456789"
_PLATE_PATTERNS = {
    # kind -> what follows province + office letter (DOMAIN §2, GA 36). Digits are ASCII only.
    "nev_small": re.compile(rf"[DF][{_LD}][0-9]{{4}}"),  # 粤B·D12345, 粤B·DF1234: D/F, letter or digit, 4 digits
    "nev_large": re.compile(r"[0-9]{5}[DF]"),  # 粤B·12345D
    "suffix": re.compile(rf"[{_LD}]{{4}}[{PLATE_SUFFIXES}]"),  # 粤B·1234学
    "standard": re.compile(rf"[{_LD}]{{5}}"),  # 粤B·12345
}


def plate_kind(plate: str) -> str:
    """'nev_small', 'nev_large', 'suffix' or 'standard' for a validated plate."""
    rest = plate[2:]
    for kind, pattern in _PLATE_PATTERNS.items():
        if pattern.fullmatch(rest):
            return kind
    raise ValueError(plate)


NEW_ENERGY_PLATE_TYPES = frozenset({"51", "52"})  # GA 36 号牌种类: 大型 / 小型新能源汽车 (green plates)


def is_new_energy_plate(plate: str = "", plate_type: str = "") -> bool:
    """Is this a new-energy plate (green, or yellow-green for a large one)? See plate_colour."""
    return plate_colour(plate, plate_type) in ("green", "yellow-green")


# GA 36 号牌种类 → the plate's colour: large vehicles, trailers, learner cars and motorcycles are yellow, small cars
# blue, new-energy small cars green and large ones yellow-green.
PLATE_TYPE_COLOURS = {"01": "yellow", "02": "blue", "07": "yellow", "15": "yellow", "16": "yellow",
                      "51": "yellow-green", "52": "green"}


def plate_colour(plate: str = "", plate_type: str = "") -> str:
    """The colour a plate is drawn in: by its 号牌种类 when known, else by its number (the new-energy shapes; the
    挂/学 suffixes are yellow, 警 white). Everything that draws a plate asks this, so a green plate is never blue."""
    colour = PLATE_TYPE_COLOURS.get(str(plate_type or ""))
    if colour:
        return colour
    plate = str(plate or "")
    try:
        kind = plate_kind(plate)
    except ValueError:
        return "blue"
    if kind in ("nev_small", "nev_large"):
        return "green" if kind == "nev_small" else "yellow-green"
    if kind == "suffix":
        return "white" if plate.endswith("警") else "yellow"
    return "blue"


def validate_plate(value: str, *, field: str = "plate") -> str:
    plate = _clean(value)
    if not plate or plate[0] not in PROVINCES:
        raise _bad(field, "plate.format", "号牌号码应以省份简称开头，例如“粤B12345”",
                   "A plate number starts with the province character, e.g. 粤B12345")
    if len(plate) < 2 or plate[1] not in _L:
        raise _bad(field, "plate.format", "号牌号码第2位应为发牌机关字母（不含I和O），例如“粤B12345”",
                   "The second character of a plate is the issuing office's letter (not I or O), e.g. 粤B12345")
    if not any(p.fullmatch(plate[2:]) for p in _PLATE_PATTERNS.values()):
        raise _bad(field, "plate.format",
                   "号牌号码格式不正确：省份简称 + 发牌机关字母 + 5位号码（新能源6位），不含字母I和O",
                   "The plate number is malformed: province + office letter + 5 characters (6 for new-energy), "
                   "without the letters I and O")
    return plate


def format_plate(plate: str) -> str:
    """粤B12345 -> 粤B·12345 for display."""
    return f"{plate[:2]}·{plate[2:]}"


# --- Mobile phone numbers -------------------------------------------------------------------------------------

def validate_phone(value: str, *, field: str = "phone") -> str:
    """An 11-digit mainland mobile number (1[3-9]…); +86 / 0086 prefixes, spaces and dashes are dropped."""
    phone = _clean(value)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not phone:
        raise _bad(field, "phone.format", "请填写手机号码", "Enter the mobile number")
    if not re.fullmatch(r"1[3-9][0-9]{9}", phone):
        raise _bad(field, "phone.format", "请输入11位中国大陆手机号码", "Enter an 11-digit mainland China mobile number")
    return phone
