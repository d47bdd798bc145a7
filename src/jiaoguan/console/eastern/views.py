"""东部预约 staff pages: areas, booking days (quota and merchants' share), registered local vehicles, checkpoint
cameras, and what the checkpoints saw today (entries and violations).

Views parse, authorise, call ``eastern.services`` / ``eastern.selectors`` and render. Permissions:
``booking.manage`` (define areas, days, exemptions, checkpoints) and ``booking.attendance`` (look at entries).
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.console.submit import submit
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock
from jiaoguan.core.errors import NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.eastern import conf, selectors, services


def _area_choices():
    return [(a.code, bi(a.name_zh, a.name_en)) for a in selectors.areas()]


# --- overview and areas ------------------------------------------------------------------------------------------

class AreaForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("编码（英文）"), max_length=40)
    name_zh = forms.CharField(label=gettext_lazy("中文名称"), max_length=80)
    name_en = forms.CharField(label=gettext_lazy("英文名称"), max_length=80)


def _index(request: HttpRequest, *, area_form: AreaForm | None = None, status: int = 200) -> HttpResponse:
    areas = []
    for area in selectors.areas(active_only=False):
        days = [{"day": d, **selectors.day_totals(day=d)} for d in selectors.days_ahead(area=area, limit=10)]
        areas.append({"area": area, "name": bi(area.name_zh, area.name_en), "days": days})
    return render(request, "console/eastern/index.html", {
        "areas": areas, "area_form": area_form or AreaForm(), "counts": selectors.passage_counts(),
        "today": clock.today()}, status=status)


@staff_required("booking.attendance")
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


@staff_required("booking.manage")
@require_POST
def area_new(request: HttpRequest) -> HttpResponse:
    form = AreaForm(request.POST)
    area, status = submit(form, lambda data: services.area_create(
        code=data["code"], name_zh=data["name_zh"], name_en=data["name_en"], actor=actor_of(request)))
    if area is None:
        return _index(request, area_form=form, status=status)
    messages.success(request, _("已新增景区：%(name)s") % {"name": area.name_zh})
    return redirect("console:eastern_console:index")


# --- booking days ------------------------------------------------------------------------------------------------

class DayForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("景区"))
    date = forms.DateField(label=gettext_lazy("预约日期"), widget=forms.DateInput(attrs={"type": "date"}))
    period_key = forms.CharField(label=gettext_lazy("假期标识（用于取消处罚）"), max_length=40, required=False,
                                 help_text=gettext_lazy("例如 2026-national-day；留空则按周计"))
    daily_quota = forms.IntegerField(label=gettext_lazy("每日总量"), min_value=1, max_value=1_000_000)
    merchant_quota = forms.IntegerField(label=gettext_lazy("其中酒店和商户预留"), min_value=0, max_value=1_000_000,
                                        initial=0)
    first_slot = forms.TimeField(label=gettext_lazy("第一个时段开始"), widget=forms.TimeInput(attrs={"type": "time"}))
    slot_minutes = forms.IntegerField(label=gettext_lazy("每个时段（分钟）"), min_value=15, max_value=1440)
    slots = forms.IntegerField(label=gettext_lazy("时段数"), min_value=1, max_value=24)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = _area_choices()


@staff_required("booking.manage")
@require_http_methods(["GET", "POST"])
def day_new(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = DayForm(request.POST)

        def create(data) -> HttpResponse:
            area = selectors.area_get(code=data["area"])
            day = services.day_create(area=area, date=data["date"], actor=actor_of(request), spec=services.DaySpec(
                daily_quota=data["daily_quota"], merchant_quota=data["merchant_quota"],
                first_slot=data["first_slot"], slot_minutes=data["slot_minutes"], slots=data["slots"],
                period_key=data["period_key"]))
            messages.success(request, _("已设置 %(area)s %(date)s 为预约日") % {
                "area": area.name_zh, "date": day.date.isoformat()})
            return redirect("console:eastern_console:index")

        done, status = submit(form, create)
        if done is not None:
            return done
    else:
        first, _sep, _rest = conf.get("FIRST_SLOT").partition(":")
        form = DayForm(initial={
            "date": clock.today() + dt.timedelta(days=7), "daily_quota": 40000, "merchant_quota": 10000,
            "first_slot": dt.time(int(first), 0), "slot_minutes": conf.get("SLOT_MINUTES"), "slots": conf.get("SLOTS")})
    return render(request, "console/eastern/day_new.html", {"form": form}, status=status)


# --- registered local vehicles -------------------------------------------------------------------------------------

class ExemptionForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("景区"))
    plate = forms.CharField(label=gettext_lazy("号牌号码"), max_length=10)
    reason = forms.CharField(label=gettext_lazy("登记原因"), max_length=200)
    valid_until = forms.DateField(label=gettext_lazy("有效期至"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = _area_choices()


@staff_required("booking.manage")
@require_http_methods(["GET", "POST"])
def exemptions(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = ExemptionForm(request.POST)

        def add(data) -> HttpResponse:
            services.exemption_add(area=selectors.area_get(code=data["area"]), plate=data["plate"],
                                   reason=data["reason"], valid_until=data["valid_until"], actor=actor_of(request))
            messages.success(request, _("已登记本地车辆。"))
            return redirect("console:eastern_console:exemptions")

        done, status = submit(form, add)
        if done is not None:
            return done
    else:
        form = ExemptionForm(initial={"valid_until": clock.today().replace(month=12, day=31)})
    return render(request, "console/eastern/exemptions.html",
                  {"form": form, "rows": list(selectors.exemptions()[:500])}, status=status)


@staff_required("booking.manage")
@require_POST
def exemption_revoke(request: HttpRequest, exemption_id: int) -> HttpResponse:
    try:
        services.exemption_revoke(exemption_id=exemption_id, actor=actor_of(request), reason="console")
    except NotFound:
        messages.error(request, _("登记记录不存在。"))
    else:
        messages.success(request, _("已撤销登记。"))
    return redirect("console:eastern_console:exemptions")


# --- checkpoints -------------------------------------------------------------------------------------------------

class CheckpointForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("景区"))
    name = forms.CharField(label=gettext_lazy("卡口名称"), max_length=80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = _area_choices()


@staff_required("booking.manage")
@require_http_methods(["GET", "POST"])
def checkpoints(request: HttpRequest) -> HttpResponse:
    status = 200
    created = None
    if request.method == "POST":
        form = CheckpointForm(request.POST)
        made, status = submit(form, lambda data: services.checkpoint_create(
            area=selectors.area_get(code=data["area"]), name=data["name"], actor=actor_of(request)))
        if made is not None:
            cp, secret = made
            created = {"cp": cp, "secret": secret}  # shown once, never stored in the clear elsewhere
            form = CheckpointForm()
    else:
        form = CheckpointForm()
    response = render(request, "console/eastern/checkpoints.html",
                      {"form": form, "rows": list(selectors.checkpoints()), "created": created}, status=status)
    response["Cache-Control"] = "no-store"
    return response


# --- today's entries and violations --------------------------------------------------------------------------------

@staff_required("booking.attendance")
def passages(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("date") or ""
    try:
        on = dt.date.fromisoformat(raw) if raw else clock.today()
    except ValueError:
        on = clock.today()
    only = request.GET.get("show") or ""
    qs = selectors.passages_on(date=on)
    if only == "refused":
        qs = qs.filter(allowed=False)
    rows = [{"p": p, "area": bi(p.checkpoint.area.name_zh, p.checkpoint.area.name_en)} for p in qs[:500]]
    return render(request, "console/eastern/passages.html",
                  {"rows": rows, "on": on, "only": only, "counts": selectors.passage_counts(date=on)})
