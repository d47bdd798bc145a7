"""Staff inspection pages: stations (add, open/close), bulk slot generation, a station's day with its bookings
(plates masked) and the attendance and test-result entry.

Views only parse, authorise, call ``inspections.services`` / ``selectors`` and render. Permissions (the capacity
engine's, ``identity.roles.PERMISSIONS``): ``booking.manage`` to add stations and generate slots,
``booking.attendance`` to see a day and record attendance and results.
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.console.submit import submit
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.identity.roles import has_permission
from jiaoguan.inspections import rules, selectors, services

WEEKDAYS = [(0, gettext_lazy("周一")), (1, gettext_lazy("周二")), (2, gettext_lazy("周三")), (3, gettext_lazy("周四")),
            (4, gettext_lazy("周五")), (5, gettext_lazy("周六")), (6, gettext_lazy("周日"))]


def _station(station_id: int):
    try:
        return selectors.station_get(station_id=station_id, active_only=False)
    except NotFound:
        raise Http404 from None


class StationForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("编码"), max_length=40)
    name_zh = forms.CharField(label=gettext_lazy("中文名称"), max_length=120)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=120)
    district = forms.CharField(label=gettext_lazy("所在区"), max_length=40)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200)
    lanes = forms.IntegerField(label=gettext_lazy("检测线数量（每个时段名额）"), min_value=1, max_value=50, initial=2)


def can_manage(user) -> bool:
    """Adding stations and generating slots: the permission services.station_create / slots_generate require."""
    return has_permission(user, services.MANAGE)


def _manage_post(request: HttpRequest, form: forms.Form, act) -> tuple[HttpResponse | None, int]:
    """A form only managers may post: the forbidden page for anyone else; ``act(cleaned_data)`` (a service call
    that answers the redirect) if the form is valid; else the form with its errors and the status to show."""
    if not can_manage(request.user):
        return render(request, "console/forbidden.html", {"permission": services.MANAGE}, status=403), 403
    return submit(form, act)


@staff_required("booking.attendance")
def index(request: HttpRequest) -> HttpResponse:
    status = 200
    form = StationForm()
    if request.method == "POST":
        form = StationForm(request.POST)

        def create(data) -> HttpResponse:
            station = services.station_create(**data, actor=actor_of(request))
            messages.success(request, _("已添加检测站 %(name)s。") % {"name": bi(station.name_zh, station.name_en)})
            return redirect("console:inspections_console:station", station_id=station.pk)

        done, status = _manage_post(request, form, create)
        if done is not None:
            return done
    rows = [{"s": s, "name": bi(s.name_zh, s.name_en)} for s in selectors.stations(active_only=False)]
    return render(request, "console/inspections/index.html",
                  {"rows": rows, "form": form, "can_manage": can_manage(request.user), "today": clock.today()},
                  status=status)


class GenerateForm(forms.Form):
    first = forms.DateField(label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    opens = forms.TimeField(label=gettext_lazy("开始营业"), widget=forms.TimeInput(attrs={"type": "time"}),
                            initial=dt.time(9))
    closes = forms.TimeField(label=gettext_lazy("结束营业"), widget=forms.TimeInput(attrs={"type": "time"}),
                             initial=dt.time(17))
    minutes = forms.TypedChoiceField(label=gettext_lazy("每个时段"), coerce=int, initial=60,
                                     choices=[(30, gettext_lazy("30分钟")), (60, gettext_lazy("60分钟"))])
    lanes = forms.IntegerField(label=gettext_lazy("每个时段名额"), min_value=1, max_value=200)
    weekdays = forms.TypedMultipleChoiceField(label=gettext_lazy("星期"), coerce=int, choices=WEEKDAYS,
                                              widget=forms.CheckboxSelectMultiple, initial=[0, 1, 2, 3, 4, 5])
    workdays_only = forms.BooleanField(label=gettext_lazy("只在工作日（跳过法定节假日）"), required=False)


@staff_required("booking.attendance")
def station(request: HttpRequest, station_id: int) -> HttpResponse:
    s = _station(station_id)
    status = 200
    today = clock.today()
    form = GenerateForm(initial={"first": today + dt.timedelta(days=1), "last": today + dt.timedelta(days=14),
                                 "lanes": s.lanes})
    if request.method == "POST":
        form = GenerateForm(request.POST)

        def generate(data) -> HttpResponse:
            g = services.slots_generate(station_id=s.pk, actor=actor_of(request), **data)
            messages.success(request, _("已生成 %(created)s 个时段，跳过 %(skipped)s 个（已存在或已开始）。")
                             % {"created": g.created, "skipped": g.skipped})
            return redirect("console:inspections_console:station", station_id=s.pk)

        done, status = _manage_post(request, form, generate)
        if done is not None:
            return done
    days = selectors.station_days(station=s, first=today, days=14)
    return render(request, "console/inspections/station.html", {
        "s": s, "name": bi(s.name_zh, s.name_en), "form": form, "can_manage": can_manage(request.user), "days": days},
        status=status)


@staff_required("booking.manage")
@require_POST
def station_active(request: HttpRequest, station_id: int) -> HttpResponse:
    s = _station(station_id)
    services.station_set_active(station_id=s.pk, active=request.POST.get("active") == "1", actor=actor_of(request))
    return redirect("console:inspections_console:station", station_id=s.pk)


def _day_param(value: str | None) -> dt.date:
    try:
        day = dt.date.fromisoformat(value) if value else clock.today()
    except ValueError:
        return clock.today()
    return day if booking_rules.day_ok(day) else clock.today()


@staff_required("booking.attendance")
def day(request: HttpRequest, station_id: int) -> HttpResponse:
    return _day_page(request, _station(station_id), _day_param(request.GET.get("date")))


def _offers(ib, now) -> dict:
    """Attendance and result buttons from the rules the services enforce (bookings.rules.mark_block,
    rules.result_block), and why neither is offered (shown where they would be)."""
    mark = booking_selectors.staff_mark_block(booking=ib.booking, now=now)
    result = rules.result_block(status=ib.booking.status, result=ib.result)
    why = ""
    if mark is not None and result is not None:
        text = booking_selectors.block_text(mark) if ib.booking.status == "confirmed" else rules.RESULT_BLOCKS[result]
        why = bi(*text)
    return {"can_mark": mark is None, "can_result": result is None, "why": why}


def _day_page(request: HttpRequest, s, d: dt.date, *, status: int = 200) -> HttpResponse:
    now = clock.now()
    slots = []
    for ds in selectors.station_day(station=s, day=d):
        started = ds.row.slot.starts_at <= now
        slots.append({"row": ds.row, "started": started, "bookings": [
            {"ib": ib, "b": ib.booking, "plate": rules.mask_plate(ib.vehicle.plate), **_offers(ib, now)}
            for ib in ds.bookings]})
    return render(request, "console/inspections/day.html", {
        "s": s, "name": bi(s.name_zh, s.name_en), "day": d, "slots": slots,
        "prev": d - dt.timedelta(days=1), "next": d + dt.timedelta(days=1)}, status=status)


def _back_to_day(ib) -> HttpResponse:
    d = clock.localdate(ib.booking.slot.starts_at)
    url = reverse("console:inspections_console:day", args=[ib.station_id])
    return redirect(f"{url}?date={d.isoformat()}#b{ib.booking_id}")


def _refuse(request: HttpRequest, ib, message: str) -> HttpResponse:
    """A form without the choice: the day page again with the error (400), nothing recorded."""
    messages.error(request, message)
    return _day_page(request, ib.station, clock.localdate(ib.booking.slot.starts_at), status=400)


def _staff_booking(booking_id: int):
    try:
        return selectors.staff_booking(booking_id=booking_id)
    except NotFound:
        raise Http404 from None


@staff_required("booking.attendance")
@require_POST
def attendance(request: HttpRequest, booking_id: int) -> HttpResponse:
    ib = _staff_booking(booking_id)
    if request.POST.get("attended") not in ("1", "0"):  # never a no-show (a penalty event) by omission
        return _refuse(request, ib, _("请选择到场或未到场。"))
    attended = request.POST.get("attended") == "1"
    try:
        services.inspection_attendance(booking_id=ib.booking_id, attended=attended, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, (_("已登记到场：%(ref)s") if attended else _("已登记未到场：%(ref)s"))
                         % {"ref": ib.booking.reference})
    return _back_to_day(ib)


@staff_required("booking.attendance")
@require_POST
def result(request: HttpRequest, booking_id: int) -> HttpResponse:
    ib = _staff_booking(booking_id)
    if request.POST.get("passed") not in ("1", "0"):
        return _refuse(request, ib, _("请选择检验合格或不合格。"))
    passed = request.POST.get("passed") == "1"
    try:
        services.inspection_result(booking_id=ib.booking_id, passed=passed, note=request.POST.get("note", ""),
                                   actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, (_("已录入检验合格：%(ref)s") if passed else _("已录入检验不合格：%(ref)s"))
                         % {"ref": ib.booking.reference})
    return _back_to_day(ib)
