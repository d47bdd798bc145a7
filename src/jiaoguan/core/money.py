"""Money is an integer number of fen (分). Never a float; formatted only at the edge."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

from jiaoguan.core.errors import DomainError

Fen = int


class MoneyField(models.BigIntegerField):
    """An amount in fen."""

    description = "Amount in fen (分)"


def yuan_to_fen(text: str | int | Decimal) -> Fen:
    """Parse a yuan amount such as "12.34" into 1234 fen. More than two decimals is refused, not rounded."""
    try:
        value = Decimal(str(text).strip().replace("¥", "").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise DomainError("core.money_invalid", "金额格式不正确", "The amount is not a valid number") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise DomainError("core.money_invalid", "金额最多两位小数", "An amount has at most two decimals")
    return int(value * 100)


def fen_to_yuan(fen: Fen) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: Fen) -> str:
    """1234 -> "¥12.34"; -50 -> "-¥0.50"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{fen_to_yuan(abs(fen)):,}"


def percent_of(fen: Fen, percent: Decimal | int | str) -> Fen:
    """A percentage of an amount, rounded half up to the fen."""
    return int((Decimal(fen) * Decimal(str(percent)) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
