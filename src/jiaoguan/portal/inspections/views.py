"""机动车检验 (citizens' inspection pages): what each own vehicle can do, booking an on-site test (station → date
→ slot → hold → confirm), my bookings with cancel, the online inspection mark for exempt years with its
electronic mark page (QR code) and the public verification page.

Thin views over ``jiaoguan.inspections`` services and selectors: parse, authorise (the selectors answer 404 for
anything not the user's own), call, render. Every page works without JavaScript.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import secrets

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.ids import parse_id
from jiaoguan.inspections import conf, rules, selectors, services
from jiaoguan.payments.reference import svg_fluid
from jiaoguan.portal.views import citizen_required

B = booking_selectors.BookingStatus
TONES = {B.HELD: "warn", B.CONFIRMED: "ok", B.ATTENDED: "ok", B.NO_SHOW: "bad", B.CANCELLED: "", B.RELEASED: "",
         B.EXPIRED: ""}
RESULT_TONES = {"passed": "ok", "failed": "bad", "pending": ""}


def _404(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        raise Http404 from None


def _or_none(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        return None


def _error_lines(exc: DomainError) -> list[str]:
    return list(dict.fromkeys(exc.field_messages().values())) or [exc.message()]


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _key() -> str:
    return secrets.token_urlsafe(24)


def _station_name(s) -> str:
    return bi(s.name_zh, s.name_en)


def _booking_row(ib) -> dict:
    b = ib.booking
    now = clock.now()
    block = selectors.give_up_block(booking=b, now=now)  # what inspection_cancel meets in the engine
    why = booking_selectors.block_text(block) if block == "bookings.cancel_closed" else None
    return {"ib": ib, "b": b, "tone": TONES.get(b.status, ""), "station": _station_name(ib.station),
            "starts": timezone.localtime(b.slot.starts_at), "ends": timezone.localtime(b.slot.ends_at),
            "hold_live": selectors.hold_live(b, now), "can_cancel": block is None,
            "cancel_why": bi(*why) if why else "",
            "result_tone": RESULT_TONES.get(ib.result, "")}


# --- home: my vehicles, bookings, marks ----------------------------------------------------------------------------

@citizen_required
def home(request: HttpRequest) -> HttpResponse:
    options = selectors.my_vehicle_options(user=request.user)
    rows = [{"o": o, "reasons": [bi(r.zh, r.en) for r in o.refusals],
             "booking": _booking_row(o.booking) if o.booking else None} for o in options]
    booked = [_booking_row(ib) for ib in selectors.my_inspection_bookings(user=request.user)[:30]]
    return render(request, "portal/inspections/home.html", {
        "rows": rows, "bookings": booked, "marks": list(selectors.my_marks(user=request.user)[:20]),
        "window_days": conf.get("DUE_WINDOW_DAYS")})


# --- booking: station → date → slot → hold ----------------------------------------------------------------------

def _bookable_vehicle(request: HttpRequest, vehicle_id: int):
    vehicle = _404(selectors.own_vehicle, user=request.user, vehicle_id=vehicle_id)
    option = selectors.vehicle_option(vehicle=vehicle)
    return vehicle, option


@citizen_required
def book_station(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    vehicle, option = _bookable_vehicle(request, vehicle_id)
    # due today, or due within the booking horizon (then a slot on a day that is): rules.choose_refusals
    can_choose = option.can_choose
    stations = [{"s": s, "name": _station_name(s)} for s in selectors.stations()] if can_choose else []
    return render(request, "portal/inspections/book_station.html", {
        "vehicle": vehicle, "option": option, "stations": stations, "can_choose": can_choose,
        "reasons": [bi(r.zh, r.en) for r in option.refusals]})


def _slots_page(request: HttpRequest, vehicle, station, day: dt.date, *, error: DomainError | None = None,
                status: int = 200) -> HttpResponse:
    option = selectors.vehicle_option(vehicle=vehicle)
    days = selectors.station_days(station=station)
    slots = selectors.station_slots(station=station, day=day)
    return render(request, "portal/inspections/book_slots.html", {
        "vehicle": vehicle, "option": option, "station": station, "station_name": _station_name(station),
        "days": days, "day": day, "slots": slots, "key": _key(),
        "reasons": [bi(r.zh, r.en) for r in option.refusals],
        "error_lines": _error_lines(error) if error else []}, status=status)


def _day_param(value: str | None) -> dt.date:
    today = clock.today()
    try:
        day = dt.date.fromisoformat(value) if value else today + dt.timedelta(days=1)
    except ValueError:
        day = today + dt.timedelta(days=1)
    horizon = today + dt.timedelta(days=conf.get("BOOK_AHEAD_DAYS") - 1)
    return min(max(day, today), horizon)


@citizen_required
def book_slots(request: HttpRequest, vehicle_id: int, station_id: int) -> HttpResponse:
    vehicle, _option = _bookable_vehicle(request, vehicle_id)
    station = _404(selectors.station_get, station_id=station_id)
    return _slots_page(request, vehicle, station, _day_param(request.GET.get("date")))


@citizen_required
@require_POST
def hold(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """Take a seat (held for the hold time). The hidden key makes a double-click one request."""
    vehicle = _404(selectors.own_vehicle, user=request.user, vehicle_id=vehicle_id)
    slot_id = request.POST.get("slot_id", "")
    key = request.POST.get("idempotency_key", "")

    def run():
        ib = services.inspection_book(user=request.user, vehicle_id=vehicle.pk, slot_id=slot_pk,
                                      actor=actor_of(request))
        return 201, {"booking_id": ib.booking_id}

    slot_pk = parse_id(slot_id)
    try:
        if slot_pk is None:
            raise NotFound("core.not_found", "预约场次不存在", "The booking slot does not exist")
        _s, body = once_for(request.user, "inspection-book", key=key, fingerprint=json.dumps([vehicle.pk, slot_pk]),
                            run=run)
    except DomainError as exc:
        station, day = None, _day_param(request.POST.get("date"))
        if slot_pk is not None:
            slot = _or_none(booking_selectors.slot_get, slot_id=slot_pk)
            if slot is not None:
                station = selectors.station_for_slot(slot=slot)
                day = _day_param(selectors.local_date(slot.starts_at).isoformat())
        if station is None or not station.active:
            raise Http404 from None
        return _slots_page(request, vehicle, station, day, error=exc, status=_status(exc))
    return redirect("portal:inspections_portal:booking", booking_id=body["booking_id"])


# --- one booking: confirm, cancel --------------------------------------------------------------------------------

def _booking_page(request: HttpRequest, ib, *, error: DomainError | None = None, status: int = 200) -> HttpResponse:
    return render(request, "portal/inspections/booking.html", {
        **_booking_row(ib), "error_lines": _error_lines(error) if error else []}, status=status)


@citizen_required
def booking(request: HttpRequest, booking_id: int) -> HttpResponse:
    return _booking_page(request, _404(selectors.my_inspection_booking, user=request.user, booking_id=booking_id))


@citizen_required
@require_POST
def confirm(request: HttpRequest, booking_id: int) -> HttpResponse:
    ib = _404(selectors.my_inspection_booking, user=request.user, booking_id=booking_id)
    try:
        ib = services.inspection_confirm(user=request.user, booking_id=ib.booking_id, actor=actor_of(request))
    except DomainError as exc:
        ib = _404(selectors.my_inspection_booking, user=request.user, booking_id=booking_id)
        return _booking_page(request, ib, error=exc, status=_status(exc))
    messages.success(request, _("预约成功，预约编号 %(ref)s。请按时携带行驶证到检测站检验。") % {"ref": ib.booking.reference})
    return redirect("portal:inspections_portal:booking", booking_id=ib.booking_id)


@citizen_required
@require_POST
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    ib = _404(selectors.my_inspection_booking, user=request.user, booking_id=booking_id)
    was_held = ib.booking.status == B.HELD
    try:
        ib = services.inspection_cancel(user=request.user, booking_id=ib.booking_id, actor=actor_of(request))
    except DomainError as exc:
        ib = _404(selectors.my_inspection_booking, user=request.user, booking_id=booking_id)
        return _booking_page(request, ib, error=exc, status=_status(exc))
    messages.success(request, _("已放弃保留的名额。") if was_held else _("预约已取消。"))
    return redirect("portal:inspections_portal:home")


# --- the online mark (exempt years) --------------------------------------------------------------------------------

@citizen_required
@require_http_methods(["GET", "POST"])
def mark_apply(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    vehicle = _404(selectors.own_vehicle, user=request.user, vehicle_id=vehicle_id)
    error, status = None, 200
    if request.method == "POST":
        def run():
            m = services.mark_apply(user=request.user, vehicle_id=vehicle.pk, actor=actor_of(request))
            return 201, {"number": m.number}

        try:
            _s, body = once_for(request.user, "inspection-mark", key=request.POST.get("idempotency_key", ""),
                                fingerprint=str(vehicle.pk), run=run)
        except DomainError as exc:
            error, status = exc, _status(exc)
        else:
            messages.success(request, _("检验标志已核发，编号 %(number)s。") % {"number": body["number"]})
            return redirect("portal:inspections_portal:mark", number=body["number"])
    option = selectors.vehicle_option(vehicle=vehicle)
    return render(request, "portal/inspections/mark_apply.html", {
        "vehicle": vehicle, "option": option, "reasons": [bi(r.zh, r.en) for r in option.refusals],
        "key": _key(), "error_lines": _error_lines(error) if error else []}, status=status)


def qr_svg(text: str, *, scale: int = 4) -> str:
    """A QR code (segno, never Micro QR) as inline SVG text, sized by CSS (see payments.reference.svg_fluid)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2,
                                        svgclass="qr", lineclass=None)
    return svg_fluid(out.getvalue().decode())


@citizen_required
def mark(request: HttpRequest, number: str) -> HttpResponse:
    m = _404(selectors.my_mark, user=request.user, number=number)
    verify_url = request.build_absolute_uri(reverse("portal:inspections_portal:verify", args=[m.number, m.token]))
    return render(request, "portal/inspections/mark.html", {
        "m": m, "verify_url": verify_url, "qr": qr_svg(verify_url), "current": selectors.mark_current(m)})


def verify(request: HttpRequest, number: str, token: str) -> HttpResponse:
    """Public: anyone scanning the QR code sees whether the mark is genuine — masked plate only."""
    m = _404(selectors.mark_verify, number=number, token=token)
    return render(request, "portal/inspections/verify.html", {
        "m": m, "plate_masked": rules.mask_plate(m.vehicle.plate), "current": selectors.mark_current(m)})
