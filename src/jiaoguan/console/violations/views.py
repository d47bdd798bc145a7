"""Staff violation pages: record an on-site violation, import a day's records from CSV, revoke a violation, record
and cancel detentions (扣留).

Views only parse, authorise, call ``violations.services`` / ``violations.imports`` and render. Permissions:
``violation.record`` (record and import), ``violation.revoke``, ``detention.record`` and ``detention.cancel`` in
``identity.roles.PERMISSIONS``.
"""
from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy

from jiaoguan.console.views import staff_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.masking import mask_name
from jiaoguan.registry.selectors import PlateType
from jiaoguan.violations import imports, rules, selectors, services

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream", ""}


# --- record ------------------------------------------------------------------------------------------------------

class RecordForm(forms.Form):
    plate = forms.CharField(label=gettext_lazy("号牌号码"), max_length=10)
    plate_type = forms.ChoiceField(label=gettext_lazy("号牌种类"), choices=PlateType.choices)
    code = forms.CharField(label=gettext_lazy("违法代码"), max_length=10)
    place = forms.CharField(label=gettext_lazy("违法地点"), max_length=120)
    occurred_at = forms.DateTimeField(label=gettext_lazy("违法时间"),
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
    photo = forms.FileField(label=gettext_lazy("现场照片（可选）"), required=False)


@staff_required("violation.record")
def record(request: HttpRequest) -> HttpResponse:
    recorded = None
    status = 200
    if request.method == "POST":
        form = RecordForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                photos = []
                if data["photo"] is not None:
                    photos = [services.photo_check(data["photo"].read(), field="photo")]
                recorded = services.violation_record(
                    plate=data["plate"], plate_type=data["plate_type"], code=data["code"], place=data["place"],
                    occurred_at=data["occurred_at"], source=selectors.ViolationSource.ON_SITE, actor=actor_of(request),
                    photos=photos).violation
                form = RecordForm()
            except DomainError as exc:
                status = form_error(form, exc)
        else:
            status = 400
    else:
        form = RecordForm(initial={"plate_type": PlateType.SMALL})
    context = {"form": form, "recorded": recorded,
               "description": bi(recorded.code.description_zh, recorded.code.description_en) if recorded else ""}
    return render(request, "console/violations/record.html", context, status=status)


# --- import ------------------------------------------------------------------------------------------------------

class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 文件"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith(".csv") or (f.content_type or "") not in CSV_TYPES:
            raise forms.ValidationError(gettext_lazy("文件须为 CSV 格式"))
        if f.size > MAX_CSV_BYTES:
            raise forms.ValidationError(gettext_lazy("文件不能超过 5 MB"))
        return f


@staff_required("violation.record")
def import_csv(request: HttpRequest) -> HttpResponse:
    report = None
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = imports.violations_import_csv(content=form.cleaned_data["file"].read(),
                                                       actor=actor_of(request))
            except DomainError as exc:
                status = form_error(form, exc)
        else:
            status = 400
    else:
        form = ImportForm()
    rows = [{"line": e.line, "reason": bi(e.zh, e.en)} for e in report.errors] if report else []
    return render(request, "console/violations/import.html",
                  {"form": form, "report": report, "rows": rows, "columns": imports.COLUMNS}, status=status)


# --- revoke ------------------------------------------------------------------------------------------------------

class FindForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("违法编号或号牌号码"), max_length=20)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤销原因"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))


def _rows(violations: list) -> list[dict]:
    return [{"v": v, "description": bi(v.code.description_zh, v.code.description_en),
             "revocable": rules.VIOLATION_TRANSITIONS.allows(v.status, rules.REVOKED)} for v in violations]


@staff_required("violation.revoke")
def revoke_find(request: HttpRequest) -> HttpResponse:
    form = FindForm(request.GET or None)
    results = None
    status = 200
    if request.GET:
        if form.is_valid():
            results = _rows(selectors.violations_find(q=form.cleaned_data["q"]))
        else:
            status = 400
    return render(request, "console/violations/revoke_find.html",
                  {"form": form, "results": results, "revoke_form": RevokeForm()}, status=status)


