"""Money is an integer number of fen (分). Never a float; formatted only at the edge."""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

from jiaoguan.core.errors import InvalidInput

Fen = int
MAX_FEN = 2**63 - 1  # what a BigIntegerField holds

# 1234 | 1,234 | 1234.5 | 1,234.50 | -12.30 ; thousands separators only in their proper places
_AMOUNT = re.compile(r"(?P<sign>[-+]?)(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?")


class MoneyField(models.BigIntegerField[int, int]):
    """An amount in fen."""

    description = "Amount in fen (分)"


def _invalid(field: str) -> InvalidInput:
    return InvalidInput("core.money_invalid", "金额格式不正确，例如 12.50", "The amount is not valid, e.g. 12.50",
                        field=field)


def yuan_to_fen(text: str | int | Decimal, *, field: str = "amount") -> Fen:
    """Parse a yuan amount such as "12.34", "¥1,234.5" or Decimal("0.10") into fen (1234, 123450, 10).

    More than two decimals is refused, not rounded (trailing zeros are fine: "1.230"); so are NaN, infinities,
    exponents ("1e3"), misplaced thousands separators and anything that is not a plain amount. Raises
    InvalidInput (code ``core.money_invalid``) naming ``field``."""
    if isinstance(text, bool) or text is None:
        raise _invalid(field)
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise _invalid(field)
        text = format(text, "f")
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    raw = raw.removeprefix("¥").removesuffix("元").strip()
    if raw[:1] in "+-" and raw[1:2] == "¥":
        raw = raw[0] + raw[2:]
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise _invalid(field)
    frac = (match["frac"] or "").rstrip("0")
    if len(frac) > 2:
        raise InvalidInput("core.money_invalid", "金额最多两位小数", "An amount has at most two decimals", field=field)
    fen = int(match["whole"].replace(",", "")) * 100 + int(frac.ljust(2, "0"))
    if fen > MAX_FEN:
        raise InvalidInput("core.money_invalid", "金额过大", "The amount is too large", field=field)
    return -fen if match["sign"] == "-" else fen


def fen_to_yuan(fen: Fen) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: Fen) -> str:
    """1234 -> "¥12.34"; 123456789 -> "¥1,234,567.89"; -50 -> "-¥0.50"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{fen_to_yuan(abs(fen)):,}"


def percent_of(fen: Fen, percent: Decimal | int | str) -> Fen:
    """A percentage of an amount, rounded half up (away from zero) to the fen: percent_of(50, 3) == 2."""
    try:
        rate = Decimal(str(percent))
    except InvalidOperation:
        raise ValueError(f"not a percentage: {percent!r}") from None
    if not rate.is_finite():
        raise ValueError(f"not a percentage: {percent!r}")
    return int((Decimal(fen) * rate / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
