"""Pure payment rules: the late fee (DOMAIN §4) and the payable-item life cycle table."""
from __future__ import annotations

import datetime as dt

from jiaoguan.core.money import percent_of
from jiaoguan.core.states import StateMachine

# 行政处罚法 art. 72 / 道交法 art. 109: pay within 15 days of the decision; from the 16th day 3% of the fine per
# day, never more than the fine itself.
GRACE_DAYS = 15
DAILY_PERCENT = 3


def late_days(*, decision_date: dt.date, on: dt.date, grace_days: int = GRACE_DAYS) -> int:
    """Days of delay charged on ``on``: 0 up to and including decision_date + 15, then 1 on the 16th day, ..."""
    return max(0, (on - decision_date).days - grace_days)


def late_fee_fen(*, fine_fen: int, decision_date: dt.date, on: dt.date, grace_days: int = GRACE_DAYS,
                 daily_percent: int = DAILY_PERCENT) -> int:
    """The late fee in fen owed on ``on``: 3% of the fine per late day (rounded half up to the fen over the whole
    period, not per day), capped at the fine."""
    if fine_fen < 0:
        raise ValueError("a fine cannot be negative")
    days = late_days(decision_date=decision_date, on=on, grace_days=grace_days)
    if days == 0 or fine_fen == 0:
        return 0
    return min(fine_fen, percent_of(fine_fen, daily_percent * days))


# Life cycles (core.states): services.py has one function per transition and each checks its machine, so no other
# status change is possible. The services keep their own refusal codes and messages (``.allows``, then their
# Conflict).
ITEM_MACHINE = StateMachine("payments.item", {
    "unpaid": {"paying", "cancelled"},
    "paying": {"unpaid", "paid", "cancelled"},
    "paid": {"refunded"},
    "cancelled": set(),
    "refunded": set(),
}, code="payments.item_status", what=("该款项", "The item"))

ORDER_MACHINE = StateMachine("payments.order", {
    "open": {"paying", "paid", "closed"},
    "paying": {"paid", "closed"},
    "paid": set(),
    "closed": set(),
}, code="payments.order_status", what=("订单", "The order"))

REFUND_MACHINE = StateMachine("payments.refund", {
    "requested": {"processing", "failed"},
    "processing": {"succeeded", "failed"},
    "failed": {"processing"},  # retried by staff or the sweep
    "succeeded": set(),
}, code="payments.refund_status", what=("退款", "The refund"))
