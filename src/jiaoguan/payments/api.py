"""Payments API at /api/v1/: my payable items, orders (Idempotency-Key), paying through a channel, the
channels' signed callbacks, e-receipts. Endpoints parse, authorise, call a service or selector and render.
A citizen only reaches items and orders whose payer is their own registry person; anything else is 404."""
from __future__ import annotations

import datetime as dt
import json

from ninja import Path, Router, Schema

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import examples
from jiaoguan.core.errors import Forbidden, not_found
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user
from jiaoguan.payments import selectors, services
from jiaoguan.payments.models import Order, PayableItem
from jiaoguan.payments.reference import reference_display

router = Router(tags=["payments"])




class ItemOut(Schema):
    id: int
    reference: str
    reference_display: str
    kind: str
    description_zh: str
    description_en: str
    status: str
    decision_date: dt.date | None
    principal_fen: int
    late_fee_fen: int
    total_fen: int


class OrderLineOut(Schema):
    item_id: int
    reference: str
    description_zh: str
    description_en: str
    principal_fen: int
    late_fee_fen: int
    amount_fen: int
    status: str


class OrderOut(Schema):
    reference: str
    reference_display: str
    status: str
    principal_fen: int
    late_fee_fen: int
    total_fen: int
    channel: str
    created_at: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    items: list[OrderLineOut]


class OrderIn(Schema):
    item_ids: list[int]

    model_config = examples({"item_ids": [1, 2]})


class PayIn(Schema):
    channel: str | None = None

    model_config = examples({"channel": "simulator"})


class PayOut(Schema):
    pay_url: str


class PaymentCallbackOut(Schema):
    result: str


class ReceiptOut(Schema):
    reference: str
    principal_fen: int
    late_fee_fen: int
    total_fen: int
    channel: str
    channel_label: str
    serial: str
    paid_at: dt.datetime
    items: list[OrderLineOut]


def _person_id(request) -> int:
    user = current_user(request)
    if not user.person_id:
        raise Forbidden("payments.no_person", "请先完成实名认证", "Complete real-name verification first")
    return user.person_id


def _item(item: PayableItem) -> dict:
    principal, fee, total = selectors.payable_amount_due(item=item)
    return {"id": item.pk, "reference": item.reference, "reference_display": reference_display(item.reference),
            "kind": item.kind, "description_zh": item.description_zh, "description_en": item.description_en,
            "status": item.status, "decision_date": item.decision_date, "principal_fen": principal,
            "late_fee_fen": fee, "total_fen": total}


def _order(order: Order) -> dict:
    return {"reference": order.reference, "reference_display": reference_display(order.reference),
            "status": order.status, "principal_fen": order.principal_fen, "late_fee_fen": order.late_fee_fen,
            "total_fen": order.total_fen, "channel": order.channel, "created_at": order.created_at,
            "expires_at": order.expires_at, "paid_at": order.paid_at, "items": selectors.order_items(order=order)}


Reference = Path(..., min_length=1, max_length=40, description="an order reference (缴款编号)")


@router.get("payments/items", auth=AUTH, response={200: list[ItemOut], **ERRORS},
            summary="My unpaid items, with the late fee owed today")
def my_items(request):
    return [_item(i) for i in selectors.payables_unpaid_for_person(person_id=_person_id(request))]


@router.get("payments/items/by-reference/{reference}", auth=AUTH, response={200: ItemOut, **ERRORS},
            summary="Look up one of my items by its scanned or typed reference (refused before lookup if invalid)")
def item_by_reference(request, reference: str = Reference):
    return _item(selectors.payable_by_reference(text=reference, person_id=_person_id(request)))


@router.post("payments/orders", auth=AUTH, response={201: OrderOut, **ERRORS},
             summary="Create an order for my unpaid items (Idempotency-Key header required)")
def order_create(request, payload: OrderIn):
    person_id = _person_id(request)
    user = current_user(request)

    def run():
        order = services.order_create(payer_person_id=person_id, item_ids=payload.item_ids,
                                      actor=actor_of(request, user))
        return 201, json.loads(json.dumps(_order(order), default=str))

    return api_once(request, user, "payments.order", fingerprint=json.dumps(sorted(set(payload.item_ids))), run=run)


@router.get("payments/orders/{reference}", auth=AUTH, response={200: OrderOut, **ERRORS}, summary="My order")
def order_get(request, reference: str = Reference):
    return _order(selectors.order_for_payer(reference=reference, person_id=_person_id(request)))


@router.post("payments/orders/{reference}/pay", auth=AUTH, response={200: PayOut, **ERRORS},
             summary="Pay my order: returns the URL of the channel's pay page")
def order_pay(request, payload: PayIn, reference: str = Reference):
    order = selectors.order_for_payer(reference=reference, person_id=_person_id(request))
    actor = actor_of(request, current_user(request))
    return {"pay_url": services.order_pay(order=order, actor=actor, channel=payload.channel)}


@router.post("payments/orders/{reference}/close", auth=AUTH, response={200: OrderOut, **ERRORS},
             summary="Give up paying my order (its items become payable again)")
def order_close(request, reference: str = Reference):
    order = selectors.order_for_payer(reference=reference, person_id=_person_id(request))
    actor = actor_of(request, current_user(request))
    return _order(services.order_close(order=order, actor=actor, reason="缴费人取消 cancelled by the payer"))


@router.get("payments/orders/{reference}/receipt", auth=AUTH, response={200: ReceiptOut, **ERRORS},
            summary="The e-receipt (电子回单) of my paid order")
def order_receipt(request, reference: str = Reference):
    order = selectors.order_for_payer(reference=reference, person_id=_person_id(request))
    data = selectors.receipt_for_order(order=order)
    if data is None:
        raise not_found("电子回单", "receipt")
    return {**data, "channel_label": str(data["channel_label"])}


@router.post("payments/callback/{channel}", auth=None, response={200: PaymentCallbackOut, **ERRORS},
             summary="A payment channel's signed asynchronous callback (HMAC-SHA256)")
def callback(request, channel: str = Path(..., max_length=20)):
    return {"result": services.callback_receive(channel=channel, body=request.body, headers=request.headers)}
