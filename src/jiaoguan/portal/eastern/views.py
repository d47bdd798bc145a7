"""东部预约 (citizens' pages): areas and booking days, a day's slots with free seats, booking for my car, my
eastern bookings with the delay report (延误报备) and cancellation. Thin views over ``jiaoguan.eastern``: parse,
authorise (the selectors answer 404 for anything not the user's), call, render.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.identifiers import format_plate
from jiaoguan.eastern import conf, rules, selectors, services
from jiaoguan.portal.views import citizen_required

if TYPE_CHECKING:
    from jiaoguan.eastern.models import AreaBooking

OTHER = "other"
TONES = {"confirmed": "ok", "attended": "ok", "cancelled": "", "no_show": "warn"}


def _row(ab: AreaBooking) -> dict:
    now = clock.now()
    b = ab.booking
    return {
        "ab": ab, "b": b, "tone": TONES.get(b.status, ""),
        "area_name": bi(ab.area.name_zh, ab.area.name_en),
        "can_delay": selectors.may_report_delay(area_booking=ab, now=now),
        "can_cancel": selectors.may_cancel(area_booking=ab, now=now),
        "live": b.status in ("confirmed", "attended") and now < ab.entry_ends_at,
    }


def _exempt_kinds_note() -> str:
    return bi("客车、货车、出租车、公交车、警用及公务车辆，以及景区登记的本地车辆无需预约。",
              "Buses, trucks, taxis, public buses, emergency and official vehicles, and local vehicles "
              "registered with the area need no booking.")


def _exempt_rows(choices) -> list[dict]:
    return [{"plate": c.vehicle.plate, "reason": bi(c.exempt_zh, c.exempt_en)} for c in choices if not c.bookable]


@citizen_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = [_row(ab) for ab in selectors.my_bookings(user=user)[:50]]
    areas = []
    for area in selectors.areas():
        days = [{"day": d, **selectors.day_totals(day=d)} for d in selectors.days_ahead(area=area, limit=8)]
        areas.append({"area": area, "name": bi(area.name_zh, area.name_en), "days": days})
    choices = selectors.my_vehicle_choices(user=user)
    context = {
        "live_rows": [r for r in rows if r["live"]],
        "past_rows": [r for r in rows if not r["live"]],
        "areas": areas,
        "exempt_vehicles": _exempt_rows(choices),
        "listed": [{"plate": e.plate, "area": bi(e.area.name_zh, e.area.name_en), "until": e.valid_until}
                   for e in selectors.my_listed_exemptions(user=user)],
        "exempt_note": _exempt_kinds_note(),
        "delay_hours": conf.get("DELAY_HOURS"),
        "max_seats": conf.get("MAX_SEATS"),
    }
    return render(request, "portal/eastern/home.html", context)


# --- a day: slots and the booking form ---------------------------------------------------------------------------

class BookForm(forms.Form):
    slot = forms.TypedChoiceField(label=gettext_lazy("入园时段"), coerce=int, widget=forms.RadioSelect,
                                  error_messages={"required": gettext_lazy("请选择入园时段")})
    vehicle = forms.ChoiceField(label=gettext_lazy("车辆"), widget=forms.RadioSelect,
                                error_messages={"required": gettext_lazy("请选择车辆")})
    plate = forms.CharField(label=gettext_lazy("外地车辆号牌号码"), max_length=10, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "湘A12345", "autocomplete": "off"}))
    plate_type = forms.ChoiceField(label=gettext_lazy("号牌种类"), required=False,
                                   choices=(("02", gettext_lazy("小型汽车")), ("52", gettext_lazy("小型新能源汽车"))))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=120)

    def __init__(self, *args, slots=(), vehicles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = slots
        self.fields["vehicle"].choices = [*vehicles, (OTHER, _("外地车辆（填写号牌）"))]

    def clean(self):
        data = super().clean()
        if data.get("vehicle") == OTHER and not (data.get("plate") or "").strip():
            self.add_error("plate", _("请填写外地车辆的号牌号码"))
        return data


def _slot_label(v: selectors.SlotView) -> str:
    s = v.slot
    start, end = timezone.localtime(s.starts_at), timezone.localtime(s.ends_at)
    if not v.bookable:
        state = _("不可预约")
    elif v.public_free <= 0:
        state = _("已约满")
    else:
        state = _("余 %(n)s 个") % {"n": v.public_free}
    return f"{start:%H:%M}–{end:%H:%M} · {state}"


def _day_context(request: HttpRequest, area_code: str, date: str):
    try:
        area = selectors.area_get(code=area_code)
        day_date = dt.date.fromisoformat(date)
        day = selectors.day_get(area=area, date=day_date)
    except (NotFound, ValueError):
        raise Http404 from None
    views = selectors.day_slots(day=day)
    choices = selectors.my_vehicle_choices(user=request.user, area=area, on=day.date)
    return area, day, views, choices


@citizen_required
@require_http_methods(["GET", "POST"])
def day(request: HttpRequest, area_code: str, date: str) -> HttpResponse:
    area, bday, views, choices = _day_context(request, area_code, date)
    slot_choices = [(v.slot.pk, _slot_label(v)) for v in views if v.bookable and v.public_free > 0]
    vehicle_choices = [(str(c.vehicle.vehicle_id), f"{c.vehicle.plate[:2]}·{c.vehicle.plate[2:]} {c.vehicle.brand}")
                       for c in choices if c.bookable]
    status = 200
    if request.method == "POST":
        form = BookForm(request.POST, slots=slot_choices, vehicles=vehicle_choices)
        if form.is_valid():
            data = form.cleaned_data
            other = data["vehicle"] == OTHER
            vehicle_id = None if other else int(data["vehicle"])
            plate = (data.get("plate") or "").strip().upper() if other else ""
            plate_type = (data.get("plate_type") or "02") if other else ""

            def run():
                ab = services.booking_create(user=request.user, area_code=area.code, date=bday.date,
                                             slot_id=data["slot"], vehicle_id=vehicle_id, plate=plate,
                                             plate_type=plate_type, actor=actor_of(request))
                return 201, {"id": ab.pk, "reference": ab.booking.reference, "plate": ab.plate}

            try:
                _status, body = once_for(
                    request.user, "eastern-book", key=data["idempotency_key"],
                    fingerprint=f"{area.code}:{bday.date}:{data['slot']}:{vehicle_id}:{plate}:{plate_type}", run=run)
            except DomainError as exc:
                status = form_error(form, exc, rename={"slot_id": "slot", "date": "slot"})
            else:
                messages.success(request, _("预约成功：%(plate)s，预约号 %(ref)s。请在预约时段内入园。")
                                 % {"plate": format_plate(body["plate"]), "ref": body["reference"]})
                return redirect("portal:eastern_portal:home")
        else:
            status = 400
        # a fresh key for the next attempt (the failed one stored nothing)
        form.data = form.data.copy()
        form.data["idempotency_key"] = secrets.token_urlsafe(24)
    else:
        initial = {"idempotency_key": secrets.token_urlsafe(24), "plate_type": "02"}
        if len(vehicle_choices) == 1:
            initial["vehicle"] = vehicle_choices[0][0]
        form = BookForm(initial=initial, slots=slot_choices, vehicles=vehicle_choices)
    context = {
        "area": area, "area_name": bi(area.name_zh, area.name_en), "day": bday, "views": views, "form": form,
        "merchant_form": _merchant_form(request, views) if rules.merchant_user(request.user) else None,
        "exempt_choices": _exempt_rows(choices), "has_slots": bool(slot_choices),
        "exempt_note": _exempt_kinds_note(), "max_seats": conf.get("MAX_SEATS"),
        "delay_hours": conf.get("DELAY_HOURS"),
    }
    return render(request, "portal/eastern/day.html", context, status=status)


# --- hotels and merchants: several guests' plates from the merchants' quota ------------------------------------------

class MerchantForm(forms.Form):
    slot = forms.TypedChoiceField(label=gettext_lazy("入园时段"), coerce=int,
                                  error_messages={"required": gettext_lazy("请选择入园时段")})
    plates = forms.CharField(label=gettext_lazy("住客车辆号牌（每行一个）"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 5, "placeholder": "粤B12345\n湘A12345"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=120)

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = slots

    def clean_plates(self):
        lines = [line.strip().upper() for line in self.cleaned_data["plates"].splitlines() if line.strip()]
        limit = conf.get("MAX_MERCHANT_PLATES")
        if not lines:
            raise forms.ValidationError(_("请至少填写一个号牌"))
        if len(lines) > limit:
            raise forms.ValidationError(_("每次最多%(n)s个号牌") % {"n": limit})
        return lines


def _merchant_slots(views) -> list:
    out = []
    for v in views:
        if v.bookable and v.merchant_free > 0:
            start, end = timezone.localtime(v.slot.starts_at), timezone.localtime(v.slot.ends_at)
            out.append((v.slot.pk, f"{start:%H:%M}–{end:%H:%M} · " + _("商户余 %(n)s 个") % {"n": v.merchant_free}))
    return out


def _merchant_form(request: HttpRequest, views, data=None) -> MerchantForm:
    return MerchantForm(data, slots=_merchant_slots(views),
                        initial={"idempotency_key": secrets.token_urlsafe(24)})


@citizen_required
@require_POST
def merchant(request: HttpRequest, area_code: str, date: str) -> HttpResponse:
    """A hotel or merchant books its guests' plates (each succeeds or fails on its own; the result lists both)."""
    if not rules.merchant_user(request.user):
        raise Http404
    area, bday, views, _choices = _day_context(request, area_code, date)
    form = _merchant_form(request, views, request.POST)
    results, status = [], 200
    if form.is_valid():
        data = form.cleaned_data

        def run():
            found = services.merchant_book(user=request.user, area_code=area.code, date=bday.date,
                                           slot_id=data["slot"], plates=[(p, "") for p in data["plates"]],
                                           actor=actor_of(request))
            return 200, [{"plate": r.plate, "reference": r.booking.booking.reference if r.booking else "",
                          "error_zh": r.error.zh if r.error else "", "error_en": r.error.en if r.error else ""}
                         for r in found]

        try:
            _status, rows = once_for(request.user, "eastern-merchant", key=data["idempotency_key"],
                                     fingerprint=f"{area.code}:{bday.date}:{data['slot']}:{','.join(data['plates'])}",
                                     run=run)
        except DomainError as exc:
            status = form_error(form, exc, rename={"slot_id": "slot"})
        else:
            results = [{"plate": r["plate"], "reference": r["reference"],
                        "error": bi(r["error_zh"], r["error_en"]) if not r["reference"] else ""} for r in rows]
            views = selectors.day_slots(day=bday)
            form = _merchant_form(request, views)
    else:
        status = 400
    return render(request, "portal/eastern/merchant_result.html", {
        "area_name": bi(area.name_zh, area.name_en), "day": bday, "results": results, "merchant_form": form,
        "area": area}, status=status)


