"""Staff pages of counter appointments: offices and their services, slot generation, the day view with
attendance. Thin views over ``jiaoguan.counters``. Permissions (identity.roles.PERMISSIONS): ``booking.manage``
to define offices, services and slots; ``booking.attendance`` to see a day and mark attendance.
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.counters import selectors, services
from jiaoguan.identity.roles import has_permission


class OfficeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("网点编码"), max_length=20)
    name_zh = forms.CharField(label=gettext_lazy("中文名称"), max_length=80)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=120)
    address_zh = forms.CharField(label=gettext_lazy("地址"), max_length=200)
    address_en = forms.CharField(label=gettext_lazy("英文地址"), max_length=200, required=False)
    opens = forms.TimeField(label=gettext_lazy("上班时间"), initial=dt.time(9, 0),
                            widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes = forms.TimeField(label=gettext_lazy("下班时间"), initial=dt.time(17, 0),
                             widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    break_starts = forms.TimeField(label=gettext_lazy("午休开始（可选）"), required=False, initial=dt.time(12, 0),
                                   widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    break_ends = forms.TimeField(label=gettext_lazy("午休结束（可选）"), required=False, initial=dt.time(13, 30),
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class ServiceForm(forms.Form):
    office = forms.TypedChoiceField(label=gettext_lazy("网点"), coerce=int)
    service = forms.ChoiceField(label=gettext_lazy("业务"))
    windows = forms.IntegerField(label=gettext_lazy("窗口数（每个时段可约人数）"), min_value=1, max_value=200, initial=2)
    slot_minutes = forms.TypedChoiceField(label=gettext_lazy("每个时段（分钟）"), coerce=int, initial=30,
                                          choices=[(m, m) for m in (10, 15, 20, 30, 45, 60, 90, 120)])

    def __init__(self, *args, offices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [(o.pk, f"{o.code} {bi(o.name_zh, o.name_en)}") for o in offices]
        self.fields["service"].choices = [(s.code, bi(s.name_zh, s.name_en)) for s in selectors.services_catalogue()]


class GenerateForm(forms.Form):
    office_service = forms.TypedChoiceField(label=gettext_lazy("网点业务"), coerce=int)
    first_day = forms.DateField(label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    windows = forms.IntegerField(label=gettext_lazy("每个时段名额（留空则为窗口数）"), min_value=1, max_value=200,
                                 required=False)

    def __init__(self, *args, office_services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office_service"].choices = [
            (o.pk, f"{bi(o.office.name_zh, o.office.name_en)} · {bi(o.service.name_zh, o.service.name_en)}")
            for o in office_services]


@staff_required("booking.attendance")
def index(request: HttpRequest) -> HttpResponse:
    """Offices and services (with links to today's day view); for managers, the forms that define them."""
    office_services = list(selectors.office_services_all())
    offices = [o for o in selectors.offices_with_services(active_only=False)]
    today = clock.today()
    manage = has_permission(request.user, "booking.manage")
    status = 200
    forms_ = {"office_form": OfficeForm(prefix="office"), "service_form": ServiceForm(prefix="svc", offices=offices),
              "generate_form": GenerateForm(prefix="gen", office_services=office_services, initial={
                  "first_day": today + dt.timedelta(days=1), "last_day": today + dt.timedelta(days=14)})}
    if request.method == "POST":
        if not manage:
            return render(request, "console/forbidden.html", {"permission": "booking.manage"}, status=403)
        action = request.POST.get("action")
        try:
            if action == "office":
                form = forms_["office_form"] = OfficeForm(request.POST, prefix="office")
                if not form.is_valid():
                    raise _Invalid(form)
                d = form.cleaned_data
                try:
                    o = services.office_create(actor=actor_of(request), **d)
                except DomainError as exc:
                    raise _Invalid(form, exc) from None
                messages.success(request, _("已添加网点 %(name)s。") % {"name": o.name_zh})
            elif action == "service":
                form = forms_["service_form"] = ServiceForm(request.POST, prefix="svc", offices=offices)
                if not form.is_valid():
                    raise _Invalid(form)
                d = form.cleaned_data
                office = next(o for o in offices if o.pk == d["office"])
                try:
                    services.office_service_add(office=office, service_code=d["service"], windows=d["windows"],
                                                slot_minutes=d["slot_minutes"], actor=actor_of(request))
                except DomainError as exc:
                    raise _Invalid(form, exc) from None
                messages.success(request, _("已开办该业务，请生成预约时段。"))
            elif action == "generate":
                form = forms_["generate_form"] = GenerateForm(request.POST, prefix="gen",
                                                              office_services=office_services)
                if not form.is_valid():
                    raise _Invalid(form)
                d = form.cleaned_data
                try:
                    g = services.slots_generate(office_service_id=d["office_service"], first_day=d["first_day"],
                                                last_day=d["last_day"], windows=d["windows"], actor=actor_of(request))
                except DomainError as exc:
                    raise _Invalid(form, exc) from None
                messages.success(request, _("已生成 %(n)s 个时段（%(d)s 个工作日；已存在而跳过 %(s)s 个）。") % {
                    "n": g.created, "d": g.days, "s": g.skipped_existing})
            else:
                raise Http404
            return redirect("console:counters_console:index")
        except _Invalid as bad:
            status = bad.status
    context = {"offices": offices, "office_services": office_services, "today": today, "manage": manage,
               "names": {o.pk: bi(o.name_zh, o.name_en) for o in offices}, **forms_}
    return render(request, "console/counters/index.html", context, status=status)


class _Invalid(Exception):
    def __init__(self, form: forms.Form, exc: DomainError | None = None) -> None:
        super().__init__()
        self.status = form_error(form, exc) if exc is not None else 400


def _parse_day(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Http404 from None
    if not booking_rules.day_ok(day):
        raise Http404
    return day


@staff_required("booking.attendance")
def day(request: HttpRequest, office_service_id: int, date: str, status: int = 200) -> HttpResponse:
    """The day's slots and appointments at one counter service, with attendance buttons once a slot starts."""
    try:
        os_ = selectors.office_service_by_id(office_service_id=office_service_id)
    except NotFound:
        raise Http404 from None
    the_day = _parse_day(date)
    now = clock.now()
    appointments = list(selectors.day_appointments(office_service=os_, day=the_day))
    by_slot: dict[int, list] = {}
    for b in appointments:
        by_slot.setdefault(b.slot_id, []).append(b)
    rows = [{"r": r, "appointments": by_slot.get(r.slot.pk, []), "started": r.slot.starts_at <= now}
            for r in selectors.day_slots(office_service=os_, day=the_day)]
    context = {"os": os_, "day": the_day, "rows": rows, "prev": the_day - dt.timedelta(days=1),
               "next": the_day + dt.timedelta(days=1), "total": len(appointments),
               "office_name": bi(os_.office.name_zh, os_.office.name_en),
               "service_name": bi(os_.service.name_zh, os_.service.name_en),
               "is_vehicle": os_.service.subject == selectors.ServiceSubject.VEHICLE}
    return render(request, "console/counters/day.html", context, status=status)


@staff_required("booking.attendance")
@require_POST
def mark(request: HttpRequest, booking_id: int) -> HttpResponse:
    if request.POST.get("attended") not in ("1", "0"):  # never a no-show (a penalty event) by omission
        try:
            b = selectors.appointment_for_staff(booking_id=booking_id)
        except NotFound:
            raise Http404 from None
        messages.error(request, _("请选择已到场或未到场。"))
        os_ = selectors.office_service_of_resource(resource_ids=[b.slot.resource_id]).get(b.slot.resource_id)
        return day(request, office_service_id=os_.pk, date=timezone.localdate(b.slot.starts_at).isoformat(),
                   status=400)
    attended = request.POST.get("attended") == "1"
    try:
        b = services.appointment_mark(booking_id=booking_id, attended=attended, actor=actor_of(request))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message())
        b = selectors.appointment_for_staff(booking_id=booking_id)
    else:
        messages.success(request, (_("%(ref)s 已登记到场。") if attended else _("%(ref)s 已登记未到场。"))
                         % {"ref": b.reference})
    os_ = selectors.office_service_of_resource(resource_ids=[b.slot.resource_id]).get(b.slot.resource_id)
    return redirect("console:counters_console:day", office_service_id=os_.pk,
                    date=timezone.localdate(b.slot.starts_at).isoformat())
