"""Violations API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Devices (signed, see violations/signing.py):
    POST /api/v1/devices/violations         one record  -> 201 (new) or 200 (the record id was seen: the first)
    POST /api/v1/devices/violations/batch   {"records": [...]} (≤ MAX_BATCH) -> 200, a result per record
  A record: {"record_id", "plate", "plate_type", "code", "place", "occurred_at" (ISO 8601 with zone),
  "photos": [base64 JPEG/PNG, ≤ MAX_PHOTOS, each ≤ MAX_PHOTO_BYTES decoded]}. Evidence travels inside the
  signed JSON, so the signature covers it too. A device's key is scoped (signing.py): an endpoint, a code or a
  place outside its scope is a 403 ``violations.device_scope`` (in a batch: that record's error in ``results``).
Citizens (session or bearer):
    GET  /api/v1/me/violations              own vehicles' and bound vehicles' (after the binding) violations
    GET  /api/v1/me/violations/{id}         one, with evidence and whether/why it can be handled online
    POST /api/v1/me/violations/{id}/handle  Idempotency-Key required -> the penalty decision
    POST /api/v1/me/violations/{id}/waiver  ask for the first-violation waiver
    POST /api/v1/me/disputes                我被套牌 / 申诉
    GET  /api/v1/me/detentions              the vehicles and licences detained from the user (扣留), each with
                                            whether/why it can be returned now (放车还证: apply in the catalogue)
    GET  /api/v1/me/detentions/{id}         one of them (another's is a 404)
Staff:
    POST /api/v1/staff/detentions           record a detention (permission detention.record)
    POST /api/v1/staff/detentions/{id}/cancel   cancel one recorded wrongly (detention.cancel)
"""
from __future__ import annotations

import datetime as dt
import json

import pydantic
from django.db import transaction
from ninja import Router, Schema, Status
from pydantic import Field

from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS, ErrorOut
from jiaoguan.core.api_schema import DateText, DateTimeText, Label, Out, RefusalOut, absent, examples, json_body
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError, InvalidInput, not_found
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import is_english
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user, require_permission
from jiaoguan.violations import conf, imports, render, rules, selectors, services, signing
from jiaoguan.violations.models import Violation
from jiaoguan.violations.schemas import ViolationOut

router = Router(tags=["violations"])


class DeviceRecordedOut(Out):
    id: int
    record_id: str
    created: bool = Field(description="false: this record id was seen before; the first record is answered")
    status: str
    waiver_rule: str


class DeviceBatchResultOut(Out):
    """One record of a batch: the recorded fields, or ``error``."""

    index: int
    id: int = absent()
    record_id: str = absent()
    created: bool = absent()
    status: str = absent()
    waiver_rule: str = absent()
    error: ErrorOut = absent()


class DeviceBatchOut(Out):
    results: list[DeviceBatchResultOut]
    created: int
    failed: int


class DecisionOut(Out):
    number: str
    violation_id: int
    points: int
    fine_fen: int
    decision_date: DateText
    channel: str


class OnlineOut(Out):
    allowed: bool
    reasons: list[RefusalOut]


class WaiverOfferOut(Out):
    allowed: bool
    rule: str | None
    reasons: list[RefusalOut]


class ViolationDetailOut(ViolationOut):
    decision: DecisionOut | None
    online: OnlineOut = absent()
    waiver_offer: WaiverOfferOut


class DisputeOut(Out):
    id: int
    kind: str
    status: str


class ImportErrorOut(Out):
    line: int
    code: str
    message: str
    fields: dict[str, str]


class ImportOut(Out):
    loaded: int
    errors: list[ImportErrorOut]


class DisputeWaitingOut(Out):
    id: int
    kind: str
    kind_label: Label
    reason: str
    submitted_at: DateTimeText
    violation_ids: list[int]
    photos: list[str]


class DisputeReviewedOut(Out):
    id: int
    status: str




class DeviceRecordIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    record_id: str = Field(min_length=1, max_length=64)
    plate: str = Field(min_length=1, max_length=12)
    plate_type: str = Field(min_length=2, max_length=2)
    code: str = Field(min_length=4, max_length=5)
    place: str = Field(min_length=1, max_length=120)
    occurred_at: dt.datetime
    photos: list[str] = Field(default_factory=list)


class BatchIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    records: list[dict]


_DEVICE_RECORD = {"record_id": "CAM-0042-20261201-000173", "plate": "粤B12345", "plate_type": "02", "code": "1345",
                  "place": "深南大道与科苑路交叉口", "occurred_at": "2026-12-01T09:30:00+08:00", "photos": []}


def _invalid(exc: pydantic.ValidationError) -> InvalidInput:
    fields = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        fields[name] = (f"格式不正确：{err['msg']}", err["msg"])
    return InvalidInput("violations.bad_record", "提交的数据格式不正确", "The record is malformed", fields=fields)


def _parse(model, data):
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None


def _body_json(request):
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("violations.bad_json", "请求体不是有效的 JSON", "The body is not valid JSON",
                           field="body") from None


def _device_record(data) -> services.DeviceRecord:
    rec = _parse(DeviceRecordIn, data)
    return services.DeviceRecord(record_id=rec.record_id, plate=rec.plate, plate_type=rec.plate_type, code=rec.code,
                                 place=rec.place, occurred_at=rec.occurred_at,
                                 photos=tuple(services.photos_decode(rec.photos)))


def _device_actor(device) -> Actor:
    return Actor(id=None, label=f"device:{device.key_id}", role="device")


def _recorded_out(r: services.Recorded) -> dict:
    v = r.violation
    return {"id": v.pk, "record_id": v.device_record_id, "created": r.created, "status": v.status,
            "waiver_rule": v.waiver_rule}


@router.post("devices/violations", auth=None, response={200: DeviceRecordedOut, 201: DeviceRecordedOut, **ERRORS},
             openapi_extra=json_body(DeviceRecordIn, _DEVICE_RECORD),
             summary="A device submits one violation (signed: X-Device-Key/Timestamp/Nonce/Signature)")
def device_violation(request):
    with transaction.atomic():
        device = signing.device_authenticate(headers=request.headers, body=request.body,
                                             endpoint=rules.ENDPOINT_SINGLE)
        record = _device_record(_body_json(request))
        (result,) = services.device_records_ingest(device=device, records=[record], actor=_device_actor(device))
        if isinstance(result, DomainError):
            raise result  # the request's transaction rolls back, its nonce included
    return Status(201 if result.created else 200, _recorded_out(result))


@router.post("devices/violations/batch", auth=None, response={200: DeviceBatchOut, **ERRORS}, exclude_unset=True,
             openapi_extra=json_body(BatchIn, {"records": [_DEVICE_RECORD]}),
             summary="A device submits a batch of violations; each record succeeds or fails on its own")
def device_violation_batch(request):
    """One transaction, set-based (``services.device_records_ingest``): each record is answered on its own, as an
    invalid one is: a record outside the device's scope (a code it may not record, a place outside its area) gets
    its 403 ``violations.device_scope`` error in ``results`` and writes nothing, the others are recorded. A device
    whose scope lacks the batch endpoint is refused whole (403)."""
    with transaction.atomic():
        device = signing.device_authenticate(headers=request.headers, body=request.body,
                                             endpoint=rules.ENDPOINT_BATCH)
        batch = _parse(BatchIn, _body_json(request))
        if not 1 <= len(batch.records) <= conf.get("MAX_BATCH"):
            raise InvalidInput("violations.batch_size", f"每批1–{conf.get('MAX_BATCH')}条",
                               f"A batch holds 1–{conf.get('MAX_BATCH')} records", field="records")
        parsed: list[services.DeviceRecord | DomainError] = []
        for data in batch.records:
            try:
                parsed.append(_device_record(data))
            except DomainError as exc:
                parsed.append(exc)
        answers = iter(services.device_records_ingest(
            device=device, records=[p for p in parsed if isinstance(p, services.DeviceRecord)],
            actor=_device_actor(device)))
        results = []
        for i, p in enumerate(parsed):
            answer = p if isinstance(p, DomainError) else next(answers)
            results.append({"index": i, "error": answer.as_dict()} if isinstance(answer, DomainError)
                           else {"index": i, **_recorded_out(answer)})
    return Status(200, {"results": results, "created": sum(1 for r in results if r.get("created")),
                        "failed": sum(1 for r in results if "error" in r)})


