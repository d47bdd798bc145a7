"""Pure rules of plate selection (GA 36 and DOMAIN §5), testable without a database.

The plate formats themselves are ``core.identifiers.validate_plate`` / ``plate_kind`` (reused, not repeated);
this module adds what selection needs on top of them:

- the pool kinds served online and the shape each must have (ordinary small car: 5 characters; new-energy small:
  D/F + letter or digit + 4 digits; new-energy large: 5 digits + D/F);
- GA 36's limit of at most 2 letters in an ordinary number's 5 characters (validate_plate accepts any mix);
- number series for generating a pool ("A####": literal characters, ``#`` a digit, ``@`` a letter without I
  and O, ``*`` either);
- the office's compose patterns (shapes over ``L`` letter and ``N`` digit, e.g. "LNNNN");
- withholding policies (prefix / contains / regex over the 5–6 characters after the office prefix);
- keeping a previous plate: held at least a year, given up within two years, violations cleared.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator

from jiaoguan.core.errors import InvalidInput, Refusal
from jiaoguan.core.identifiers import PLATE_LETTERS, PROVINCES, plate_kind, validate_plate
from jiaoguan.core.states import StateMachine

DIGITS = "0123456789"

# pool kind = the registry's 号牌种类 code of the plate (registry.Vehicle.PlateType)
ORDINARY, NEV_SMALL, NEV_LARGE = "02", "52", "51"
KIND_SHAPES = {ORDINARY: "standard", NEV_SMALL: "nev_small", NEV_LARGE: "nev_large"}
KIND_LABELS = {ORDINARY: ("小型汽车（蓝牌）", "Small car (blue)"),
               NEV_SMALL: ("小型新能源汽车（绿牌）", "Small new-energy (green)"),
               NEV_LARGE: ("大型新能源汽车（黄绿牌）", "Large new-energy (yellow-green)")}
MAX_LETTERS_ORDINARY = 2  # GA 36: an ordinary number's 5 characters hold at most 2 letters

DEFAULT_COMPOSE_PATTERNS: dict[str, list[str]] = {
    ORDINARY: ["LNNNN", "NLNNN", "NNLNN", "NNNLN", "NNNNL", "LLNNN", "NNNLL"],
    NEV_SMALL: ["LNNNNN", "LLNNNN"],
    NEV_LARGE: ["NNNNNL"],
}

SERIES_CHARS = {"#": DIGITS, "@": PLATE_LETTERS, "*": PLATE_LETTERS + DIGITS}

# --- life cycles (core.states): a selection, and a number of the pool ---------------------------------------------

# A selection is open until its owner confirms a number (once: the vehicle's one selection); a cancelled one lets
# the vehicle start again. Every step of an open selection (draw, compose, hold, keep, release) needs it open.
SELECTION = StateMachine("plates.selection", {
    "open": ("confirmed", "cancelled"),
    "confirmed": (),
    "cancelled": (),
}, code="plates.selection_closed", what=("选号", "The selection"))

# A pool number: drawn or composed numbers are held (a hold may be taken again by its selection or after it
# expired); a held number is confirmed (assigned) or goes back (available, or withheld if a policy covers it); a
# policy withholds available numbers and frees them when deactivated; a previous plate of the owner's is held
# from withheld; a vehicle's provisional number goes back to the pool once its chosen number is assigned.
NUMBER = StateMachine("plates.number", {
    "available": ("held", "withheld"),
    "held": ("held", "available", "withheld", "assigned"),
    "withheld": ("available", "held"),
    "assigned": ("available", "withheld"),
}, code="plates.number_status", what=("号码", "The number"))


def _bad(code: str, zh: str, en: str, field: str = "number") -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)


def letters_in(serial: str) -> int:
    return sum(1 for c in serial if c.isalpha())


def shape_of(serial: str) -> str:
    """"A1234" -> "LNNNN": the pattern a composed number is checked against."""
    return "".join("L" if c.isalpha() else "N" for c in serial)


def is_pool_number(number: str, kind: str) -> bool:
    """Is ``number`` (full, e.g. 粤BA1234) a valid GA 36 number of pool kind ``kind``?"""
    try:
        check_number(number, kind=kind, prefix=number[:2])
    except InvalidInput:
        return False
    return True


def check_number(value: str, *, kind: str, prefix: str, field: str = "number") -> str:
    """Validate a typed number for an office (``prefix`` like 粤B) and kind: GA 36 format (validate_plate), the
    office's prefix, the kind's shape, at most 2 letters for an ordinary number. Returns the canonical number;
    a 6-character serial alone (without 粤B) is accepted and completed with the prefix."""
    text = str(value or "").strip()
    if text and text[0] not in PROVINCES:
        text = prefix + text
    number = validate_plate(text, field=field)
    if number[:2] != prefix:
        raise _bad("plates.wrong_office", f"只能选择本发牌机关（{prefix}）的号码",
                   f"Only numbers of this issuing office ({prefix}) can be chosen", field)
    if kind not in KIND_SHAPES:
        raise _bad("plates.kind", "号牌种类不正确", "Unknown plate kind", "kind")
    if plate_kind(number) != KIND_SHAPES[kind]:
        zh, en = KIND_LABELS[kind]
        raise _bad("plates.wrong_kind", f"号码格式与号牌种类“{zh}”不符（普通号牌5位，新能源号牌6位）",
                   f"The number does not fit the plate kind “{en}” (ordinary plates have 5 characters, "
                   f"new-energy plates 6)", field)
    if kind == ORDINARY and letters_in(number[2:]) > MAX_LETTERS_ORDINARY:
        raise _bad("plates.too_many_letters", "普通号牌号码中最多含2个字母",
                   "An ordinary plate number holds at most 2 letters", field)
    return number


def check_composed(number: str, *, kind: str, patterns: dict | None) -> None:
    """The office's compose rules: the number's shape must be one of the patterns for its kind."""
    allowed = (patterns or {}).get(kind)
    if allowed is None:
        allowed = DEFAULT_COMPOSE_PATTERNS.get(kind, [])
    if shape_of(number[2:]) not in allowed:
        shown = "、".join(allowed) or "—"
        raise _bad("plates.pattern", f"自编号码不符合本地规则，允许的格式（L为字母，N为数字）：{shown}",
                   f"The composed number breaks the office's rules; allowed shapes (L letter, N digit): "
                   f"{', '.join(allowed) or '—'}")


# --- series (pool generation) ------------------------------------------------------------------------------------

def check_series(series: str, *, kind: str) -> str:
    """A series is the characters after the prefix with wildcards: "A####", "D@####", "#####D"."""
    series = str(series or "").strip().upper()
    length = {ORDINARY: 5, NEV_SMALL: 6, NEV_LARGE: 6}.get(kind)
    ok = length is not None and len(series) == length and all(
        c in SERIES_CHARS or c in PLATE_LETTERS or c in DIGITS for c in series)
    if not ok:
        raise _bad("plates.series", "号段格式不正确：普通号牌5位、新能源6位，用 # 表示数字、@ 表示字母、* 表示字母或数字",
                   "Malformed series: 5 characters for ordinary plates, 6 for new-energy; # is a digit, @ a letter, "
                   "* either", "series")
    return series


def series_size(series: str) -> int:
    size = 1
    for c in series:
        size *= len(SERIES_CHARS.get(c, "x"))
    return size


def expand_series(series: str) -> Iterator[str]:
    """Every serial the series describes, in order (the caller filters by is_pool_number)."""
    pools = [SERIES_CHARS.get(c, c) for c in series]
    for combo in itertools.product(*pools):
        yield "".join(combo)


# --- withholding policies ----------------------------------------------------------------------------------------

POLICY_PREFIX, POLICY_CONTAINS, POLICY_REGEX = "prefix", "contains", "regex"


def check_policy(rule: str, value: str) -> str:
    value = str(value or "").strip()
    if rule in (POLICY_PREFIX, POLICY_CONTAINS):
        value = value.upper()
        if not 1 <= len(value) <= 6 or any(c not in PLATE_LETTERS + DIGITS for c in value):
            raise _bad("plates.policy_value", "请填写1–6位字母或数字（不含I、O）",
                       "Enter 1–6 letters or digits (no I or O)", "value")
        return value
    if rule == POLICY_REGEX:
        if not 1 <= len(value) <= 80:
            raise _bad("plates.policy_value", "正则表达式应为1–80个字符", "A regular expression has 1–80 characters",
                       "value")
        try:
            re.compile(value)
        except re.error:
            raise _bad("plates.policy_value", "正则表达式无效", "The regular expression is invalid", "value") from None
        return value
    raise _bad("plates.policy_rule", "规则类型不正确", "Unknown rule type", "rule")


def policy_matches(rule: str, value: str, serial: str) -> bool:
    """Does a policy withhold ``serial`` (the characters after the office prefix)?"""
    if rule == POLICY_PREFIX:
        return serial.startswith(value)
    if rule == POLICY_CONTAINS:
        return value in serial
    if rule == POLICY_REGEX:
        return re.fullmatch(value, serial) is not None
    return False


# --- keeping a previous plate (DOMAIN §5) -------------------------------------------------------------------------

def keep_refusals(*, held_from: dt.date, given_up_on: dt.date, today: dt.date, violations_cleared: bool,
                  min_held_days: int = 365, within_days: int = 730) -> list[Refusal]:
    """Why a previous plate cannot be kept (empty: it can): held ≥ 1 year, given up within 2 years, no
    violation left unhandled or unpaid."""
    out = []
    if (given_up_on - held_from).days < min_held_days:
        out.append(Refusal("plates.keep_held_too_short", "原号牌使用未满1年", "The plate was held for less than a year"))
    if (today - given_up_on).days > within_days or given_up_on > today:
        out.append(Refusal("plates.keep_too_late", "原号牌停止使用已超过2年",
                           "The plate was given up more than two years ago"))
    if not violations_cleared:
        out.append(Refusal("plates.keep_violations", "原号牌有未处理或未缴款的交通违法",
                           "The plate has violations not yet handled or paid"))
    return out
