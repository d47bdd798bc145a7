"""registry API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): partners' signed requests.

Hospitals (signed, see registry/partners.py: X-Partner-Key / -Timestamp / -Nonce / -Signature over
``METHOD\\npath\\ntimestamp\\nnonce\\nhex(sha256(body))``):

    POST /api/v1/partners/health-checks   one health-check record
        201 new · 200 the same record again (per hospital and record number) · 409 that record number with
        different content · 401 unsigned, bad signature, unknown or inactive key, stale or replayed ·
        422 invalid record (field messages), nothing written

The body is parsed only after the signature is checked, so an unsigned request is always 401.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Literal

import pydantic
from django.db import transaction
from ninja import Router, Status
from pydantic import Field, StrictBool

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import json_body
from jiaoguan.core.errors import InvalidInput
from jiaoguan.registry import health, partners
from jiaoguan.registry.models import Partner

router = Router(tags=["registry"])


class HealthCheckIn(pydantic.BaseModel):
    """A health-check record as the hospital sends it."""

    model_config = pydantic.ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "record_number": "TJ2026120100012", "id_number": "11010519491231002X", "name": "张三",
        "examined_on": "2026-12-01", "result": "fit_with_conditions", "conditions": "驾车时须戴眼镜",
        "vision_left": "4.9", "vision_right": "5.0", "colour_vision_normal": True, "hearing_normal": True,
        "limbs_normal": True}]})

    record_number: str = Field(min_length=1, max_length=40, description="the hospital's record number (体检编号)")
    id_number: str = Field(min_length=1, max_length=24, description="居民身份证号码 (18 characters, check digit)")
    name: str = Field(min_length=1, max_length=60, description="the name as on the ID card")
    examined_on: dt.date = Field(description="examination day, YYYY-MM-DD, not in the future")
    result: Literal["fit", "fit_with_conditions", "unfit"] = Field(description="the hospital's conclusion")
    conditions: str = Field("", max_length=400, description="required for fit_with_conditions, e.g. 驾车时须戴眼镜")
    vision_left: Decimal = Field(description="logarithmic chart (corrected if lenses are worn), 3.0–5.3")
    vision_right: Decimal = Field(description="logarithmic chart, 3.0–5.3")
    colour_vision_normal: StrictBool = Field(description="no red-green colour blindness")
    hearing_normal: StrictBool = Field(description="both ears hear the tuning fork at 50 cm without a hearing aid")
    limbs_normal: StrictBool = Field(description="limbs and trunk without the conditions of 162号令 Art. 14")


class HealthCheckOut(pydantic.BaseModel):
    id: int
    record_number: str
    created: bool
    result: str
    examined_on: dt.date
    valid_until: dt.date


def _parse(body: bytes) -> HealthCheckIn:
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("registry.bad_json", "请求体不是有效的 JSON", "The body is not valid JSON",
                           field="body") from None
    try:
        return HealthCheckIn.model_validate(data)
    except pydantic.ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "body": (f"格式不正确：{e['msg']}", e["msg"])
                  for e in exc.errors()}
        raise InvalidInput("registry.bad_record", "提交的数据格式不正确", "The record is malformed",
                           fields=fields) from None


def _out(received: health.Received) -> dict:
    hc = received.health_check
    return HealthCheckOut(id=hc.pk, record_number=hc.record_number, created=received.created, result=hc.result,
                          examined_on=hc.examined_on, valid_until=hc.valid_until).model_dump(mode="json")


@router.post("partners/health-checks", auth=None, response={200: HealthCheckOut, 201: HealthCheckOut, **ERRORS},
             summary="A hospital sends a driver's health-check record "
                     "(signed: X-Partner-Key/Timestamp/Nonce/Signature)",
             openapi_extra=json_body(HealthCheckIn))
def health_check_receive(request):
    with transaction.atomic():
        hospital = partners.partner_authenticate(request=request, kind=Partner.Kind.HOSPITAL)
        rec = _parse(request.body)
        received = health.health_check_receive(
            hospital=hospital, record_number=rec.record_number, id_number=rec.id_number, name=rec.name,
            examined_on=rec.examined_on, result=rec.result, conditions=rec.conditions,
            vision_left=rec.vision_left, vision_right=rec.vision_right,
            colour_vision_normal=rec.colour_vision_normal, hearing_normal=rec.hearing_normal,
            limbs_normal=rec.limbs_normal)
    if received.conflict:
        # raised after the commit: the attempt (and its nonce) stays recorded in the audit log
        raise health.conflict_error()
    return Status(201 if received.created else 200, _out(received))
