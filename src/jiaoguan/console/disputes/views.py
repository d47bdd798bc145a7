"""The approvers' dispute queue (我被套牌 / 申诉): open disputes oldest first, one dispute with its violations and
evidence, confirm or reject with a note (``violations.services.dispute_review``).

Only approvers and administrators (the "dispute.review" permission of identity.roles) may review. The dispute page (a
citizen's data: the dispute, its evidence, its photos) first writes an access-audit row per person concerned;
the photos themselves are served only to reviewers and never as public media.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.console.views import staff_required
from jiaoguan.core import masking
from jiaoguan.core.audit import audit_access
from jiaoguan.core.errors import DomainError
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi, choice_label
from jiaoguan.identity.selectors import users_by_ids
from jiaoguan.violations import selectors, services

PERMISSION = "dispute.review"  # identity.roles.PERMISSIONS: approvers and administrators
approver_required = staff_required(PERMISSION)


def _dispute(dispute_id: int):
    d = selectors.dispute_get(dispute_id=dispute_id)
    if d is None:
        raise Http404
    return d


def _subjects(d) -> list[int]:
    """The persons whose data the dispute page shows: the submitter and the owners of the vehicles."""
    ids = []
    submitter = users_by_ids(ids=[d.submitted_by_id]).get(d.submitted_by_id)
    if submitter is not None and submitter.person_id:
        ids.append(submitter.person_id)
    for v in d.violations.all():
        if v.vehicle is not None and v.vehicle.owner_id and v.vehicle.owner_id not in ids:
            ids.append(v.vehicle.owner_id)
    return ids


def _audit(request: HttpRequest, d, action: str, fields: list[str]) -> None:
    actor = actor_of(request)
    for person_id in _subjects(d):
        audit_access(actor=actor, action=action, subject_person_id=person_id, object_type="violations.dispute",
                     object_id=d.pk, fields=fields)


# --- queue -------------------------------------------------------------------------------------------------------

@approver_required
def queue(request: HttpRequest) -> HttpResponse:
    """Open disputes, the one waiting longest first. Shows no names: opening one is the audited look."""
    rows = [{"d": d, "plates": sorted({v.plate for v in d.violations.all()}), "count": len(d.violations.all())}
            for d in selectors.disputes_waiting()]
    return render(request, "console/disputes/queue.html", {"rows": rows})


# --- one dispute -------------------------------------------------------------------------------------------------

class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("reject", "reject")], widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("审核意见"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


def _page(request: HttpRequest, d, form: ReviewForm, status: int = 200) -> HttpResponse:
    _audit(request, d, "dispute.view", ["dispute", "evidence", "photos", "submitter"])
    submitter = users_by_ids(ids=[d.submitted_by_id]).get(d.submitted_by_id)
    violations = [{"v": v, "description": bi(v.code.description_zh, v.code.description_en),
                   "source_label": choice_label(v.Source, v.source),
                   "evidence": list(v.evidence.all())} for v in d.violations.all().order_by("occurred_at", "pk")]
    context = {
        "d": d, "form": form, "violations": violations, "photos": list(d.photos.all()),
        "submitter_name": masking.mask_name(getattr(getattr(submitter, "person", None), "name", "") or ""),
        "submitter_phone": masking.mask_phone(getattr(submitter, "phone", "") or ""),
        "open": d.status == selectors.DisputeStatus.SUBMITTED,
    }
    response = render(request, "console/disputes/detail.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@approver_required
def detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    return _page(request, _dispute(dispute_id), ReviewForm())


@approver_required
@require_POST
def review(request: HttpRequest, dispute_id: int) -> HttpResponse:
    d = _dispute(dispute_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _page(request, d, form, status=400)
    confirm = form.cleaned_data["decision"] == "confirm"
    try:
        services.dispute_review(dispute_id=d.pk, confirm=confirm, note=form.cleaned_data["note"],
                                actor=actor_of(request))
    except DomainError as exc:
        status = form_error(form, exc)
        return _page(request, _dispute(dispute_id), form, status=status)
    if confirm:
        messages.success(request, _("申诉 %(id)s 已确认成立：违法记录已撤销，记分已清除，已缴罚款将退回。") % {"id": d.pk})
    else:
        messages.success(request, _("申诉 %(id)s 已驳回。") % {"id": d.pk})
    return redirect("console:console_disputes:queue")


# --- photos (not public media: served only to reviewers, each look audited) -------------------------------------

def _file(request: HttpRequest, d, row) -> HttpResponse:
    # The look is audited by the dispute page that shows these photos ("dispute.view" lists "evidence" and
    # "photos"); auditing each image again would only multiply rows (and the browser fetches them in parallel).
    response = FileResponse(row.file.open("rb"), content_type=row.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@approver_required
def evidence_photo(request: HttpRequest, dispute_id: int, evidence_id: int) -> HttpResponse:
    d = _dispute(dispute_id)
    row = selectors.dispute_evidence(dispute=d, evidence_id=evidence_id)
    if row is None:
        raise Http404
    return _file(request, d, row)


@approver_required
def dispute_photo(request: HttpRequest, dispute_id: int, photo_id: int) -> HttpResponse:
    d = _dispute(dispute_id)
    row = selectors.dispute_photo(dispute=d, photo_id=photo_id)
    if row is None:
        raise Http404
    return _file(request, d, row)
