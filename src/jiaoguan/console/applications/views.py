"""Staff pages of the acceptance → review → approval workflow (applications app): the work queues, one
application (form data, materials, history, the steps the member of staff may take), claim/release, material
downloads and the statistics per service. Thin: every rule is the engine's (applications.services/selectors).

Permissions (identity.roles.PERMISSIONS): ``application.view`` (clerks, approvers, administrators) for the
queues, an application, its materials, claiming and acting — which steps a user is offered, and whether one is
allowed, is decided per service by the catalogue's roles and by the engine (separation of duties, claims, the
application's state); ``application.stats`` (approvers, administrators, auditors) for the statistics.

Opening an application writes the access-audit row (``selectors.application_for_staff``); a material download
writes one too, and files are only ever served through this permission-checked view (never a public media URL).
ID numbers and phones in the form are shown masked; the applicant's name is masked as well.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from jiaoguan.applications import rules, selectors, services
from jiaoguan.applications.catalogue import COMMENT_REQUIRED, catalogue
from jiaoguan.applications.labels import action_label, role_label, status_label
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock, masking
from jiaoguan.core.audit import audit_access
from jiaoguan.core.errors import DomainError
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of, client_ip
from jiaoguan.core.i18n import is_english, pair
from jiaoguan.core.money import format_yuan
from jiaoguan.identity.roles import has_permission
from jiaoguan.identity.selectors import users_by_ids

if TYPE_CHECKING:  # annotations only: the pages read applications through its selectors
    from jiaoguan.applications.models import Application

PAGE = 50

# The console's names for the engine's queues (selectors.QUEUES), in the order the tabs show them.
QUEUE_TITLES = {
    "acceptance": gettext_lazy("待受理"),
    "review": gettext_lazy("待审核"),
    "approval": gettext_lazy("待审批"),
    "post_review": gettext_lazy("事后复核"),
    "due_soon": gettext_lazy("即将超期"),
    "overdue": gettext_lazy("已超期"),
    "claimed": gettext_lazy("我认领的"),
}
# The buttons, in the order they are offered (a service may relabel a step in its declaration).
VERB_TITLES = {  # a context of their own: the same words are statuses elsewhere ("退回补正" = "sent back")
    "accept": pgettext_lazy("application step", "受理"),
    "review": pgettext_lazy("application step", "审核通过"),
    "approve": pgettext_lazy("application step", "批准"),
    "confirm": pgettext_lazy("application step", "复核确认"),
    "send_back": pgettext_lazy("application step", "退回补正"),
    "refuse": pgettext_lazy("application step", "不予受理"),
    "reject": pgettext_lazy("application step", "不予批准"),
    "revoke": pgettext_lazy("application step", "复核撤销"),
}
DONE_MESSAGES = {
    "accept": gettext_lazy("申请 %(ref)s 已受理，办理时限开始计算。"),
    "refuse": gettext_lazy("申请 %(ref)s 已不予受理，理由已告知申请人。"),
    "review": gettext_lazy("申请 %(ref)s 已审核，等待审批。"),
    "approve": gettext_lazy("申请 %(ref)s 已批准。"),
    "reject": gettext_lazy("申请 %(ref)s 已不予批准，理由已告知申请人。"),
    "send_back": gettext_lazy("申请 %(ref)s 已退回申请人补正。"),
    "confirm": gettext_lazy("申请 %(ref)s 已复核确认。"),
    "revoke": gettext_lazy("申请 %(ref)s 已复核撤销。"),
}
APPLICANT_ROLES = ("citizen", "enterprise")
DANGER_VERBS = frozenset({"refuse", "reject", "revoke"})
def _status_label(status: str):
    return status_label(status)


def _service_name(code: str) -> str:
    service = catalogue().get(code)
    return pair(service.name) if service else code


def _applicant(app: Application) -> str:
    """The applicant as a queue or page shows them: the enterprise's name, or the person's name masked."""
    if app.enterprise_id is not None and app.enterprise is not None:
        return app.enterprise.name
    person = getattr(app.applicant, "person", None)
    if person is not None:
        return masking.mask_name(person.name)
    return masking.mask_phone(getattr(app.applicant, "phone", "") or "") or "—"


def _staff_name(user) -> str:
    return (user.display_name or user.username) if user is not None else ""


def _default_queue(user) -> str:
    return "approval" if has_permission(user, "application.approve") else "acceptance"


# --- the work queues ---------------------------------------------------------------------------------------------

class QueueFilterForm(forms.Form):
    queue = forms.ChoiceField(choices=[(q, q) for q in selectors.QUEUES], required=False, widget=forms.HiddenInput)
    service = forms.ChoiceField(label=gettext_lazy("办事事项"), required=False)
    after = forms.CharField(max_length=80, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        services_ = sorted(catalogue().services.values(), key=lambda s: (s.category.order, s.code))
        self.fields["service"].choices = [("", _("全部事项"))] + [(s.code, pair(s.name)) for s in services_]


@staff_required("application.view")
@require_GET
def queues(request: HttpRequest) -> HttpResponse:
    """One work queue (soonest due first, 50 a page, each page after the last row of the one before), the sizes
    of all of them (counted up to selectors.COUNT_CAP), a service filter."""
    user = request.user
    form = QueueFilterForm(request.GET)
    status = 200
    if form.is_valid():
        name = form.cleaned_data["queue"] or _default_queue(user)
        service_code = form.cleaned_data["service"] or None
        after = form.cleaned_data["after"] or ""
    else:
        status = 400
        name, service_code, after = _default_queue(user), None, ""
    try:
        page = selectors.queue_page(user=user, name=name, service_code=service_code, after=after, limit=PAGE,
                                    related=("claimed_by", "applicant__person", "enterprise"))
    except DomainError as exc:  # a cursor edited by hand: the first page, and why
        _flash_error(request, exc)
        status, after = 400, ""
        page = selectors.queue_page(user=user, name=name, service_code=service_code, limit=PAGE,
                                    related=("claimed_by", "applicant__person", "enterprise"))
    now, memo = clock.now(), {}
    rows = [{"a": a, "service": _service_name(a.service_code), "applicant": _applicant(a),
             "progress": selectors.progress(application=a, now=now, memo=memo), "claimed_by": _staff_name(a.claimed_by),
             "mine": a.claimed_by_id == user.pk} for a in page.items]

    def url(**params) -> str:
        query = {"queue": name, "service": service_code or "", **params}
        return f"{reverse('console:applications_console:queues')}?{urlencode({k: v for k, v in query.items() if v})}"

    counts = selectors.queue_counts(user=user, service_code=service_code)
    tabs = [{"name": q, "title": QUEUE_TITLES[q], "url": url(queue=q), "count": counts[q],
             "count_label": selectors.count_label(counts[q])}
            for q in selectors.QUEUES]
    context = {
        "form": form, "queue": name, "queue_title": QUEUE_TITLES[name], "rows": rows, "tabs": tabs,
        "service_code": service_code or "",
        "first_url": url() if after else "", "next_url": url(after=page.next_after) if page.next_after else "",
        "can_stats": has_permission(user, "application.stats"),
    }
    response = render(request, "console/applications/queues.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


# --- one application -----------------------------------------------------------------------------------------------

class ActForm(forms.Form):
    action = forms.ChoiceField(choices=[(v, v) for v in services.STAFF_ACTIONS], widget=forms.HiddenInput)
    comment = forms.CharField(label=gettext_lazy("办理意见"), required=False, max_length=services.MAX_COMMENT,
                              widget=forms.Textarea(attrs={"rows": 3, "maxlength": services.MAX_COMMENT}))


def _offered(app: Application, service, actor) -> list[dict]:
    """The steps this member of staff may take now (selectors.actions_offered: the engine's own checks). Someone
    else's claim stays with the engine, which refuses with its message; a step separation of duties keeps from
    them is not offered (``duties``: why)."""
    if service is None:
        return []
    out = []
    for verb in selectors.actions_offered(application=app, service=service, actor=actor, order=VERB_TITLES):
        spec = service.action(verb)
        out.append({"verb": verb, "label": pair(spec.label) if spec.label else VERB_TITLES[verb],
                    "danger": verb in DANGER_VERBS, "secondary": verb == "send_back",
                    "needs_comment": verb in COMMENT_REQUIRED})
    return out


def _materials(app: Application, service) -> list[dict]:
    names = {}
    if service is not None:
        names.update({m.code: pair(m.name) for m in service.materials})
        names.update({f.name: pair(f.label) for f in service.fields if f.type == "file"})
    out = []
    for m in app.materials.all():
        row = {"m": m, "name": names.get(m.slot, m.slot), "held": m.held}
        if m.held:
            row["summary"] = m.summary_en if is_english() else m.summary_zh
        else:
            row["url"] = reverse("console:applications_console:material", args=[app.pk, m.pk])
            row["size"] = services.size_label(max(1, (m.size + 1023) // 1024))
            row["type"] = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}.get(m.content_type,
                                                                                                  m.content_type)
        out.append(row)
    return out


def _history(app: Application) -> list[dict]:
    """Every step, internal ones too (claims, sweeps). The applicant is named as the queue names them (masked);
    staff by their name and username."""
    events = selectors.timeline(application=app, public_only=False)
    staff = users_by_ids(ids=[e.actor_id for e in events if e.actor_id and e.actor_role not in APPLICANT_ROLES])
    applicant = _applicant(app)
    out = []
    for e in events:
        if e.actor_role in APPLICANT_ROLES:
            who = applicant
        elif e.actor_id in staff:
            user = staff[e.actor_id]
            who = f"{user.display_name} ({user.username})" if user.display_name else user.username
        else:
            who = e.actor_label
        out.append({"e": e, "who": who, "label": pair(action_label(e.action)),
                    "role": pair(role_label(e.actor_role)) if e.actor_role else "",
                    "to": _status_label(e.to_status) if e.to_status and e.to_status != e.from_status else "",
                    "comment": selectors.event_comment(e)})
    return out


def _outcome(app: Application) -> list[tuple[str, str]]:
    """What the outputs produced, as (label, value) lines: an e-permit's number, the post's tracking number."""
    lines = []
    for name, value in (app.outcome or {}).items():
        if not isinstance(value, dict):
            continue
        if name == "post":
            lines.append((_("邮件号"), value.get("tracking_number") or value.get("reference") or _("待交寄")))
        elif value.get("number"):
            lines.append((_("电子证照编号"), str(value["number"])))
    return lines


FEE_STATUS = {"unpaid": ("未缴费", "Unpaid"), "paying": ("缴费中", "Being paid"), "paid": ("已缴费", "Paid"),
              "cancelled": ("已撤销", "Cancelled"), "refunded": ("已退款", "Refunded"), "exempt": ("免缴", "Exempt")}


def _fee(app: Application) -> dict | None:
    """The application's fees (规费) as staff see them: what was charged, exempt lines with why, and the payable's
    state with its reference (applications.selectors.fee_state)."""
    fee = selectors.fee_state(application=app)
    if fee is None:
        return None
    lines = [(pair((line["zh"], line["en"])), format_yuan(line["charged_fen"]),
              pair((line["exempt_zh"], line["exempt_en"])) if line.get("exempt_zh") else "") for line in fee.lines]
    return {"lines": lines, "total": format_yuan(fee.total_fen), "reference": fee.payable_reference,
            "status": pair(FEE_STATUS.get(fee.status, (fee.status, fee.status)))}


def _detail_page(request: HttpRequest, application_id: int, form: ActForm | None = None, *,
                 status: int = 200) -> HttpResponse:
    user = request.user
    app = selectors.application_for_staff(application_id=application_id, user=user, ip=client_ip(request))
    service = catalogue().get(app.service_code)
    offered = _offered(app, service, actor_of(request))
    progress = selectors.progress(application=app)
    claimed_by_other = app.claimed_by_id is not None and app.claimed_by_id != user.pk
    # 认领 / 强制释放 offered from the checks application_claim / application_release enforce, and why not
    claim = selectors.claim_block(application=app, actor=actor_of(request))
    force = selectors.release_block(application=app, actor=actor_of(request), force=True) if claimed_by_other else None
    context = {
        "app": app, "service_name": _service_name(app.service_code), "status_label": _status_label(app.status),
        "applicant": _applicant(app), "progress": progress,
        "form_rows": [(pair(label), value) for _name, label, value in selectors.form_display(application=app)],
        "materials": _materials(app, service), "history": _history(app), "outcome": _outcome(app),
        "offered": offered, "form": form or ActForm(),
        "needs_comment": (", " if is_english() else "、").join(str(o["label"]) for o in offered if o["needs_comment"]),
        "accepted_by": _staff_name(app.accepted_by), "reviewed_by": _staff_name(app.reviewed_by),
        "approved_by": _staff_name(app.approved_by), "claimed_by": _staff_name(app.claimed_by),
        "claimed_by_me": app.claimed_by_id == user.pk, "claimed_by_other": claimed_by_other,
        "can_claim": claim is None,
        "claim_why": pair(rules.CLAIM_TEXTS[claim]) if claim in rules.CLAIM_TEXTS and not claimed_by_other else "",
        "can_force_release": claimed_by_other and force is None,
        "force_release_why": pair(rules.CLAIM_TEXTS[force]) if claimed_by_other and force in rules.CLAIM_TEXTS else "",
        # separation of duties: the steps not offered to this person, and why (the engine's own refusals)
        "duties": [r.message() for r in selectors.duties_withheld(application=app, service=service,
                                                                   actor=actor_of(request), order=VERB_TITLES)]
        if service is not None else [],
        "own": app.applicant_id == user.pk,
        "fee": _fee(app),
    }
    response = render(request, "console/applications/detail.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@staff_required("application.view")
@require_GET
def detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """The application with its form (masked), materials, full history and the steps offered; access-audited."""
    return _detail_page(request, application_id)


def _reference(app: Application) -> str:
    return app.reference or f"#{app.pk}"


def _back(application_id: int) -> HttpResponse:
    return redirect("console:applications_console:detail", application_id=application_id)


def _flash_error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message())


@staff_required("application.view")
@require_POST
def claim(request: HttpRequest, application_id: int) -> HttpResponse:
    try:
        app = services.application_claim(application_id=application_id, actor=actor_of(request))
    except DomainError as exc:
        if exc.status == 404:
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("您已认领申请 %(ref)s，其他人员暂不能办理。") % {"ref": _reference(app)})
    return _back(application_id)


@staff_required("application.view")
@require_POST
def release(request: HttpRequest, application_id: int) -> HttpResponse:
    force = request.POST.get("force") == "1"
    try:
        app = services.application_release(application_id=application_id, actor=actor_of(request), force=force)
    except DomainError as exc:
        if exc.status == 404:
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("已释放申请 %(ref)s 的认领。") % {"ref": _reference(app)})
    return _back(application_id)


@staff_required("application.view")
@require_POST
def act(request: HttpRequest, application_id: int) -> HttpResponse:
    """Take one step. The engine's refusal (separation of duties: 403, someone else acted first: 409, a missing
    reason) is shown on the application's page with what was typed kept."""
    form = ActForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, application_id, form, status=400)
    verb = form.cleaned_data["action"]
    try:
        app = services.application_act(application_id=application_id, action=verb, actor=actor_of(request),
                                        comment=form.cleaned_data["comment"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        status = form_error(form, exc, rename={"action": "-", "application": "-"})
        return _detail_page(request, application_id, form, status=status)
    messages.success(request, str(DONE_MESSAGES[verb]) % {"ref": _reference(app)})
    return _back(application_id)


@staff_required("application.view")
@require_GET
def material(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    """An uploaded file, to staff who may see applications only (the look is access-audited)."""
    m = selectors.upload_for_staff(application_id=application_id, material_id=material_id)
    if m is None:
        raise Http404
    person_id = getattr(m.application.applicant, "person_id", None)
    if person_id is not None:
        audit_access(actor=actor_of(request), action="person.view", subject_person_id=person_id,
                     object_type="applications.material", object_id=m.pk, reason=f"material {m.slot}")
    ext = m.file.name.rsplit(".", 1)[-1] if "." in m.file.name else "bin"
    response = FileResponse(m.file.open("rb"), content_type=m.content_type or "application/octet-stream",
                            as_attachment=True, filename=f"{m.application.reference or m.application_id}-{m.slot}-"
                                                         f"{m.pk}.{ext}")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


# --- statistics -------------------------------------------------------------------------------------------------

class StatsForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("提交日期自"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        for name in ("since", "until"):
            day = data.get(name)
            if day is not None and not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
                self.add_error(name, _("日期超出范围"))
        if since and until and since > until:
            self.add_error("until", _("结束日期不能早于开始日期"))
        return data


@staff_required("application.stats")
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """Per service, of the applications submitted in the period: received, done, done on time, overdue now,
    average working days to a decision."""
    today = clock.today()
    default = {"since": (today - dt.timedelta(days=29)).isoformat(), "until": today.isoformat()}
    form = StatsForm(request.GET if request.GET else default)
    rows, totals, status = [], None, 200
    if form.is_valid():
        since_day, until_day = form.cleaned_data["since"], form.cleaned_data["until"]
        since = clock.local_midnight(since_day) if since_day else None
        until = clock.local_midnight(until_day + dt.timedelta(days=1)) if until_day else None
        averages = selectors.average_workdays(since=since, until=until)
        for row in selectors.statistics(since=since, until=until):
            rows.append({**row, "name": row["name_en"] if is_english() else row["name_zh"],
                         "on_time_rate": round(100 * row["on_time"] / row["done"]) if row["done"] else None,
                         "average": averages.get(row["service_code"])})
        if rows:
            keys = ("received", "done", "on_time", "late", "open", "overdue")
            totals = {k: sum(r[k] for r in rows) for k in keys}
            totals["on_time_rate"] = round(100 * totals["on_time"] / totals["done"]) if totals["done"] else None
            weighted = [(r["average"], r["done"]) for r in rows if r["average"] is not None and r["done"]]
            done = sum(n for _a, n in weighted)
            totals["average"] = sum(a * n for a, n in weighted) / done if done else None
    else:
        status = 400
    return render(request, "console/applications/statistics.html",
                  {"form": form, "rows": rows, "totals": totals}, status=status)

