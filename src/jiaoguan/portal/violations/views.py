"""我的违法 (citizens' violation pages): list, detail with evidence, online handling, first-violation waiver and
disputes (我被套牌 / 申诉). Thin views over ``jiaoguan.violations`` services and selectors: parse, authorise (the
selectors answer 404 for anything not the user's to see), call, render.
"""
from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.i18n import bi, choice_label
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.identifiers import format_plate
from jiaoguan.payments import selectors as payments
from jiaoguan.portal.views import _payable_row, citizen_required
from jiaoguan.violations import conf, rules, selectors, services

S = selectors.ViolationStatus
TONES = {S.RECORDED: "warn", S.HANDLED: "warn", S.PAID: "ok", S.WAIVED: "ok", S.DISPUTED: "warn", S.REVOKED: ""}
MAX_DISPUTE_PHOTOS = 4


def _violation(request: HttpRequest, violation_id: int):
    try:
        return selectors.my_violation(user=request.user, violation_id=violation_id)
    except NotFound:
        raise Http404 from None



def _row(v) -> dict:
    return {"v": v, "tone": TONES.get(v.status, ""), "description": bi(v.code.description_zh, v.code.description_en),
            "source_label": choice_label(selectors.ViolationSource, v.source)}


# --- list ------------------------------------------------------------------------------------------------------

@citizen_required
def violation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    if status and status not in S.values:
        status = ""
    rows = [_row(v) for v in selectors.my_violations(user=request.user, status=status or None)[:200]]
    tabs = [("", _("全部"))] + [(value, label) for value, label in S.choices]
    return render(request, "portal/violations/list.html", {"rows": rows, "status": status, "tabs": tabs})


# --- detail, handling, waiver ------------------------------------------------------------------------------------

class HandleForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=120)


def _detail(request: HttpRequest, v, *, handle_form: HandleForm | None = None,
            error: DomainError | None = None, status: int = 200) -> HttpResponse:
    decision = selectors.decision_for(violation=v)
    refusals = []
    if selectors.may_handle(violation=v):
        refusals = [bi(r.zh, r.en) for r in services.online_refusals(user=request.user, violation=v)]
    waiver = selectors.waiver_offer(violation=v)  # the check violation_request_waiver enforces
    error_lines = []
    if error is not None:
        error_lines = list(dict.fromkeys(error.field_messages().values())) or [error.message()]
    payable = None
    if decision is not None and decision.fine_fen:
        payable = payments.payable_for_source(source_type=services.SOURCE_TYPE, source_id=str(decision.pk))
    payable_row = None
    if payable is not None and payable.status == "unpaid":
        payable_row = _payable_row(payable)  # 缴款编号 with its Code 128 and QR on the decision (缴费一维码)
    waiver_label = ""
    if v.waiver_rule:
        waiver_label = bi(*rules.WAIVER_LABELS.get(v.waiver_rule, (v.waiver_rule, v.waiver_rule)))
    context = {
        **_row(v),
        "evidence": list(v.evidence.all().order_by("pk")),
        "decision": decision,
        "payable": payable,
        "payable_row": payable_row,
        "refusals": refusals,
        "error_lines": error_lines,
        "handle_form": handle_form or HandleForm(initial={"idempotency_key": secrets.token_urlsafe(24)}),
        "waiver_label": waiver_label,
        "waiver_rules": [bi(*rules.WAIVER_LABELS[r]) for r in conf.get("WAIVER_RULES") if r in rules.WAIVER_LABELS],
        "can_waive": waiver.allowed,
        "waiver_offered": bi(waiver.waiver.zh, waiver.waiver.en) if waiver.waiver is not None else "",
        "waiver_refusals": [bi(r.zh, r.en) for r in waiver.refusals],
        "can_dispute": selectors.may_dispute(violation=v),
        "is_own": v.vehicle is not None and v.vehicle.owner_id == request.user.person_id,
        "disputes": list(v.disputes.filter(submitted_by_id=request.user.pk).order_by("-submitted_at")),
    }
    return render(request, "portal/violations/detail.html", context, status=status)


@citizen_required
def violation_detail(request: HttpRequest, violation_id: int) -> HttpResponse:
    return _detail(request, _violation(request, violation_id))


