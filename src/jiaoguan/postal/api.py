"""postal API (ninja Router mounted at /api/v1/ by jiaoguan/api.py):

    POST /api/v1/postal/callbacks/{carrier}          a carrier's signed status callback (see carriers.py)
    GET  /api/v1/postal/tracking/{tracking_number}   public tracking: status timeline, masked recipient, no address
"""
from __future__ import annotations

import datetime as dt

from ninja import Path, Router, Schema

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.postal import selectors, services

router = Router(tags=["postal"])


class PostalCallbackOut(Schema):
    result: str


class TimelineStepOut(Schema):
    status: str
    label_zh: str
    label_en: str
    at: dt.datetime
    location: str


class TrackingOut(Schema):
    tracking_number: str
    status: str
    status_zh: str
    status_en: str
    final: bool
    recipient: str
    item_zh: str
    item_en: str
    carrier_zh: str
    carrier_en: str
    timeline: list[TimelineStepOut]


@router.post("postal/callbacks/{carrier}", auth=None, response={200: PostalCallbackOut, **ERRORS},
             summary="A postal carrier's signed status callback (HMAC-SHA256 with key id, timestamp and nonce)")
def callback(request, carrier: str = Path(..., max_length=20)):
    return {"result": services.callback_receive(carrier=carrier, body=request.body, headers=request.headers)}


@router.get("postal/tracking/{tracking_number}", auth=None, response={200: TrackingOut, **ERRORS},
            summary="Track an item sent by post (public: masked recipient, no address)")
def tracking(request, tracking_number: str = Path(..., max_length=40)):
    return selectors.tracking_public(tracking_number=tracking_number)
