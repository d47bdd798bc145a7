"""Applications API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Public (no login):
    GET  /api/v1/services?q=&category=&applicant=     the catalogue (listed services), searchable
    GET  /api/v1/services/{code}                      one service's guide (办事指南) and form
    GET  /api/v1/services/{code}/vehicles             (logged in) the vehicles each own_vehicle field offers you
Applicants (session or bearer):
    POST   /api/v1/me/applications                    {"service", "data"?} -> 201 a draft
    GET    /api/v1/me/applications?status=            my applications
    GET    /api/v1/me/applications/{id}               with form (ID numbers/phones masked), materials, timeline
    GET    /api/v1/me/applications/{id}/check         what a submission would say now (errors, refusals)
    PATCH  /api/v1/me/applications/{id}               {"data": {...}} save the draft (or a sent-back application)
    POST   /api/v1/me/applications/{id}/submit        Idempotency-Key required
    POST   /api/v1/me/applications/{id}/resubmit      answer a send-back {"comment"?}; Idempotency-Key required
    POST   /api/v1/me/applications/{id}/withdraw      {"comment"?}
    POST   /api/v1/me/applications/{id}/materials     multipart: slot, file (PDF/JPEG/PNG by content) -> 201
    DELETE /api/v1/me/applications/{id}/materials/{material_id}
Staff (roles per identity.roles: application.view/accept/review/approve/stats):
    GET  /api/v1/staff/applications?queue=&service=&limit=&offset=   a work queue
    GET  /api/v1/staff/applications/counts                            how many in each queue
    GET  /api/v1/staff/applications/{id}                              with history and materials (access-audited)
    GET  /api/v1/staff/applications/{id}/materials/{material_id}      the file (access-audited)
    POST /api/v1/staff/applications/{id}/claim | /release[?force=true]
    POST /api/v1/staff/applications/{id}/act      {"action": accept|refuse|review|approve|reject|send_back|
                                                   confirm|revoke, "comment"}
    GET  /api/v1/staff/application-statistics?since=&until=
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import FileResponse
from ninja import Field, Router, Schema, Status

from jiaoguan.applications import selectors, services
from jiaoguan.applications.catalogue import FINAL_STATES, Service, catalogue, service_get, services_list
from jiaoguan.applications.labels import action_label, role_label
from jiaoguan.applications.models import Application, ApplicationEvent, Material
from jiaoguan.applications.rules import eligible_vehicles
from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateTimeText, Out, RefusalOut, examples
from jiaoguan.core.audit import audit_access
from jiaoguan.core.errors import InvalidInput, not_found
from jiaoguan.core.http import actor_of, client_ip, language_of
from jiaoguan.core.i18n import text
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user, require_permission

router = Router(tags=["applications"])


class ServiceTextOut(Out):
    zh: str
    en: str


class ServiceCategoryOut(Out):
    code: str
    zh: str
    en: str


class ServiceBriefOut(Out):
    code: str
    name: ServiceTextOut
    summary: ServiceTextOut
    category: ServiceCategoryOut
    applicants: list[str]
    fee_fen: int = Field(description="the fees declared for every application, in fen, at full amount (规费)")
    fees_vary: bool = Field(description="an answer changes what is charged: a fee for some answers only, or an "
                                        "exemption (the guide lists them)")
    time_limit_days: int
    online: bool


class ServiceGuideTextsOut(Out):
    conditions: list[ServiceTextOut]
    process: list[ServiceTextOut]
    legal_basis: list[ServiceTextOut]
    notes: list[ServiceTextOut]


class ServiceMaterialOut(Out):
    code: str
    name: ServiceTextOut
    required: bool
    held_by_platform: bool
    upload_if_not_held: bool
    types: list[str]
    max_kb: int
    max_files: int
    note: ServiceTextOut | None


class ServiceChoiceOut(Out):
    value: str
    zh: str
    en: str


class ServiceFieldOut(Out):
    name: str
    type: str
    label: ServiceTextOut
    required: bool
    help: ServiceTextOut | None
    min: int | float | str | dt.date | None = Field(description="a number; for a date an ISO date, today, today+N, …")
    max: int | float | str | dt.date | None
    min_length: int | None
    max_length: int | None
    pattern: str | None
    choices: list[ServiceChoiceOut]
    vehicle_kinds: list[str]


class ServiceFeeExemptionOut(Out):
    field: str
    values: list[str]
    reason: ServiceTextOut


class ServiceFeeOut(Out):
    item: str = Field(description="the fee table's code (_fees.toml)")
    name: ServiceTextOut
    amount_fen: int
    legal_basis: ServiceTextOut
    when_field: str | None = Field(description="charged only when this form field has one of when_values")
    when_values: list[str]
    at: str = Field(description="charged at submission (before acceptance) or at approval (before the result)")
    exempt: list[ServiceFeeExemptionOut]


class ServiceGuideOut(ServiceBriefOut):
    version: str
    fees: list[ServiceFeeOut] = Field(description="the fees (规费) the service charges, at submission or approval")
    guide: ServiceGuideTextsOut
    materials: list[ServiceMaterialOut]
    form: list[ServiceFieldOut]
    auto_approval: bool
    approve_first: bool
    outputs: list[str]


class ServiceEligibilityOut(Out):
    open: bool
    refusals: list[RefusalOut]
    field: str | None = Field(description="the service's first choice field, whose values ``closed`` refuses")
    closed: dict[str, list[RefusalOut]]


class ServiceVehicleOut(Out):
    plate: str
    plate_type: str
    kind: str
    kind_label: ServiceTextOut
    brand: str
    status: str


class ApplicationOut(Out):
    id: int
    reference: str | None = Field(description="null while a draft")
    service: str
    service_name: ServiceTextOut
    status: str
    status_label: str
    final: bool
    created_at: DateTimeText
    submitted_at: DateTimeText | None
    accepted_at: DateTimeText | None
    decided_at: DateTimeText | None
    due_at: DateTimeText | None
    time_limit_paused: bool
    workdays_left: int | None
    overdue: bool
    post_review_pending: bool
    decision_comment: str
    outcome: dict[str, Any] = Field(description="what each output of the service produced")


class ApplicationFormValueOut(Out):
    name: str
    label: str
    value: str = Field(description="ID numbers and phones masked")


class ApplicationMaterialOut(Out):
    id: int
    slot: str
    kind: str
    content_type: str
    size: int
    sha256: str
    name: str
    summary: ServiceTextOut


class ApplicationEventOut(Out):
    action: str
    label: str
    from_status: str
    to_status: str
    at: DateTimeText
    comment: str
    role: str


class ApplicationFeeLineOut(Out):
    code: str
    at: str = Field(description="charged at submission or at approval")
    zh: str
    en: str
    amount_fen: int
    charged_fen: int = Field(description="0 when exempt")
    exempt_zh: str = Field(description="why it is exempt; empty when charged")
    exempt_en: str


class ApplicationFeeOut(Out):
    lines: list[ApplicationFeeLineOut]
    total_fen: int = Field(description="what is charged, in fen")
    due_at: DateTimeText | None = Field(description="unpaid by then, the application lapses")
    status: str = Field(description="the payable item: unpaid, paying, paid, cancelled, refunded (exempt: nothing "
                                    "to pay)")
    payable_reference: str = Field(description="pay it under My payments (/api/v1/me/payments) by this reference")
    phase: str = Field(description="the phase whose payable status and reference are shown: submission or approval")


class ApplicationDetailOut(ApplicationOut):
    fee: ApplicationFeeOut | None = Field(description="the service's fees (规费) for this application; null: none")
    form: list[ApplicationFormValueOut]
    personal_fields_set: list[str]
    materials: list[ApplicationMaterialOut]
    timeline: list[ApplicationEventOut]


class ApplicationCheckOut(Out):
    ready: bool
    errors: dict[str, ServiceTextOut] = Field(description="field name -> message")
    refusals: list[RefusalOut]
    unknown: list[str]


class StaffApplicationOut(ApplicationOut):
    claimed_by: str | None
    overdue_escalated_at: DateTimeText | None


class StaffMaterialOut(ApplicationMaterialOut):
    download: str = Field(None, description="uploads only: the staff download path")


class StaffApplicationEventOut(ApplicationEventOut):
    actor: str
    public: bool


class StaffApplicationDetailOut(StaffApplicationOut):
    fee: ApplicationFeeOut | None
    form: list[ApplicationFormValueOut]
    personal_fields_set: list[str]
    materials: list[StaffMaterialOut]
    timeline: list[StaffApplicationEventOut]


class StaffQueueOut(Out):
    queue: str
    items: list[StaffApplicationOut]
    more: bool
    next: str = Field(description="pass as ?after= for the next page; empty on the last page")


class ApplicationStatisticsOut(Out):
    service_code: str
    received: int
    done: int
    on_time: int
    late: int
    open: int
    overdue: int
    name_zh: str
    name_en: str

def _pick(value, lang: str) -> str:
    return text(value, lang)


def _iso(value: dt.datetime | None) -> str | None:
    return clock.isoformat(value)


# --- the catalogue ------------------------------------------------------------------------------------------------


def _service_brief(s: Service) -> dict:
    return {"code": s.code, "name": s.name.as_dict(), "summary": s.summary.as_dict(),
            "category": {"code": s.category.code, **s.category.name.as_dict()}, "applicants": list(s.applicants),
            "fee_fen": s.fee_fen, "fees_vary": s.fees_vary, "time_limit_days": s.time_limit_days, "online": True}


def service_guide(s: Service) -> dict:
    """The guide (办事指南) generated from the declaration: what the public page and API show."""
    texts = lambda items: [t.as_dict() for t in items]  # noqa: E731
    return {
        **_service_brief(s), "version": s.version,
        "guide": {"conditions": texts(s.guide.conditions), "process": texts(s.guide.process),
                  "legal_basis": texts(s.guide.legal_basis), "notes": texts(s.guide.notes)},
        "materials": [{"code": m.code, "name": m.name.as_dict(), "required": m.required,
                       "held_by_platform": m.held is not None, "upload_if_not_held": m.upload_if_not_held,
                       "types": list(m.types), "max_kb": m.max_kb, "max_files": m.max_files,
                       "note": m.note.as_dict() if m.note else None} for m in s.materials],
        "form": [{"name": f.name, "type": f.type, "label": f.label.as_dict(), "required": f.required,
                  "help": f.help.as_dict() if f.help else None, "min": f.min, "max": f.max,
                  "min_length": f.min_length, "max_length": f.max_length, "pattern": f.pattern,
                  "choices": [{"value": c.value, **c.label.as_dict()} for c in f.choices],
                  "vehicle_kinds": list(f.kinds)} for f in s.fields],
        "auto_approval": s.workflow.auto_approve is not None, "approve_first": s.workflow.approve_first is not None,
        "outputs": [o.name for o in s.outputs],
        "fees": [{"item": u.item.code, "name": u.item.name.as_dict(), "amount_fen": u.item.amount_fen,
                  "legal_basis": u.item.legal_basis.as_dict(), "when_field": u.when.field,
                  "when_values": list(u.when.values), "at": u.at,
                  "exempt": [{"field": e.when.field or "", "values": list(e.when.values), "reason": e.reason.as_dict()}
                             for e in u.item.exempt if s.field(e.when.field or "")]} for u in s.fees],
    }


@router.get("services", auth=None, response={200: list[ServiceBriefOut], **ERRORS},
            summary="The service catalogue (search)")
def services_index(request, q: str = "", category: str | None = None, applicant: str | None = None):
    if len(q) > 100:
        raise InvalidInput("applications.query_too_long", "搜索内容过长", "The search is too long", field="q")
    return [_service_brief(s) for s in services_list(q=q, category=category, applicant=applicant)]


@router.get("services/{code}", auth=None, response={200: ServiceGuideOut, **ERRORS},
            summary="One service's guide (办事指南)")
def service_detail(request, code: str):
    return service_guide(service_get(code=code[:40]))


@router.get("services/{code}/eligibility", auth=AUTH, response={200: ServiceEligibilityOut, **ERRORS},
            summary="May I apply? Checked before the form (the rules the submission asks again)")
def service_eligibility(request, code: str):
    user = current_user(request)
    entry = selectors.entry_check(user=user, service=service_get(code=code[:40]))
    return {"open": entry.open, "refusals": [r.as_dict() for r in entry.refusals], "field": entry.field,
            "closed": {value: [r.as_dict() for r in reasons] for value, reasons in entry.closed.items()}}


@router.get("services/{code}/vehicles", auth=AUTH, response={200: dict[str, list[ServiceVehicleOut]], **ERRORS},
            summary="The applicant's own vehicles each own_vehicle field of the service offers")
def service_vehicles(request, code: str):
    user = current_user(request)
    service = service_get(code=code[:40])
    vehicles = selectors.applicant_vehicles(user=user, service=service)
    return {f.name: [{"plate": v.plate, "plate_type": v.plate_type, "kind": v.kind,
                      "kind_label": {"zh": v.kind_zh, "en": v.kind_en}, "brand": v.brand, "status": v.status}
                     for v in eligible_vehicles(f, vehicles)]
            for f in service.fields if f.type == "own_vehicle"}


# --- applications as their applicant sees them ------------------------------------------------------------------


def _event_out(e: ApplicationEvent, lang: str, *, staff: bool) -> dict:
    out = {"action": e.action, "label": _pick(action_label(e.action), lang),
           "from_status": e.from_status, "to_status": e.to_status, "at": _iso(e.at),
           "comment": _pick(selectors.event_comment(e), lang),
           "role": _pick(role_label(e.actor_role), lang)}
    if staff:
        out["actor"] = e.actor_label
        out["public"] = e.public
    return out


def _material_out(m: Material, *, staff: bool, app: Application) -> dict:
    out = {"id": m.pk, "slot": m.slot, "kind": m.kind, "content_type": m.content_type, "size": m.size,
           "sha256": m.sha256, "name": m.original_name, "summary": {"zh": m.summary_zh, "en": m.summary_en}}
    if staff and m.kind == Material.Kind.UPLOAD:
        out["download"] = f"/api/v1/staff/applications/{app.pk}/materials/{m.pk}"
    return out


def _application_out(app: Application, lang: str, *, detail: bool = False, staff: bool = False) -> dict:
    service = catalogue().get(app.service_code)
    p = selectors.progress(application=app)
    status = Application.Status(app.status)
    out = {
        "id": app.pk, "reference": app.reference, "service": app.service_code,
        "service_name": service.name.as_dict() if service else {"zh": app.service_code, "en": app.service_code},
        "status": app.status, "status_label": status.label.pick(lang),
        "final": app.status in FINAL_STATES, "created_at": _iso(app.created_at), "submitted_at": _iso(app.submitted_at),
        "accepted_at": _iso(app.accepted_at), "decided_at": _iso(app.decided_at), "due_at": _iso(p.due_at),
        "time_limit_paused": p.paused, "workdays_left": p.workdays_left, "overdue": p.overdue,
        "post_review_pending": app.post_review_pending, "decision_comment": app.decision_comment,
        "outcome": app.outcome,
    }
    if detail:
        fee = selectors.fee_state(application=app)
        out["fee"] = fee.as_dict() if fee else None
    if staff:
        out["claimed_by"] = (app.claimed_by.display_name or app.claimed_by.username) if app.claimed_by else None
        out["overdue_escalated_at"] = _iso(app.overdue_at)
    if detail:
        out["form"] = [{"name": n, "label": label.pick(lang), "value": _pick(v, lang)}
                       for n, label, v in selectors.form_display(application=app)]
        personal = json.loads(app.form_personal) if app.form_personal else {}
        out["personal_fields_set"] = sorted(k for k, v in personal.items() if v not in (None, ""))
        out["materials"] = [_material_out(m, staff=staff, app=app) for m in app.materials.all()]
        out["timeline"] = [_event_out(e, lang, staff=staff)
                           for e in selectors.timeline(application=app, public_only=not staff)]
    return out


class DraftIn(Schema):
    service: str
    data: dict = {}

    model_config = examples({"service": "licence-renewal", "data": {}})


class DataIn(Schema):
    data: dict

    model_config = examples({"data": {"delivery": "post"}})


class CommentIn(Schema):
    comment: str = ""

    model_config = examples({"comment": ""})


@router.post("me/applications", auth=AUTH, response={201: ApplicationDetailOut, **ERRORS},
             summary="Start an application (a draft)")
def draft_create(request, payload: DraftIn):
    user = current_user(request)
    app = services.application_draft_create(user=user, service_code=payload.service[:40], data=payload.data)
    return Status(201, _application_out(app, language_of(request), detail=True))


@router.get("me/applications", auth=AUTH, response={200: list[ApplicationOut], **ERRORS},
            summary="My applications")
def my_list(request, status: str | None = None):
    user = current_user(request)
    lang = language_of(request)
    return [_application_out(a, lang) for a in selectors.my_applications(user=user, status=status)[:200]]


@router.get("me/applications/{application_id}", auth=AUTH, response={200: ApplicationDetailOut, **ERRORS},
            summary="One of my applications, with its timeline")
def my_detail(request, application_id: int):
    user = current_user(request)
    app = selectors.my_application(user=user, application_id=application_id)
    return _application_out(app, language_of(request), detail=True)


@router.patch("me/applications/{application_id}", auth=AUTH, response={200: ApplicationDetailOut, **ERRORS},
              summary="Save form values (a draft, or an application sent back for correction)")
def draft_update(request, application_id: int, payload: DataIn):
    user = current_user(request)
    app = services.application_draft_update(user=user, application_id=application_id, data=payload.data)
    return _application_out(app, language_of(request), detail=True)


@router.get("me/applications/{application_id}/check", auth=AUTH, response={200: ApplicationCheckOut, **ERRORS},
            summary="What a submission would say now, without submitting (the check the submission makes)")
def my_check(request, application_id: int):
    user = current_user(request)
    app = selectors.my_application(user=user, application_id=application_id)
    check = selectors.submission_check(app=app, service=app.service(), user=user, lenient=True)
    return {"ready": not check.errors and not check.refusals,
            "errors": {name: {"zh": zh, "en": en} for name, (zh, en) in check.errors.items()},
            "refusals": [r.as_dict() for r in check.refusals], "unknown": sorted(check.unknown)}


def _idempotent_step(request, user, application_id: int, action: str, run_service) -> Status:
    lang = language_of(request)

    def run():
        return 200, _application_out(run_service(), lang, detail=True)

    return api_once(request, user, action, fingerprint=f"{application_id}:{request.body.decode('utf-8', 'replace')}",
                    run=run)


@router.post("me/applications/{application_id}/submit", auth=AUTH, response={200: ApplicationDetailOut, **ERRORS},
             summary="Submit (Idempotency-Key required); refusals leave the draft as it was")
def submit(request, application_id: int):
    user = current_user(request)
    return _idempotent_step(request, user, application_id, "application-submit",
                            lambda: services.application_submit(user=user, application_id=application_id))


@router.post("me/applications/{application_id}/resubmit", auth=AUTH,
             response={200: ApplicationDetailOut, **ERRORS},
             summary="Answer a send-back: resubmit the corrected application (Idempotency-Key required)")
def resubmit(request, application_id: int, payload: CommentIn):
    user = current_user(request)
    return _idempotent_step(request, user, application_id, "application-resubmit",
                            lambda: services.application_resubmit(user=user, application_id=application_id,
                                                                  comment=payload.comment))


@router.post("me/applications/{application_id}/withdraw", auth=AUTH,
             response={200: ApplicationDetailOut, **ERRORS},
             summary="Withdraw a draft or an undecided application")
def withdraw(request, application_id: int, payload: CommentIn):
    user = current_user(request)
    app = services.application_withdraw(user=user, application_id=application_id, comment=payload.comment)
    return _application_out(app, language_of(request), detail=True)


@router.post("me/applications/{application_id}/materials", auth=AUTH,
             response={201: ApplicationMaterialOut, **ERRORS},
             summary="Upload a material (multipart: slot, file; PDF/JPEG/PNG recognised by content)")
def material_upload(request, application_id: int):
    user = current_user(request)
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("applications.file_missing", "请选择要上传的文件", "Choose a file to upload", field="file")
    slot = str(request.POST.get("slot", ""))[:40]
    app = selectors.my_application(user=user, application_id=application_id)
    spec = app.service().upload_slots().get(slot)
    limit = (spec[2] if spec else 0) * 1024
    if spec is not None and upload.size > limit:
        # refused before reading it into memory
        label = spec[0]
        raise InvalidInput("applications.file_too_large", f"“{label.zh}”文件不能超过{services.size_label(spec[2])}",
                           f"“{label.en}” may be at most {services.size_label(spec[2])}", field="file")
    content = upload.read(limit + 1) if spec is not None else b""
    material = services.material_upload(user=user, application_id=application_id, slot=slot,
                                        filename=upload.name or "", content=content)
    return Status(201, _material_out(material, staff=False, app=app))


@router.delete("me/applications/{application_id}/materials/{material_id}", auth=AUTH,
               response={204: None, **ERRORS}, summary="Remove an uploaded material from a draft")
def material_remove(request, application_id: int, material_id: int):
    user = current_user(request)
    services.material_remove(user=user, application_id=application_id, material_id=material_id)
    return Status(204, None)


# --- staff ----------------------------------------------------------------------------------------------------------


def _staff(request, permission: str = "application.view"):
    user = require_permission(request, permission)
    return user, actor_of(request, user)


@router.get("staff/applications", auth=AUTH, response={200: StaffQueueOut, **ERRORS}, summary="A staff work queue",
            description="Soonest due first, ``limit`` (1–100) a page. The next page starts after the last row of "
                        "this one: pass the answer's ``next`` as ``after`` (keyset paging: every page costs the same).")
def staff_queue(request, queue: str = "acceptance", service: str | None = None, limit: int = 50,
                after: str | None = None):
    user, _ = _staff(request)
    page = selectors.queue_page(user=user, name=queue, service_code=service, after=after or "", limit=limit)
    lang = language_of(request)
    return {"queue": queue, "items": [_application_out(a, lang, staff=True) for a in page.items],
            "more": bool(page.next_after), "next": page.next_after}


@router.get("staff/applications/counts", auth=AUTH, response={200: dict[str, int], **ERRORS}, summary="Queue sizes",
            description=f"Each queue's size, exact below {selectors.COUNT_CAP:,}; {selectors.COUNT_CAP:,} means "
                        f"{selectors.COUNT_CAP:,} or more (counting stops there).")
def staff_counts(request, service: str | None = None):
    user, _ = _staff(request)
    return selectors.queue_counts(user=user, service_code=service)


@router.get("staff/applications/{application_id}", auth=AUTH,
            response={200: StaffApplicationDetailOut, **ERRORS}, exclude_unset=True,
            summary="An application with its history and materials (the look is access-audited)")
def staff_detail(request, application_id: int):
    user, _ = _staff(request)
    app = selectors.application_for_staff(application_id=application_id, user=user, ip=client_ip(request))
    return _application_out(app, language_of(request), detail=True, staff=True)


@router.get("staff/applications/{application_id}/materials/{material_id}", auth=AUTH,
            response={200: None, **ERRORS}, summary="Download an uploaded material (access-audited)")
def staff_material(request, application_id: int, material_id: int):
    user, actor = _staff(request)
    m = selectors.upload_for_staff(application_id=application_id, material_id=material_id)  # never a draft's
    if m is None:
        raise not_found("材料", "material")
    person_id = getattr(m.application.applicant, "person_id", None)
    if person_id is not None:
        audit_access(actor=actor, action="person.view", subject_person_id=person_id,
                     object_type="applications.material", object_id=m.pk, reason=f"material {m.slot}")
    response = FileResponse(m.file.open("rb"), content_type=m.content_type)
    response["Content-Disposition"] = f'attachment; filename="{m.slot}-{m.pk}.{m.file.name.rsplit(".", 1)[-1]}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("staff/applications/{application_id}/claim", auth=AUTH, response={200: StaffApplicationOut, **ERRORS},
             summary="Claim an application (409 names who holds it)")
def staff_claim(request, application_id: int):
    _, actor = _staff(request)
    app = services.application_claim(application_id=application_id, actor=actor)
    return _application_out(app, language_of(request), staff=True)


@router.post("staff/applications/{application_id}/release", auth=AUTH, response={200: StaffApplicationOut, **ERRORS},
             summary="Release a claim (?force=true: a supervisor frees someone else's)")
def staff_release(request, application_id: int, force: bool = False):
    _, actor = _staff(request)
    app = services.application_release(application_id=application_id, actor=actor, force=force)
    return _application_out(app, language_of(request), staff=True)


class ActIn(Schema):
    action: str
    comment: str = ""

    model_config = examples({"action": "accept", "comment": "材料齐全"})


@router.post("staff/applications/{application_id}/act", auth=AUTH, response={200: StaffApplicationOut, **ERRORS},
             summary="Take a workflow step: accept, refuse, review, approve, reject, send_back, confirm, revoke")
def staff_act(request, application_id: int, payload: ActIn):
    _, actor = _staff(request)
    app = services.application_act(application_id=application_id, action=payload.action, actor=actor,
                                    comment=payload.comment)
    return _application_out(app, language_of(request), staff=True)


@router.get("staff/application-statistics", auth=AUTH, response={200: list[ApplicationStatisticsOut], **ERRORS},
            summary="Per service: received, done, done on time, late, open, overdue")
def staff_statistics(request, since: dt.date | None = None, until: dt.date | None = None):
    _staff(request, "application.stats")
    start = clock.local_midnight(since) if since else None
    end = clock.local_midnight(until + dt.timedelta(days=1)) if until else None
    return selectors.statistics(since=start, until=end)