@citizen_required
def violation_photo(request: HttpRequest, violation_id: int, evidence_id: int) -> HttpResponse:
    """An evidence photo, only to someone who may see the violation (media files are not public)."""
    v = _violation(request, violation_id)
    evidence = selectors.evidence_of(violation=v, evidence_id=evidence_id)
    if evidence is None:
        raise Http404
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@citizen_required
@require_POST
def violation_handle(request: HttpRequest, violation_id: int) -> HttpResponse:
    """网上处理: the hidden idempotency key makes a double-click or a resubmitted form one request."""
    v = _violation(request, violation_id)
    form = HandleForm(request.POST)
    if not form.is_valid():
        return _detail(request, v, error=DomainError("core.idempotency_key", "页面已过期，请重新提交",
                                                     "The page expired; submit again"), status=400)

    def run():
        decision = services.violation_handle_online(user=request.user, violation_id=v.pk)
        return 201, {"number": decision.number}

    try:
        _status, body = once_for(request.user, "violation-handle", key=form.cleaned_data["idempotency_key"],
                                 fingerprint=str(v.pk), run=run)
    except DomainError as exc:
        v = _violation(request, violation_id)
        return _detail(request, v, error=exc, status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(request, _("处理成功，处罚决定书编号 %(number)s。") % {"number": body["number"]})
    return redirect("portal:violations_portal:detail", violation_id=v.pk)


@citizen_required
@require_POST
def violation_waiver(request: HttpRequest, violation_id: int) -> HttpResponse:
    v = _violation(request, violation_id)
    try:
        v = services.violation_request_waiver(user=request.user, violation_id=v.pk)
    except DomainError as exc:
        v = _violation(request, violation_id)
        return _detail(request, v, error=exc, status=exc.status if 400 <= exc.status < 500 else 400)
    label = bi(*rules.WAIVER_LABELS.get(v.waiver_rule, (v.waiver_rule, v.waiver_rule)))
    messages.success(request, _("已按“%(rule)s”免予处罚：不罚款、不记分。") % {"rule": label})
    return redirect("portal:violations_portal:detail", violation_id=v.pk)


# --- disputes ----------------------------------------------------------------------------------------------------

class MultiFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class DisputeForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("申诉类型"), widget=forms.RadioSelect)
    violation_ids = forms.TypedMultipleChoiceField(label=gettext_lazy("申诉的违法记录"), coerce=int,
                                                   widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=gettext_lazy("申诉理由"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 5}))
    photos = MultipleFileField(label=gettext_lazy("证明材料照片（可选）"), required=False,
                               widget=MultiFileInput(attrs={"accept": "image/jpeg,image/png"}))

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = selectors.DisputeKind.choices
        self.fields["violation_ids"].choices = choices

    def clean_photos(self):
        files = self.cleaned_data.get("photos") or []
        if len(files) > MAX_DISPUTE_PHOTOS:
            raise forms.ValidationError(_("最多上传%(n)s张照片") % {"n": MAX_DISPUTE_PHOTOS})
        photos = []
        for f in files:
            if f.size > conf.get("MAX_PHOTO_BYTES"):
                raise forms.ValidationError(_("每张照片不超过%(kb)sKB") % {"kb": conf.get("MAX_PHOTO_BYTES") // 1024})
            try:
                photos.append(services.photo_check(f.read(), field="photos"))
            except DomainError as exc:
                raise forms.ValidationError(exc.message()) from None
        return photos


@citizen_required
@require_http_methods(["GET", "POST"])
def dispute_new(request: HttpRequest) -> HttpResponse:
    """我被套牌 / 申诉: choose the violations, say why, add photos; an approver reviews it in the console."""
    open_ones = [v for v in selectors.my_violations(user=request.user)[:200] if selectors.may_dispute(violation=v)]
    choices = [(v.pk, f"{format_plate(v.plate)} · {clock.localtime(v.occurred_at):%Y-%m-%d %H:%M} · {bi(v.code.description_zh, v.code.description_en)}")
               for v in open_ones]
    status = 200
    if request.method == "POST":
        form = DisputeForm(request.POST, request.FILES, choices=choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                dispute = services.dispute_submit(user=request.user, kind=data["kind"],
                                                  violation_ids=data["violation_ids"], reason=data["reason"],
                                                  photos=data["photos"])
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                messages.success(request, _("申诉已提交（编号 %(id)s），审核结果将通过消息通知您。") % {"id": dispute.pk})
                return redirect("portal:violations_portal:list")
        else:
            status = 400
    else:
        preselect = request.GET.get("violation", "")
        initial_ids = [int(preselect)] if preselect.isdigit() and any(v.pk == int(preselect) for v in open_ones) else []
        form = DisputeForm(initial={"kind": selectors.DisputeKind.APPEAL, "violation_ids": initial_ids}, choices=choices)
    return render(request, "portal/violations/dispute.html", {"form": form, "has_choices": bool(choices),
                                                              "list_url": reverse("portal:violations_portal:list")},
                  status=status)
