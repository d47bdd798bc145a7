"""网上办事 (citizens' and enterprises' pages of the service catalogue and the one application workflow).

    /services/                         办事大厅: search and browse the listed services (public)
    /services/<code>/                  办事指南: the guide generated from the declaration (public)
    /services/<code>/apply/            start an application (the form; the first save makes a draft)
    /services/mine/                    my applications
    /services/mine/<id>/               one application: status, time limit, timeline, materials, result
    /services/mine/<id>/edit/          fill in / correct the form, upload materials, save as draft
    /services/mine/<id>/check/         核对信息: check the answers, then submit (one-time key: a double click
                                       submits once); a sent-back application is resubmitted from here
    /services/mine/<id>/withdraw/      withdraw (confirm page + POST)
    /services/mine/<id>/materials/<m>/ download / remove one of my uploads

Thin views over ``jiaoguan.applications`` (catalogue, services, selectors, rules): parse, authorise (another
person's application is the same 404 as a missing one), call, render. Every page works without JavaScript.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiaoguan.applications import rules, selectors, services
from jiaoguan.applications.catalogue import FINAL_STATES, STATES, Service, catalogue, service_get, services_list
from jiaoguan.applications.labels import Status, action_label, delivery_label, role_label, status_label
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, InvalidInput, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.money import format_yuan
from jiaoguan.portal.applications.forms import ApplicationForm, pick_text, size_text, upload_name
from jiaoguan.portal.views import citizen_required
from jiaoguan.postal import selectors as postal

if TYPE_CHECKING:  # annotations only: the pages read applications through its selectors
    from jiaoguan.applications.models import Application

S = Status
NS = "portal:applications_portal"
TONES = {S.DRAFT: "", S.AWAITING_PAYMENT: "bad", S.SUBMITTED: "warn", S.RETURNED: "bad", S.UNDER_REVIEW: "warn",
         S.REVIEWED: "warn", S.APPROVED: "ok", S.REJECTED: "bad", S.REFUSED: "bad", S.WITHDRAWN: "", S.REVOKED: "bad",
         S.LAPSED: ""}
FEE_STATUS = {"unpaid": ("待缴费", "To pay"), "paying": ("缴费中", "Being paid"), "paid": ("已缴费", "Paid"),
              "cancelled": ("已撤销", "Cancelled"), "refunded": ("已退款", "Refunded"), "exempt": ("免缴", "Exempt")}
TABS = {"all": None, "drafts": (S.DRAFT,), "open": rules.OPEN_STATES, "done": tuple(FINAL_STATES)}
WHO = {"citizen": ("个人", "Individuals"), "enterprise": ("企业", "Enterprises")}
OUTPUT_LABELS = {"permit": ("电子证照（可扫码核验）", "An e-permit (verifiable by its QR code)"),
                 "post": ("邮寄送达", "Sent to you by post"),
                 "certificate": ("电子证明，即时出具（可扫码核验）", "An e-certificate at once (verifiable by its QR code)")}
MAX_QUERY = 100


def _404(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        raise Http404 from None


def _key() -> str:
    return secrets.token_urlsafe(24)


def _status_label(status: str):
    return status_label(status)


def _applicant_kind(user) -> str:
    return "enterprise" if getattr(user, "role", "") == "enterprise" else "citizen"


def _who(service: Service) -> str:
    return bi("、".join(WHO[a][0] for a in service.applicants), ", ".join(WHO[a][1] for a in service.applicants))


def _fee(service: Service) -> str:
    if service.fees_vary and not service.fee_fen:
        return _("按办理事项收费")
    if not service.fee_fen:
        return _("免费")
    return format_yuan(service.fee_fen)


def _fee_rows(service: Service) -> list[dict]:
    """The guide's fee lines: each item with its amount, legal basis, the answers it applies to and who is
    exempt (from the fee table)."""
    rows = []
    for use in service.fees:
        when = ""
        if use.when.field is not None:
            when = "、".join(_choice_label(service, use.when.field, v) for v in use.when.values)
        rows.append({"name": pick_text(use.item.name), "amount": format_yuan(use.item.amount_fen),
                     "on_approval": use.at == "approval",
                     "basis": pick_text(use.item.legal_basis), "when": when,
                     "exempt": [pick_text(e.reason) for e in use.item.exempt if service.field(e.when.field or "")]})
    return rows


# --- the catalogue and the guides (public) ------------------------------------------------------------------------


def _card(service: Service) -> dict:
    return {"s": service, "name": pick_text(service.name), "summary": pick_text(service.summary),
            "category": pick_text(service.category.name), "who": _who(service), "fee": _fee(service),
            "enterprise_only": service.applicants == ("enterprise",)}


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    categories = [c for c in sorted(catalogue().categories.values(), key=lambda c: c.order)
                  if any(s.listed and s.category.code == c.code for s in catalogue().services.values())]
    category = request.GET.get("category", "")
    chosen = next((c for c in categories if c.code == category), None)
    found = services_list(q=q, category=chosen.code if chosen else None)
    groups: list[dict] = []
    for c in categories:
        items = [_card(s) for s in found if s.category.code == c.code]
        if items:
            groups.append({"code": c.code, "name": pick_text(c.name), "items": items})
    return render(request, "portal/applications/index.html", {
        "q": q, "categories": [{"code": c.code, "name": pick_text(c.name)} for c in categories],
        "chosen": chosen.code if chosen else "", "groups": groups, "count": len(found)})


def _output_kind(name: str) -> str | None:
    """What an output gives the applicant, from its registered name (the engine's outputs do not declare it):
    "permit" for e-permits and licences issued as credentials, "post" for items sent by post."""
    if name == "post" or name.endswith(".post"):
        return "post"
    if "e_permit" in name or name.endswith(".licence"):
        return "permit"
    if name == "certificate":
        return "certificate"
    return None


def _output_kinds(service: Service) -> list[str]:
    return list(dict.fromkeys(k for o in service.outputs if (k := _output_kind(o.name)) is not None))


def _workflow_steps(service: Service) -> list[str]:
    """The workflow in words, from the declaration: what happens after the applicant submits."""
    wf = service.workflow
    steps = [_("网上提交申请")]
    if wf.auto_approve is not None and wf.auto_approve.field is None:
        steps.append(_("系统自动审批，即时办结"))
    else:
        if "accept" in wf.actions:
            steps.append(_("受理（审查申请是否完整）"))
        if "review" in wf.actions:
            steps.append(_("审核"))
        if "approve" in wf.actions:
            steps.append(_("审批（由受理人以外的民警决定）"))
    kinds = _output_kinds(service)
    if "permit" in kinds:
        steps.append(_("发放电子许可证"))
    if "post" in kinds:
        steps.append(_("邮寄送达"))
    return steps


def _material_rows(service: Service) -> list[dict]:
    rows = []
    for m in service.materials:
        rows.append({"m": m, "name": pick_text(m.name), "held": m.held is not None,
                     "fallback": m.upload_if_not_held, "types": "、".join(t.upper() for t in m.types),
                     "max": size_text(m.max_kb), "note": pick_text(m.note) if m.note else ""})
    for f in service.fields:
        if f.type == "file":
            rows.append({"m": None, "name": pick_text(f.label), "held": False, "fallback": False,
                         "types": "PDF、JPEG、PNG", "max": size_text(5120), "note": "", "required": f.required})
    return rows


@require_GET
def guide(request: HttpRequest, code: str) -> HttpResponse:
    service = _404(service_get, code=code[:40])
    wf = service.workflow
    return render(request, "portal/applications/guide.html", {
        **_card(service), "conditions": [pick_text(t) for t in service.guide.conditions],
        "process": [pick_text(t) for t in service.guide.process],
        "legal_basis": [pick_text(t) for t in service.guide.legal_basis],
        "notes": [pick_text(t) for t in service.guide.notes], "materials": _material_rows(service),
        "steps": _workflow_steps(service), "time_limit": service.time_limit_days,
        "instant": wf.auto_approve is not None and wf.auto_approve.field is None and not service.time_limit_days,
        "fees": _fee_rows(service),
        "auto_approve": wf.auto_approve is not None, "auto_always": wf.auto_approve is not None
        and wf.auto_approve.field is None, "approve_first": wf.approve_first is not None,
        "outputs": [bi(*OUTPUT_LABELS[k]) for k in _output_kinds(service)],
        "may_apply": _may_apply(request.user, service), **_entry(request.user, service)})


def _choice_label(service: Service, field_name: str, value: str) -> str:
    spec = service.field(field_name)
    choice = next((c for c in spec.choices if c.value == value), None) if spec is not None else None
    return pick_text(choice.label) if choice is not None else value


def _entry(user, service: Service) -> dict:
    """What the entry pages (guide, the start of the form) say before any answer, from the engine's own
    eligibility rules (applications.selectors.entry_check; the submission asks them again)."""
    if not user.is_authenticated or _may_apply(user, service) is False:
        return {"entry": None, "entry_refusals": [], "entry_options": []}
    entry = selectors.entry_check(user=user, service=service)
    options = []
    if entry.field is not None and entry.open:
        spec = service.field(entry.field)
        for c in spec.choices:
            reasons = entry.closed.get(c.value, ())
            options.append({"value": c.value, "label": pick_text(c.label), "open": not reasons,
                            "reasons": [bi(r.zh, r.en) for r in reasons],
                            "url": f"{reverse(f'{NS}:apply', args=[service.code])}?{entry.field}={c.value}"})
    return {"entry": entry, "entry_refusals": [bi(r.zh, r.en) for r in entry.refusals],
            "entry_options": options if any(not o["open"] for o in options) else []}


def _ineligible(request: HttpRequest, service: Service, reasons, *, choice: str = "") -> HttpResponse:
    """The entry refused before the form: why, and no form to fill in."""
    return render(request, "portal/applications/ineligible.html", {
        **_card(service), "reasons": [bi(r.zh, r.en) for r in reasons], "choice": choice}, status=200)


def _may_apply(user, service: Service) -> bool | None:
    """None: not logged in (the button leads to the login page); else whether this account's kind may apply."""
    if not user.is_authenticated:
        return None
    if user.is_police:
        return False
    return _applicant_kind(user) in service.applicants


def _refused_kind(request: HttpRequest, service: Service) -> HttpResponse:
    kinds = service.applicants
    return render(request, "portal/applications/refused.html", {
        **_card(service), "only_zh": "、".join(WHO[a][0] for a in kinds),
        "only": bi("、".join(WHO[a][0] for a in kinds), " and ".join(WHO[a][1].lower() for a in kinds)),
        "enterprise_only": kinds == ("enterprise",)}, status=403)


# --- held materials and the check before submitting ---------------------------------------------------------------


@dataclass
class HeldRow:
    code: str
    name: str
    found: bool
    summary: str
    unknown: bool = False  # the provider could not be asked just now
    later: bool = False  # not found yet, looked up again at submission (e.g. once the plate is filled in)


def _held(app: Application | None, service: Service, user, values: dict) -> list[HeldRow]:
    """For each material the platform may hold (免提交): whether it holds it for this applicant now
    (applications.selectors.held_materials, what the submission asks)."""
    cleaned, _errors = selectors.form_clean_for(
        user=user, service=service, data={k: v for k, v in values.items() if service.field(k) is not None})
    held, unknown = selectors.held_materials(app=app, service=service, user=user, data=cleaned, lenient=True)
    rows = []
    for m, found in zip(service.materials, held):
        if not m.held:
            continue
        if m.code in unknown:
            rows.append(HeldRow(m.code, pick_text(m.name), False, "", unknown=True))
            continue
        rows.append(HeldRow(m.code, pick_text(m.name), found is not None,
                            bi(found.summary_zh, found.summary_en) if found is not None else "",
                            later=found is None and m.required and not m.upload_if_not_held))
    return rows


def _service_of(app: Application) -> Service:
    service = catalogue().get(app.service_code)
    if service is None:
        raise Http404
    return service


def _own(request: HttpRequest, application_id: int) -> Application:
    return _404(selectors.my_application, user=request.user, application_id=application_id)


def _form_page(request: HttpRequest, service: Service, form: ApplicationForm, *, app: Application | None,
               status: int = 200, problem: str = "") -> HttpResponse:
    uploads = selectors.uploads(application=app) if app is not None else {}
    upload_rows = [{"field": bf, "files": uploads.get(bf.field.slot, [])} for bf in form.upload_fields()]
    values = app.form() if app is not None else {}
    held = _held(app, service, request.user, values)
    reasons = _send_back_reasons(app) if app is not None and app.status == S.RETURNED else []
    drafts = []
    if app is None:
        mine = selectors.my_applications(user=request.user, status=S.DRAFT)
        drafts = list(mine.filter(service_code=service.code)[:5])
    entry = _entry(request.user, service)
    return render(request, "portal/applications/form.html", {
        **_card(service), "form": form, "app": app, "upload_rows": upload_rows, "held": held,
        "closed_options": [o for o in entry["entry_options"] if not o["open"]],
        "reasons": reasons, "drafts": drafts, "key": _key(), "problem": problem,
        "action": reverse(f"{NS}:edit", args=[app.pk]) if app is not None else reverse(f"{NS}:apply",
                                                                                       args=[service.code])},
        status=status)


def _new_form(service: Service, app: Application | None, request: HttpRequest, *, bound: bool) -> ApplicationForm:
    values = app.form() if app is not None else {}
    held = {h.code for h in _held(app, service, request.user, values) if h.found}
    vehicles = selectors.applicant_vehicles(user=request.user, service=service)
    options = selectors.applicant_options(user=request.user, service=service)
    if bound:
        return ApplicationForm(request.POST, request.FILES, service=service, today=clock.today(), values=values,
                               held=held, vehicles=vehicles, options=options)
    return ApplicationForm(service=service, today=clock.today(), values=values, held=held, vehicles=vehicles,
                           options=options)


def _save(request: HttpRequest, service: Service, app: Application, form: ApplicationForm) -> int:
    """Save the answers, then the uploads, into the draft. Errors go beside their inputs; what could be saved is
    kept. Returns the HTTP status (200 when everything was saved)."""
    status = 200
    try:
        services.application_draft_update(user=request.user, application_id=app.pk, data=form.answers())
    except DomainError as exc:
        status = form_error(form, exc)
    slots = service.upload_slots()
    for slot, upload in form.uploads():
        label, _types, max_kb, _n = slots[slot]
        try:
            if upload.size > max_kb * 1024:  # refused before reading it into memory
                raise InvalidInput("applications.file_too_large", f"“{label.zh}”文件不能超过{size_text(max_kb)}",
                                   f"“{label.en}” may be at most {size_text(max_kb)}", field="file")
            services.material_upload(user=request.user, application_id=app.pk, slot=slot,
                                     filename=upload.name or "", content=upload.read(max_kb * 1024 + 1))
        except DomainError as exc:
            form.add_error(upload_name(slot), f"{upload.name}：{exc.message()}" if upload.name else exc.message())
            status = exc.status if 400 <= exc.status < 500 else 400
    return status


def _after_save(request: HttpRequest, service: Service, app: Application, form: ApplicationForm,
                status: int) -> HttpResponse:
    app.refresh_from_db()
    if status != 200:
        return _form_page(request, service, form, app=app, status=status,
                          problem=_("草稿已保存，但有以下问题需要处理："))
    if request.POST.get("go") == "check":
        errors = selectors.submission_check(app=app, service=service, user=request.user, lenient=True).errors
        if errors:
            form = _new_form(service, app, request, bound=False)
            form.cleaned_data = {}
            for name, (zh, en) in errors.items():
                target = name if name in form.fields else upload_name(name)
                form.add_error(target if target in form.fields else None, bi(zh, en))
            return _form_page(request, service, form, app=app, status=422,
                              problem=_("草稿已保存。请补充或更正标出的项目后再继续："))
        return redirect(f"{NS}:check", application_id=app.pk)
    messages.success(request, _("草稿已保存。您可以随时在“我的申请”中继续填写。"))
    return redirect(f"{NS}:edit", application_id=app.pk)


@citizen_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """The empty form of a service. The first save (or "continue") makes the draft; the hidden one-time key
    makes a double click one draft."""
    service = _404(service_get, code=code[:40])
    if not _may_apply(request.user, service):
        return _refused_kind(request, service)
    entry = selectors.entry_check(user=request.user, service=service)
    if not entry.open:  # refused whatever the answers: say why before the form, not at 核对信息
        return _ineligible(request, service, entry.refusals)
    answers = request.GET if request.method == "GET" else request.POST
    chosen = str(answers.get(entry.field, "")) if entry.field else ""
    closed = entry.closed_for({entry.field: chosen}) if entry.field else ()
    if request.method == "GET":
        if closed:
            return _ineligible(request, service, closed, choice=_choice_label(service, entry.field, chosen))
        form = _new_form(service, None, request, bound=False)
        if entry.field and chosen and entry.field in form.fields:
            form.initial[entry.field] = chosen
        return _form_page(request, service, form, app=None)
    form = _new_form(service, None, request, bound=True)
    if not form.is_valid() or closed:
        if closed and entry.field in form.fields:
            form.add_error(entry.field, "；".join(str(bi(r.zh, r.en)) for r in closed))
        return _form_page(request, service, form, app=None, status=422)
    created: list[int] = []

    def run():
        app = services.application_draft_create(user=request.user, service_code=service.code)
        created.append(app.pk)
        return 201, {"id": app.pk}

    try:
        _s, body = once_for(request.user, "portal-application-draft", key=request.POST.get("idempotency_key", ""),
                            fingerprint=service.code, run=run)
    except DomainError as exc:
        if exc.code == "applications.applicant_kind":
            return _refused_kind(request, service)
        status = form_error(form, exc)
        return _form_page(request, service, form, app=None, status=status)
    app = _own(request, body["id"])
    if not created:  # the same click again: the draft exists already
        return redirect(f"{NS}:edit", application_id=app.pk)
    return _after_save(request, service, app, form, _save(request, service, app, form))


@citizen_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    service = _service_of(app)
    if not rules.editable(app.status):
        messages.info(request, _("该申请已提交，不能再修改。"))
        return redirect(f"{NS}:detail", application_id=app.pk)
    if request.method == "GET":
        return _form_page(request, service, _new_form(service, app, request, bound=False), app=app)
    form = _new_form(service, app, request, bound=True)
    if not form.is_valid():
        return _form_page(request, service, form, app=app, status=422,
                          problem=_("表单中有无法保存的内容，草稿保持不变："))
    return _after_save(request, service, app, form, _save(request, service, app, form))


@citizen_required
@require_POST
def material_remove(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    app = _own(request, application_id)
    try:
        services.material_remove(user=request.user, application_id=app.pk, material_id=material_id)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message())
        return redirect(f"{NS}:detail", application_id=app.pk)
    messages.success(request, _("已删除该文件。"))
    return redirect(f"{NS}:edit", application_id=app.pk)


@citizen_required
@require_GET
def material_file(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    app = _own(request, application_id)
    m = selectors.my_upload(application=app, material_id=material_id)
    if m is None or not m.file:
        raise Http404
    response = FileResponse(m.file.open("rb"), content_type=m.content_type or "application/octet-stream")
    ext = m.file.name.rsplit(".", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="{m.slot}-{m.pk}.{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- check and submit ----------------------------------------------------------------------------------------------


def _answers(app: Application, service: Service) -> list[dict]:
    """The answers as the engine displays them (ID numbers and phones masked), with choices and ticks in the
    page's language only."""
    data = app.form()
    rows = []
    for name, label, value in selectors.form_display(application=app):
        spec = service.field(name)
        if spec is not None and spec.type == "choice":
            choice = next((c for c in spec.choices if c.value == str(data.get(name))), None)
            value = pick_text(choice.label) if choice is not None else value
        elif spec is not None and spec.type == "boolean":
            value = _("是") if data.get(name) is True else _("否")
        rows.append({"name": name, "label": pick_text(label), "value": value})
    return rows


def _material_summary(app: Application, service: Service, user, *, live: bool) -> list[dict]:
    """Every declared material with how it is provided: held by the platform (免提交) or uploaded files."""
    uploads = selectors.uploads(application=app)
    stored_held = selectors.held_records(application=app)
    live_held = {h.code: h for h in _held(app, service, user, app.form())} if live else {}
    rows = []
    for m in service.materials:
        row = {"name": pick_text(m.name), "required": m.required, "files": uploads.get(m.code, []),
               "held": None}
        if m.code in stored_held:
            h = stored_held[m.code]
            row["held"] = bi(h.summary_zh, h.summary_en) or _("平台已有")
        elif m.code in live_held and live_held[m.code].found:
            row["held"] = live_held[m.code].summary
        rows.append(row)
    for f in service.fields:
        if f.type == "file":
            rows.append({"name": pick_text(f.label), "required": f.required, "files": uploads.get(f.name, []),
                         "held": None})
    return rows


def _check_page(request: HttpRequest, app: Application, service: Service, *, status: int = 200,
                error: DomainError | None = None) -> HttpResponse:
    check = selectors.submission_check(app=app, service=service, user=request.user, lenient=True)
    errors, refusals = check.errors, check.refusals
    if isinstance(error, services.Ineligible):
        refusals = error.reasons
    return render(request, "portal/applications/check.html", {
        **_card(service), "app": app, "answers": _answers(app, service),
        "materials": _material_summary(app, service, request.user, live=True),
        "errors": [bi(zh, en) for zh, en in errors.values()], "refusals": [bi(r.zh, r.en) for r in refusals],
        "error": error.message() if error is not None and not isinstance(error, services.Ineligible) else "",
        "key": _key(), "resubmit": app.status == S.RETURNED, "reasons": _send_back_reasons(app),
        "time_limit": service.time_limit_days}, status=status)


@citizen_required
@require_GET
def check(request: HttpRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    service = _service_of(app)
    if not rules.editable(app.status):
        return redirect(f"{NS}:detail", application_id=app.pk)
    return _check_page(request, app, service)


@citizen_required
@require_POST
def submit(request: HttpRequest, application_id: int) -> HttpResponse:
    """Submit a draft, or resubmit an application sent back for correction. The one-time key from the check page
    makes a double click (or a reload) one submission; a refusal leaves the draft as it was."""
    app = _own(request, application_id)
    service = _service_of(app)
    comment = request.POST.get("comment", "")[:500]
    resubmitting = app.status == S.RETURNED

    def run():
        if app.status == S.RETURNED:
            done = services.application_resubmit(user=request.user, application_id=app.pk, comment=comment)
        else:
            done = services.application_submit(user=request.user, application_id=app.pk)
        return 200, {"id": done.pk, "status": done.status, "reference": done.reference}

    try:
        _s, body = once_for(request.user, "portal-application-submit", key=request.POST.get("idempotency_key", ""),
                            fingerprint=str(app.pk), run=run)
    except DomainError as exc:
        app.refresh_from_db()
        if not rules.editable(app.status):  # e.g. submitted already in another tab
            messages.info(request, exc.message())
            return redirect(f"{NS}:detail", application_id=app.pk)
        if exc.code == "applications.form_invalid":
            form = _new_form(service, app, request, bound=False)
            form.cleaned_data = {}
            for name, (zh, en) in exc.fields.items():
                target = name if name in form.fields else upload_name(name)
                form.add_error(target if target in form.fields else None, bi(zh, en))
            return _form_page(request, service, form, app=app, status=exc.status,
                              problem=exc.message())
        return _check_page(request, app, service, status=exc.status if 400 <= exc.status < 500 else 400, error=exc)
    app.refresh_from_db()
    if app.status == S.APPROVED:
        messages.success(request, _("申请已提交并已批准，申请编号 %(ref)s。") % {"ref": body["reference"]})
    elif app.status == S.AWAITING_PAYMENT:
        messages.success(request, _("申请已提交，申请编号 %(ref)s。请缴纳规费，缴费后进入受理。") % {"ref": body["reference"]})
    elif resubmitting:
        messages.success(request, _("补正材料已重新提交，办理时限继续计算。申请编号 %(ref)s。") % {"ref": body["reference"]})
    else:
        messages.success(request, _("申请已提交，申请编号 %(ref)s。请留意办理进度。") % {"ref": body["reference"]})
    return redirect(f"{NS}:detail", application_id=app.pk)


# --- my applications ------------------------------------------------------------------------------------------------


def _row(app: Application) -> dict:
    service = catalogue().get(app.service_code)
    p = selectors.progress(application=app)
    return {"app": app, "name": pick_text(service.name) if service else app.service_code,
            "status": _status_label(app.status), "tone": TONES.get(app.status, ""), "progress": p,
            "due": timezone.localtime(p.due_at) if p.due_at else None}


@citizen_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "all")
    if tab not in TABS:
        tab = "all"
    qs = selectors.my_applications(user=request.user)
    if TABS[tab] is not None:
        qs = qs.filter(status__in=TABS[tab])
    return render(request, "portal/applications/mine.html", {
        "rows": [_row(a) for a in qs[:200]], "tab": tab,
        "tabs": [("all", _("全部")), ("drafts", _("草稿")), ("open", _("办理中")), ("done", _("已办结"))]})


def _send_back_reasons(app: Application | None) -> list[str]:
    if app is None:
        return []
    last = app.events.filter(action="send_back").order_by("-at", "-pk").first()
    return [last.comment] if last is not None and last.comment else []


def _timeline(app: Application) -> list[dict]:
    rows = []
    for e in selectors.timeline(application=app):
        comment = selectors.event_comment(e)
        rows.append({"e": e, "label": bi(*action_label(e.action)),
                     "role": bi(*role_label(e.actor_role)),
                     "at": timezone.localtime(e.at), "status": _status_label(e.to_status)
                     if e.to_status in STATES and e.to_status != e.from_status else "",
                     "tone": TONES.get(e.to_status, "") if e.to_status != e.from_status else "",
                     "comment": comment})
    return rows


def _result(app: Application) -> dict:
    outcome = {k: v for k, v in (app.outcome or {}).items() if isinstance(v, dict)}
    out: dict = {}
    permit = next((v for v in outcome.values() if v.get("credential_id") and v.get("number")), None)
    if permit is not None and app.status == S.APPROVED:
        out["permit_number"] = permit["number"]
        out["permit_url"] = reverse("portal:credentials_portal:detail", args=[permit["number"]])
        out["certificate"] = "certificate" in outcome  # a 证明/信息单, not a permit: the page names it so
    post = outcome.get("post") or next((v for v in outcome.values() if v.get("shipment_id")), None)
    if post:
        out["post"] = {"tracking_number": post.get("tracking_number") or "", "status": "", "address": "",
                       "recipient": ""}
        shipment = postal.shipment_for_source(source_type="applications.application", source_id=str(app.pk))
        if shipment is not None:
            summary = postal.shipment_summary(shipment=shipment)
            out["post"].update(tracking_number=summary["tracking_number"] or out["post"]["tracking_number"],
                               status=bi(summary["status_zh"], summary["status_en"]),
                               address=summary["address"], recipient=summary["recipient_name"],
                               item=bi(summary["item_zh"], summary["item_en"]), final=summary["final"])
        elif post.get("status"):
            out["post"]["status"] = bi(*delivery_label(post["status"]))
    learner = next((v for v in outcome.values() if v.get("learner_permit")), None)
    if learner is not None and app.status == S.APPROVED:  # 学习驾驶证明 (增驾): the tests are booked under 考试预约
        out["learner_permit"] = {"number": learner["learner_permit"], "licence_class": learner.get("licence_class", ""),
                                 "valid_until": learner.get("valid_until", ""),
                                 "url": reverse("portal:exams_portal:home")}
    pickup = outcome.get("pickup")
    if pickup and app.status == S.APPROVED:
        # collected at a counter: book a visit with the counters engine, for the service the output names
        out["pickup"] = {"item": bi(pickup.get("item_zh", ""), pickup.get("item_en", "")),
                         "note": bi(pickup["note_zh"], pickup.get("note_en", "")) if pickup.get("note_zh") else "",
                         "book_url": f"{reverse('portal:counters_portal:book')}?"
                                     f"{urlencode({'service': pickup.get('counter_service', '')})}"}
    return out


def _fee_view(app) -> dict | None:
    """The application's fees for its page (applications.selectors.fee_state): lines, total, deadline, and whether
    it can be paid now (under 我的缴费, by its reference)."""
    fee = selectors.fee_state(application=app)
    if fee is None:
        return None
    return {"lines": [{"name": bi(line["zh"], line["en"]), "amount": format_yuan(line["amount_fen"]),
                       "exempt": bi(line["exempt_zh"], line["exempt_en"]) if line.get("exempt_zh") else ""}
                      for line in fee.lines],
            "total": format_yuan(fee.total_fen), "status": bi(*FEE_STATUS.get(fee.status, (fee.status, fee.status))),
            "status_code": fee.status, "reference": fee.payable_reference, "phase": fee.phase,
            "due": timezone.localtime(fee.due_at) if fee.due_at else None,
            "payable": app.status == S.AWAITING_PAYMENT and fee.status in ("unpaid", "paying")}


@citizen_required
@require_GET
def detail(request: HttpRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    service = catalogue().get(app.service_code)
    p = selectors.progress(application=app)
    return render(request, "portal/applications/detail.html", {
        **(_card(service) if service else {"name": app.service_code}), "app": app, "service": service,
        "status": _status_label(app.status), "tone": TONES.get(app.status, ""), "progress": p,
        "due": timezone.localtime(p.due_at) if p.due_at else None,
        "answers": _answers(app, service) if service else [],
        "materials": _material_summary(app, service, request.user, live=False) if service else [],
        "timeline": _timeline(app), "result": _result(app), "fee": _fee_view(app),
        "reasons": _send_back_reasons(app)
        if app.status == S.RETURNED else [],
        "editable": rules.editable(app.status), "withdrawable": rules.step_allowed("withdraw", app.status),
        "final": app.status in FINAL_STATES})


@citizen_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    app = _own(request, application_id)
    service = catalogue().get(app.service_code)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            services.application_withdraw(user=request.user, application_id=app.pk,
                                          comment=request.POST.get("comment", "")[:500])
        except DomainError as exc:
            error, status = exc.message(), exc.status if 400 <= exc.status < 500 else 400
        else:
            messages.success(request, _("申请已撤回。"))
            return redirect(f"{NS}:detail", application_id=app.pk)
    if not rules.step_allowed("withdraw", app.status) and not error:
        return redirect(f"{NS}:detail", application_id=app.pk)
    return render(request, "portal/applications/withdraw.html", {
        "app": app, "name": pick_text(service.name) if service else app.service_code, "error": error,
        "status": _status_label(app.status)}, status=status)
