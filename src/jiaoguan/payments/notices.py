"""Notices to payers (outbox handlers): a payment received, a refund completed, a late fee started.

Each event is written by the service in the transaction that makes the change (``payments.item_settled``,
``payments.refund_succeeded``, ``payments.late_fee_started``); its handler runs after commit, outside the
order and item locks, and writes the inbox message and the SMS (notifications.services.notice_to_person: the
payer's account while it may see the payer's records, and the phone on file). The outbox runs each handler once
per event; each event is written once per change (an item is paid once, a refund succeeds once, the late-fee
notice is marked on the item).
"""
from __future__ import annotations

import datetime as dt
import logging

from jiaoguan.core.money import format_yuan, percent_of
from jiaoguan.core.outbox import subscribe
from jiaoguan.notifications.services import notice_to_person
from jiaoguan.payments.models import PayableItem, Refund
from jiaoguan.payments.reference import reference_display
from jiaoguan.payments.selectors import late_fee_rules

log = logging.getLogger(__name__)


def _name(item) -> dict:
    return {"name_zh": item.description_zh, "name_en": item.description_en or item.description_zh}


def _send(*, person_id: int, template: str, params: dict) -> None:
    notice_to_person(person_id=person_id, template=template, params=params)


@subscribe("payments.item_settled")
def notify_item_paid(payload: dict) -> None:
    item = PayableItem.objects.filter(pk=payload.get("item_id")).first()
    if item is None:
        return
    _send(person_id=item.payer_person_id, template="payment.paid",
          params={**_name(item), "amount": format_yuan(item.paid_total_fen),
                  "reference": reference_display(item.reference or "")})


@subscribe("payments.refund_succeeded")
def notify_refunded(payload: dict) -> None:
    refund = Refund.objects.select_related("order").filter(pk=payload.get("refund_id")).first()
    if refund is None:
        return
    _send(person_id=refund.order.payer_person_id, template="payment.refunded",
          params={"amount": format_yuan(refund.amount_fen), "order": reference_display(refund.order.reference or ""),
                  "refund_no": refund.refund_no})


@subscribe("payments.late_fee_started")
def notify_late_fee(payload: dict) -> None:
    item = PayableItem.objects.filter(pk=payload.get("item_id")).first()
    if item is None or item.status != PayableItem.Status.UNPAID or item.decision_date is None:
        return  # paid or cancelled since the job ran: nothing to warn about
    grace, percent = late_fee_rules()
    _send(person_id=item.payer_person_id, template="payment.late_fee",
          params={**_name(item), "reference": reference_display(item.reference or ""),
                  "since": item.decision_date + dt.timedelta(days=grace + 1), "percent": percent,
                  "daily": format_yuan(percent_of(item.amount_fen, percent))})
