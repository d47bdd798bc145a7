"""Staff pages of driving-test booking: sessions with applicant counts, venues, creating sessions, running the
allocation, entering results, issuing learner's permits. Views parse, authorise (``staff_required`` with the
permissions of identity.roles: booking.manage for venues, sessions and the allocation; booking.attendance for
results and permits), call ``jiaoguan.exams`` services and render.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.console.submit import submit
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock
from jiaoguan.core.audit import audit_access
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import Bi, bi
from jiaoguan.core.identifiers import validate_id_number
from jiaoguan.exams import rules, selectors, services
from jiaoguan.registry import selectors as registry

INDEX = "console:exams_console:index"
SUBJECT_CHOICES = [(s, rules.SUBJECT_INFO[s].label) for s in rules.SUBJECTS]


def _subject(code: str) -> Bi:
    info = rules.SUBJECT_INFO[code]
    return bi(info.short_zh, info.short_en)



def _choices():
    return [(s, _subject(s)) for s in rules.SUBJECTS]


# --- sessions -----------------------------------------------------------------------------------------------------

@staff_required("booking.attendance")
def index(request: HttpRequest) -> HttpResponse:
    rows = [{"r": r, "subject": _subject(r.session.subject),
             "venue": bi(r.session.venue.name_zh, r.session.venue.name_en)}
            for r in selectors.sessions_for_staff(limit=200)]
    return render(request, "console/exams/index.html",
                  {"rows": rows, "close_workdays": rules.CLOSE_WORKDAYS_BEFORE,
                   "every_minutes": booking_rules.ALLOCATE_EVERY_SECONDS // 60})


@staff_required("booking.manage")
@require_POST
def allocate(request: HttpRequest) -> HttpResponse:
    try:
        run = services.exam_allocate(actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, _("分配完成：%(slots)s个场次，%(apps)s份申请，%(n)s人预约成功。")
                         % {"slots": run.slots, "apps": run.applications, "n": run.allocated})
    return redirect(INDEX)


class SessionForm(forms.Form):
    venue = forms.TypedChoiceField(label=gettext_lazy("考场"), coerce=int)
    subject = forms.ChoiceField(label=gettext_lazy("考试科目"))
    starts_at = forms.DateTimeField(label=gettext_lazy("考试开始时间"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    duration_minutes = forms.IntegerField(label=gettext_lazy("时长（分钟）"), min_value=10, max_value=720,
                                          initial=120)
    seats = forms.IntegerField(label=gettext_lazy("名额"), min_value=1, max_value=10000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["venue"].choices = [(v.pk, f"{v.code} {bi(v.name_zh, v.name_en)}")
                                        for v in selectors.venues(active_only=True)]
        self.fields["subject"].choices = _choices()


def _create(request: HttpRequest, form_class, write, *, rename: dict[str, str] | None = None):
    """A create form: (form, status, response). GET: an empty form. POST: ``console.submit`` (validate,
    ``write(cleaned_data)`` — the service call, a message and the redirect it returns — or the refusal on the
    form)."""
    if request.method != "POST":
        return form_class(), 200, None
    form = form_class(request.POST)
    done, status = submit(form, write, rename=rename)
    return form, status, done


@staff_required("booking.manage")
def session_new(request: HttpRequest) -> HttpResponse:
    def write(d: dict) -> HttpResponse:
        s = services.session_create(venue_id=d["venue"], subject=d["subject"], starts_at=d["starts_at"],
                                    seats=d["seats"], duration_minutes=d["duration_minutes"], actor=actor_of(request))
        messages.success(request, _("已创建考试场次，预约截止时间 %(closes)s。")
                         % {"closes": timezone.localtime(s.slot.closes_at).strftime("%Y-%m-%d %H:%M")})
        return redirect(INDEX)

    form, status, done = _create(request, SessionForm, write, rename={"venue_id": "venue"})
    if done is not None:
        return done
    return render(request, "console/exams/session_new.html",
                  {"form": form, "close_workdays": rules.CLOSE_WORKDAYS_BEFORE}, status=status)


def _session(session_id: int):
    try:
        return selectors.session_get(session_id=session_id)
    except NotFound:
        raise Http404 from None


def _session_page(request: HttpRequest, session, *, status: int = 200, error: str = "") -> HttpResponse:
    row = selectors.session_row(session)
    candidates = selectors.session_candidates(session=session)
    apps = list(selectors.session_applications(session=session))
    counts = {k: sum(1 for a in apps if a.status == k) for k in ("pending", "allocated", "unsuccessful", "withdrawn")}
    started = clock.now() >= session.slot.starts_at
    return render(request, "console/exams/session.html", {
        "s": session, "row": row, "candidates": candidates, "counts": counts, "started": started, "error": error,
        "subject": _subject(session.subject), "venue": bi(session.venue.name_zh, session.venue.name_en),
        "outcomes": selectors.ResultOutcome.choices}, status=status)


@staff_required("booking.attendance")
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    return _session_page(request, _session(session_id))


@staff_required("booking.attendance")
@require_POST
def result(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(session_id)
    booking_id = str(request.POST.get("booking_id") or "")
    outcome = str(request.POST.get("outcome") or "")
    if not booking_id.isdigit():
        return _session_page(request, session, status=422, error=_("请选择考生"))
    try:
        services.result_record(session_id=session.pk, booking_id=int(booking_id), outcome=outcome,
                               actor=actor_of(request))
    except DomainError as exc:
        return _session_page(request, session, status=exc.status if 400 <= exc.status < 500 else 400,
                             error=exc.message())
    messages.success(request, _("成绩已登记。"))
    return redirect("console:exams_console:session", session_id=session.pk)


# --- venues -------------------------------------------------------------------------------------------------------

class VenueForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("考场编码"), max_length=30)
    name_zh = forms.CharField(label=gettext_lazy("中文名称"), max_length=120)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=120)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200, required=False)
    subjects = forms.MultipleChoiceField(label=gettext_lazy("承担的考试科目"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subjects"].choices = _choices()


@staff_required("booking.manage")
def venues(request: HttpRequest) -> HttpResponse:
    def write(d: dict) -> HttpResponse:
        v = services.venue_create(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"],
                                  address=d["address"], subjects=d["subjects"], actor=actor_of(request))
        messages.success(request, _("已创建考场 %(code)s。") % {"code": v.code})
        return redirect("console:exams_console:venues")

    form, status, done = _create(request, VenueForm, write)
    if done is not None:
        return done
    rows = [{"v": v, "name": bi(v.name_zh, v.name_en), "subjects": bi("、".join(_subject(s).zh for s in v.subjects),
                                                                       ", ".join(_subject(s).en for s in v.subjects))}
            for v in selectors.venues()]
    return render(request, "console/exams/venues.html", {"form": form, "rows": rows}, status=status)


# --- permits ------------------------------------------------------------------------------------------------------

class FindForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("身份证号码"), max_length=18)


class PermitForm(forms.Form):
    person_id = forms.IntegerField(widget=forms.HiddenInput)
    licence_class = forms.CharField(label=gettext_lazy("申请准驾车型"), max_length=4, initial="C1")
    accepted_at = forms.DateTimeField(label=gettext_lazy("受理时间"),
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])


@staff_required("booking.attendance")
def permits(request: HttpRequest) -> HttpResponse:
    """Find a person by ID number (the look is access-audited), see their permits, issue one."""
    person = None
    status = 200
    issue_form = None
    if request.method == "POST":
        issue_form = PermitForm(request.POST)
        find = FindForm()
        if issue_form.is_valid():
            d = issue_form.cleaned_data
            try:
                person = registry.person_get(person_id=d["person_id"])
                p = services.permit_issue(person_id=d["person_id"], licence_class=d["licence_class"],
                                          accepted_at=d["accepted_at"], actor=actor_of(request))
            except DomainError as exc:
                status = form_error(issue_form, exc)
            else:
                messages.success(request, _("已发放学习驾驶证明 %(number)s。") % {"number": p.number})
                return redirect(f"{request.path}?person={p.person_id}")
        else:
            status = 400
            pid = str(request.POST.get("person_id") or "")
            person = registry.person_get(person_id=int(pid)) if pid.isdigit() else None
    else:
        find = FindForm(request.GET or None)
        pid = str(request.GET.get("person") or "")
        try:
            if find.is_bound and find.is_valid():
                person = registry.person_by_id_number(id_number=validate_id_number(find.cleaned_data["id_number"]))
                if person is None:
                    find.add_error("id_number", _("没有找到该身份证号码的人员"))
                    status = 404
            elif pid.isdigit():
                person = registry.person_get(person_id=int(pid))
        except DomainError as exc:
            status = form_error(find, exc)
            person = None
    views = []
    if person is not None:
        audit_access(actor=actor_of(request), action="exam.permits_view", subject_person_id=person.pk,
                     object_type="exams.permit", object_id=person.pk)
        views = [selectors.permit_view(permit=p) for p in selectors.permits_for_person(person_id=person.pk)]
        if issue_form is None:
            issue_form = PermitForm(initial={"person_id": person.pk, "licence_class": "C1",
                                             "accepted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    return render(request, "console/exams/permits.html", {
        "find": find, "person": person, "views": views, "issue_form": issue_form}, status=status)
