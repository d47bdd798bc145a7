"""Reads of the payments app."""
from __future__ import annotations

import datetime as dt

from django.conf import settings

from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.payments import rules
from jiaoguan.payments.channels import channel_label
from jiaoguan.payments.models import Order, PayableItem
from jiaoguan.payments.reference import KIND_ITEM, KIND_ORDER, reference_parse

# The choices the pages show and offer (this app's models' reference data, read through here)
OrderStatus = Order.Status


def late_fee_rules() -> tuple[int, int]:
    """The city's (grace days, daily percent) of the late fee."""
    return int(settings.JIAOGUAN_PAY_LATE_FEE_GRACE_DAYS), int(settings.JIAOGUAN_PAY_LATE_FEE_DAILY_PERCENT)



def payable_for_source(*, source_type: str, source_id: str) -> PayableItem | None:
    return PayableItem.objects.filter(source_type=source_type, source_id=str(source_id)).first()


def payable_amount_due(*, item: PayableItem, on: dt.date | None = None) -> tuple[int, int, int]:
    """(principal, late fee, total) in fen owed on ``on`` (today by default). The late fee applies only to items
    created with late_fee=True and a decision date."""
    on = on or clock.today()
    fee = 0
    if item.late_fee and item.decision_date is not None:
        grace, percent = late_fee_rules()
        fee = rules.late_fee_fen(fine_fen=item.amount_fen, decision_date=item.decision_date, on=on,
                                 grace_days=grace, daily_percent=percent)
    return item.amount_fen, fee, item.amount_fen + fee


def payables_unpaid_for_person(*, person_id: int) -> list[PayableItem]:
    return list(PayableItem.objects.filter(payer_person_id=person_id, status=PayableItem.Status.UNPAID)
                .order_by("created_at", "pk"))


def payable_by_reference(*, text: str, person_id: int | None = None) -> PayableItem:
    """A scanned or typed reference: refused (422) before any lookup when it is not ours or its check digits
    are wrong; then 404 if unknown (or, with person_id, not that person's)."""
    ref = reference_parse(text, kind=KIND_ITEM)
    item = PayableItem.objects.filter(reference=ref.code).first()
    if item is None or (person_id is not None and item.payer_person_id != person_id):
        raise not_found("缴款记录", "payable item")
    return item


def order_for_payer(*, reference: str, person_id: int) -> Order:
    """The payer's own order by its reference; someone else's is "not found" (no probing)."""
    ref = reference_parse(reference, kind=KIND_ORDER)
    order = Order.objects.filter(reference=ref.code, payer_person_id=person_id).first()
    if order is None:
        raise not_found("订单", "order")
    return order


def order_items(*, order: Order) -> list[dict]:
    return [
        {"item_id": line.item_id, "reference": line.item.reference, "description_zh": line.item.description_zh,
         "description_en": line.item.description_en, "principal_fen": line.principal_fen,
         "late_fee_fen": line.late_fee_fen, "amount_fen": line.amount_fen, "status": line.item.status}
        for line in order.lines.select_related("item").order_by("pk")
    ]


def receipt_for_order(*, order: Order) -> dict | None:
    """The e-receipt (电子回单) of a paid order, or None if it has not been paid."""
    try:
        payment = order.payment
    except Order.payment.RelatedObjectDoesNotExist:
        return None
    return {
        "reference": order.reference,
        "payer_person_id": order.payer_person_id,
        "items": order_items(order=order),
        "principal_fen": order.principal_fen,
        "late_fee_fen": order.late_fee_fen,
        "total_fen": payment.amount_fen,
        "channel": payment.channel,
        "channel_label": channel_label(payment.channel),
        "serial": payment.trade_no,
        "paid_at": payment.channel_paid_at,
        "settled_at": payment.settled_at,
        "refunds": [{"refund_no": r.refund_no, "amount_fen": r.amount_fen, "status": r.status}
                    for r in order.refunds.order_by("pk")],
    }


def orders_for_person(*, person_id: int, limit: int = 50) -> list[Order]:
    """The person's orders, newest first (open, paying, paid and closed), with their payment if any."""
    return list(Order.objects.filter(payer_person_id=person_id).select_related("payment")
                .order_by("-created_at", "-pk")[:limit])