def _violation_out(v: Violation, *, detail: bool = False, user=None) -> dict:
    out = render.violation_out(v)
    if detail:
        decision = selectors.decision_for(violation=v)
        out["decision"] = _decision_out(decision) if decision else None
        if v.status == Violation.Status.RECORDED:
            refusals = services.online_refusals(user=user, violation=v)
            out["online"] = {"allowed": not refusals,
                             "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in refusals]}
        offer = selectors.waiver_offer(violation=v)  # what violation_request_waiver would say
        out["waiver_offer"] = {"allowed": offer.allowed, "rule": offer.waiver.rule if offer.waiver else None,
                               "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in offer.refusals]}
    return out


def _decision_out(d) -> dict:
    return {"number": d.number, "violation_id": d.violation_id, "points": d.points, "fine_fen": d.fine_fen,
            "decision_date": d.decision_date.isoformat(), "channel": d.channel}


@router.get("me/violations/{violation_id}", auth=AUTH, response={200: ViolationDetailOut, **ERRORS},
            exclude_unset=True, summary="One violation")
def my_violation(request, violation_id: int):
    user = current_user(request)
    return _violation_out(selectors.my_violation(user=user, violation_id=violation_id), detail=True, user=user)


@router.post("me/violations/{violation_id}/handle", auth=AUTH, response={200: DecisionOut, 201: DecisionOut, **ERRORS},
             summary="Handle a violation online (Idempotency-Key required): issues the penalty decision")
def handle(request, violation_id: int):
    user = current_user(request)

    def run():
        decision = services.violation_handle_online(user=user, violation_id=violation_id)
        return 201, _decision_out(decision)

    return api_once(request, user, "violation-handle", fingerprint=str(violation_id), run=run)


@router.post("me/violations/{violation_id}/waiver", auth=AUTH, response={200: ViolationOut, **ERRORS},
             exclude_unset=True,
             summary="Ask for the first-violation waiver")
def waiver(request, violation_id: int):
    user = current_user(request)
    v = services.violation_request_waiver(user=user, violation_id=violation_id)
    return Status(200, _violation_out(v))


class DisputeIn(Schema):
    kind: str
    violation_ids: list[int]
    reason: str
    photos: list[str] = []

    model_config = examples({"kind": "cloned", "violation_ids": [1], "reason": "我的车当时在外地", "photos": []})


@router.post("me/disputes", auth=AUTH, response={201: DisputeOut, **ERRORS}, summary="我被套牌 / 申诉")
def dispute(request, payload: DisputeIn):
    user = current_user(request)
    photos = services.photos_decode(payload.photos)
    d = services.dispute_submit(user=user, kind=payload.kind, violation_ids=payload.violation_ids,
                                reason=payload.reason, photos=photos)
    return Status(201, {"id": d.pk, "kind": d.kind, "status": d.status})


# --- Staff ---------------------------------------------------------------------------------------------------------

def _staff_actor(request, permission: str) -> Actor:
    """The staff user whose role holds ``permission`` (identity.roles), as the services' actor; 403 otherwise."""
    return actor_of(request, require_permission(request, permission))


class OnSiteIn(Schema):
    plate: str
    plate_type: str
    code: str
    place: str
    occurred_at: dt.datetime
    accident: bool = False
    photos: list[str] = []

    model_config = examples(
        {"plate": "粤B12345", "plate_type": "02", "code": "1345", "place": "深南大道与科苑路交叉口",
         "occurred_at": "2026-12-01T09:30:00+08:00", "accident": False, "photos": []})


@router.post("staff/violations", auth=AUTH, response={201: ViolationOut, **ERRORS}, exclude_unset=True,
             summary="Record an on-site violation")
def staff_record(request, payload: OnSiteIn):
    actor = _staff_actor(request, "violation.record")
    photos = services.photos_decode(payload.photos)
    r = services.violation_record(plate=payload.plate, plate_type=payload.plate_type, code=payload.code,
                                  place=payload.place, occurred_at=payload.occurred_at,
                                  source=Violation.Source.ON_SITE, actor=actor, photos=photos,
                                  accident=payload.accident)
    return Status(201, _violation_out(r.violation))


@router.post("staff/violations/import", auth=AUTH, response={200: ImportOut, **ERRORS},
             summary="Import a day's on-site records from a CSV file (multipart field 'file')")
def staff_import(request):
    actor = _staff_actor(request, "violation.record")
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("violations.csv_missing", "请上传 CSV 文件", "Upload a CSV file", field="file")
    if upload.size > 5 * 1024 * 1024:
        raise InvalidInput("violations.csv_too_large", "文件不能超过5 MB", "The file may be at most 5 MB", field="file")
    report = imports.violations_import_csv(content=upload.read(), actor=actor)
    english = is_english(request.headers.get("Accept-Language") or "")
    return Status(200, {"loaded": report.loaded, "errors": [
        {"line": e.line, "code": e.code, "message": e.en if english else e.zh,
         "fields": {k: (en if english else zh) for k, (zh, en) in e.fields.items()}} for e in report.errors]})


class ViolationRevokeIn(Schema):
    reason: str

    model_config = examples({"reason": "设备校准错误"})


@router.post("staff/violations/{violation_id}/revoke", auth=AUTH, response={200: ViolationOut, **ERRORS},
             exclude_unset=True,
             summary="Revoke a violation (points removed, fine cancelled or refunded)")
def staff_revoke(request, violation_id: int, payload: ViolationRevokeIn):
    actor = _staff_actor(request, "violation.revoke")
    v = Violation.objects.filter(pk=violation_id).select_related("code").first()
    if v is None:
        raise not_found("违法记录", "violation")
    v = services.violation_revoke(violation=v, actor=actor, reason=payload.reason)
    return Status(200, _violation_out(v))


@router.get("staff/disputes", auth=AUTH, response={200: list[DisputeWaitingOut], **ERRORS},
            summary="Disputes waiting for review")
def staff_disputes(request):
    _staff_actor(request, "dispute.review")
    return [{"id": d.pk, "kind": d.kind, "kind_label": d.get_kind_display(), "reason": d.reason,
             "submitted_at": clock.isoformat(d.submitted_at), "violation_ids": [v.pk for v in d.violations.all()],
             "photos": [p.file.url for p in d.photos.all()]} for d in selectors.disputes_waiting()]


class ReviewIn(Schema):
    confirm: bool
    note: str

    model_config = examples({"confirm": True, "note": "核实为套牌车"})


@router.post("staff/disputes/{dispute_id}/review", auth=AUTH, response={200: DisputeReviewedOut, **ERRORS},
             summary="Confirm (void the violations) or reject a dispute")
def staff_review(request, dispute_id: int, payload: ReviewIn):
    actor = _staff_actor(request, "dispute.review")
    d = services.dispute_review(dispute_id=dispute_id, confirm=payload.confirm, note=payload.note, actor=actor)
    return Status(200, {"id": d.pk, "status": d.status})



# --- Detentions (扣留) ---------------------------------------------------------------------------------------------

class DetentionOut(Out):
    id: int
    kind: str
    kind_label: Label
    notice_number: str
    status: str
    status_label: Label
    plate: str = Field(description="the detained vehicle's plate (\"\" for a licence)")
    held_at_name: str
    held_at_address: str
    detained_at: DateTimeText
    released_at: DateTimeText | None
    violation_ids: list[int]
    returnable: bool = Field(description="the return rule holds now: 放车还证 may be requested")
    reasons: list[RefusalOut] = Field(description="why it cannot be returned yet (empty when it can)")


def _detention_out(d) -> dict:
    refusals = selectors.detention_release_refusals(detention=d)
    return {"id": d.pk, "kind": d.kind, "kind_label": d.get_kind_display(), "notice_number": d.notice_number,
            "status": d.status, "status_label": d.get_status_display(),
            "plate": d.vehicle.plate if d.vehicle is not None else "", "held_at_name": d.held_at_name,
            "held_at_address": d.held_at_address, "detained_at": clock.isoformat(d.detained_at),
            "released_at": clock.isoformat(d.released_at) if d.released_at else None,
            "violation_ids": sorted(d.violations.values_list("pk", flat=True)),
            "returnable": d.status == rules.HELD and not refusals,
            "reasons": [r.as_dict() for r in refusals]}


@router.get("me/detentions", auth=AUTH, response={200: list[DetentionOut], **ERRORS},
            summary="My detained vehicles and licences (扣留)")
def my_detentions(request):
    user = current_user(request)
    return [_detention_out(d) for d in selectors.my_detentions(user=user)]


@router.get("me/detentions/{detention_id}", auth=AUTH, response={200: DetentionOut, **ERRORS},
            summary="One of my detentions")
def my_detention(request, detention_id: int):
    user = current_user(request)
    return _detention_out(selectors.my_detention(user=user, detention_id=detention_id))


class DetentionIn(Schema):
    kind: str = Field(description="vehicle (扣留机动车) or licence (扣留驾驶证)")
    notice_number: str = Field(description="the number on the detention notice (扣留凭证)")
    violation_ids: list[int]
    held_at_name: str = Field(description="the lot (停车场) or office holding it")
    held_at_address: str
    detained_at: dt.datetime
    id_number: str = Field("", description="a licence: the driver's ID number (the licence number)")

    model_config = examples(
        {"kind": "licence", "notice_number": "440300KL0001234", "violation_ids": [1],
         "held_at_name": "福田交警大队违法处理窗口", "held_at_address": "深圳市福田区福强路3028号",
         "detained_at": "2026-12-01T09:30:00+08:00", "id_number": "440304198506151234"})


@router.post("staff/detentions", auth=AUTH, response={201: DetentionOut, **ERRORS},
             summary="Record a detained vehicle or licence (扣留)")
def staff_detention_record(request, payload: DetentionIn):
    actor = _staff_actor(request, "detention.record")
    d = services.detention_record(actor=actor, kind=payload.kind, notice_number=payload.notice_number,
                                  violation_ids=payload.violation_ids, held_at_name=payload.held_at_name,
                                  held_at_address=payload.held_at_address, detained_at=payload.detained_at,
                                  id_number=payload.id_number)
    return Status(201, _detention_out(d))


class DetentionCancelIn(Schema):
    reason: str

    model_config = examples({"reason": "扣留凭证录入错误"})


@router.post("staff/detentions/{detention_id}/cancel", auth=AUTH, response={200: DetentionOut, **ERRORS},
             summary="Cancel a detention recorded wrongly")
def staff_detention_cancel(request, detention_id: int, payload: DetentionCancelIn):
    actor = _staff_actor(request, "detention.cancel")
    d = services.detention_cancel(detention_id=detention_id, actor=actor, reason=payload.reason)
    return Status(200, _detention_out(d))