@staff_required("violation.revoke")
def revoke(request: HttpRequest, violation_id: int) -> HttpResponse:
    v = selectors.violation_get(violation_id=violation_id)
    if v is None:
        raise Http404
    status = 200
    outcome = None
    form = RevokeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            was_paid = v.status == selectors.ViolationStatus.PAID
            try:
                v = services.violation_revoke(violation=v, actor=actor_of(request), reason=form.cleaned_data["reason"])
                decision = selectors.decision_for(violation=v)
                outcome = {"points": selectors.points_reversed(violation=v),
                           "fine_fen": decision.fine_fen if decision else 0,
                           "paid": was_paid}
            except DomainError as exc:
                status = form_error(form, exc)
        else:
            status = 400
    row = _rows([v])[0]
    return render(request, "console/violations/revoke.html",
                  {"row": row, "v": v, "form": form, "outcome": outcome}, status=status)


# --- detentions (扣留) ---------------------------------------------------------------------------------------------

class DetentionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("扣留类型"), choices=selectors.DetentionKind.choices)
    notice_number = forms.CharField(label=gettext_lazy("扣留凭证编号"), max_length=32)
    id_number = forms.CharField(label=gettext_lazy("驾驶人身份证号码（扣留驾驶证时填写）"), max_length=18, required=False)
    violation_ids = forms.CharField(label=gettext_lazy("依据的违法记录编号（多个用逗号分隔）"), max_length=200)
    held_at_name = forms.CharField(label=gettext_lazy("保管地点"), max_length=80)
    held_at_address = forms.CharField(label=gettext_lazy("保管地点地址"), max_length=200)
    detained_at = forms.DateTimeField(label=gettext_lazy("扣留时间"),
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])

    def clean_violation_ids(self) -> list[int]:
        parts = [p.strip() for p in self.cleaned_data["violation_ids"].replace("，", ",").split(",") if p.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) < 2**63 for p in parts):
            raise forms.ValidationError(gettext_lazy("请填写违法记录编号（数字，多个用逗号分隔）"))
        return [int(p) for p in parts]


class DetentionCancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤销原因"), max_length=300)


def _detention_rows(items: list) -> list[dict]:
    """What the list shows: no ID number, the holder's name masked (the record page is where a person is looked at,
    and that look is logged)."""
    return [{"d": d, "holder": mask_name(d.person.name), "kind": d.get_kind_display(), "status": d.get_status_display(),
             "held": d.status == rules.HELD} for d in items]


@staff_required("detention.record")
def detentions(request: HttpRequest) -> HttpResponse:
    recorded = None
    status = 200
    if request.method == "POST":
        form = DetentionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                recorded = services.detention_record(
                    actor=actor_of(request), kind=data["kind"], notice_number=data["notice_number"],
                    violation_ids=data["violation_ids"], held_at_name=data["held_at_name"],
                    held_at_address=data["held_at_address"], detained_at=data["detained_at"],
                    id_number=data["id_number"])
                form = DetentionForm(initial={"kind": selectors.DetentionKind.LICENCE})
            except DomainError as exc:
                status = form_error(form, exc)
        else:
            status = 400
    else:
        form = DetentionForm(initial={"kind": selectors.DetentionKind.LICENCE})
    return _detentions_page(request, form=form, recorded=recorded, status=status)


def _detentions_page(request: HttpRequest, *, form: DetentionForm, status: int, recorded=None,
                     error: str = "") -> HttpResponse:
    q = request.GET.get("q", "")[:32]
    shown = request.GET.get("status", "")
    return render(request, "console/violations/detentions.html", {
        "form": form, "recorded": recorded, "error": error, "q": q, "shown": shown,
        "statuses": selectors.DetentionStatus.choices,
        "rows": _detention_rows(selectors.detentions_recent(q=q, status=shown)),
        "cancel_form": DetentionCancelForm()}, status=status)


@staff_required("detention.cancel")
def detention_cancel(request: HttpRequest, detention_id: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    form = DetentionCancelForm(request.POST)
    if form.is_valid():
        try:
            services.detention_cancel(detention_id=detention_id, actor=actor_of(request),
                                      reason=form.cleaned_data["reason"])
        except DomainError as exc:
            return _detentions_page(request, form=DetentionForm(initial={"kind": selectors.DetentionKind.LICENCE}),
                                    status=exc.status, error=exc.message(request.LANGUAGE_CODE))
    return redirect("console:console_violations:detentions")