# --- delay and cancel --------------------------------------------------------------------------------------------

def _mine(request: HttpRequest, booking_id: int) -> AreaBooking:
    try:
        return selectors.my_booking(user=request.user, area_booking_id=booking_id)
    except NotFound:
        raise Http404 from None


@citizen_required
@require_POST
def delay(request: HttpRequest, booking_id: int) -> HttpResponse:
    ab = _mine(request, booking_id)
    try:
        ab = services.booking_delay(user=request.user, area_booking_id=ab.pk, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, _("已报备延误：入园时间延长至 %(until)s。")
                         % {"until": timezone.localtime(ab.entry_ends_at).strftime("%Y-%m-%d %H:%M")})
    return redirect("portal:eastern_portal:home")


@citizen_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    ab = _mine(request, booking_id)
    error = None
    status = 200
    if request.method == "POST":
        try:
            services.booking_cancel(user=request.user, area_booking_id=ab.pk, actor=actor_of(request))
        except DomainError as exc:
            error, status = exc.message(), exc.status if 400 <= exc.status < 500 else 400
        else:
            messages.success(request, _("预约已取消。"))
            return redirect("portal:eastern_portal:home")
    penalties = selectors.plate_penalties(plate=ab.plate)
    return render(request, "portal/eastern/cancel.html",
                  {**_row(ab), "error": error, "banned": [bi(p.reason_zh, p.reason_en) for p in penalties]},
                  status=status)
