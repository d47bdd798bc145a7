"""窗口预约 (citizens' counter appointments): my appointments, book a slot (office → service → day → time),
cancel, and for enterprise users 批量预约 for their vehicles. Thin views over ``jiaoguan.counters``: parse,
authorise (selectors answer 404 for what is not the user's), call a service, render. Works without JavaScript.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.bookings import selectors as booking_selectors
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.ids import parse_id
from jiaoguan.counters import selectors, services
from jiaoguan.portal.views import citizen_required

TONES = {"confirmed": "ok", "held": "warn", "attended": "ok", "no_show": "warn"}



def _error_lines(exc: DomainError) -> list[str]:
    lines = [exc.message()]
    items = getattr(exc, "items", None)
    if items:
        lines += [f"{_('第%(n)s项') % {'n': i + 1}}：{e.message()}" for i, e in items]
    return lines


def _rows(bookings) -> list[dict]:
    bookings = list(bookings)
    offices = selectors.office_service_of_resource(resource_ids=[b.slot.resource_id for b in bookings])
    now = clock.now()
    rows = []
    for b in bookings:
        os_ = offices.get(b.slot.resource_id)
        rows.append({
            "b": b, "tone": TONES.get(b.status, ""),
            "office": bi(os_.office.name_zh, os_.office.name_en) if os_ else "",
            "address": bi(os_.office.address_zh, os_.office.address_en) if os_ else "",
            "service": bi(os_.service.name_zh, os_.service.name_en) if os_ else "",
            "cancellable": booking_selectors.citizen_may_cancel(booking=b, now=now),  # as appointment_cancel
            "batch": (b.meta or {}).get("batch", ""),
        })
    return rows


@citizen_required
def home(request: HttpRequest) -> HttpResponse:
    """我的预约: live appointments first, then the rest."""
    mine = list(selectors.my_appointments(user=request.user)[:100])
    live = [b for b in mine if b.status in booking_rules.BOOKING_RUNNING]
    past = [b for b in mine if b.status not in booking_rules.BOOKING_RUNNING]
    return render(request, "portal/counters/home.html", {
        "live": _rows(live), "past": _rows(past), "is_enterprise": request.user.role == "enterprise",
        "cancel_key": secrets.token_urlsafe(16)})


def _parse_day(text: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if booking_rules.day_ok(day) else None


def _choice(request: HttpRequest):
    """The office and service chosen in the query string (404 for unknown ones), or (None, None)."""
    office_id, code = parse_id(request.GET.get("office", "")), request.GET.get("service", "")
    if office_id is None or not code:
        return None, None
    try:
        office = selectors.office_get(office_id=office_id)
        return office, selectors.office_service_get(office=office, service_code=code)
    except NotFound:
        raise Http404 from None


def _book_page(request: HttpRequest, *, error: DomainError | list[str] | None = None, status: int = 200,
               template: str = "portal/counters/book.html", extra: dict | None = None) -> HttpResponse:
    office, os_ = _choice(request)
    lines = (error if isinstance(error, list) else _error_lines(error)) if error else []
    context: dict = {"offices": [], "office": office, "os": os_, "days": [], "day": None, "slots": [],
                     "error_lines": lines, "key": secrets.token_urlsafe(24)}
    if os_ is None:
        context["offices"] = [{"o": o, "name": bi(o.name_zh, o.name_en), "address": bi(o.address_zh, o.address_en),
                               "services": [(s.service.code, bi(s.service.name_zh, s.service.name_en))
                                            for s in o.services.all()]}
                              for o in selectors.offices_with_services()]
    else:
        context.update({"office_name": bi(office.name_zh, office.name_en),
                        "address": bi(office.address_zh, office.address_en),
                        "service_name": bi(os_.service.name_zh, os_.service.name_en)})
        context["days"] = selectors.bookable_days(office_service=os_)
        day = _parse_day(request.GET.get("date")) or (context["days"][0] if context["days"] else None)
        context["day"] = day
        if day is not None:
            context["slots"] = selectors.day_slots(office_service=os_, day=day)
    context.update(extra or {})
    return render(request, template, context, status=status)


@citizen_required
def book(request: HttpRequest) -> HttpResponse:
    """预约: GET walks office → service → day → time; POST books the chosen slot (confirmed at once)."""
    if request.method != "POST":
        return _book_page(request)
    slot_id, key = parse_id(request.POST.get("slot_id", "")), request.POST.get("idempotency_key", "")
    if slot_id is None:
        return _book_page(request, error=DomainError("counters.slot_missing", "请选择时段", "Choose a time"),
                          status=400)

    def run():
        b = services.appointment_book(user=request.user, slot_id=slot_id, actor=actor_of(request))
        return 201, {"id": b.pk, "reference": b.reference}

    try:
        _status, body = once_for(request.user, "counter-book", key=key, fingerprint=str(slot_id),
                                   run=run)
    except DomainError as exc:
        return _book_page(request, error=exc, status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(request, _("预约成功，预约号 %(ref)s。请按时携带身份证件到窗口办理。") % {"ref": body["reference"]})
    return redirect("portal:counters_portal:home")


@citizen_required
@require_POST
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        selectors.my_appointment(user=request.user, booking_id=booking_id)
    except NotFound:
        raise Http404 from None
    try:
        b = services.appointment_cancel(user=request.user, booking_id=booking_id, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, _("已取消预约 %(ref)s。") % {"ref": b.reference})
    return redirect("portal:counters_portal:home")


# --- enterprises: 批量预约 ---------------------------------------------------------------------------------------

@citizen_required
def batch(request: HttpRequest) -> HttpResponse:
    """批量预约: for each of the enterprise's vehicles choose a time (or none); all are booked or none."""
    if request.user.role != "enterprise" or not request.user.enterprise_id:
        return render(request, "portal/counters/batch_forbidden.html", status=403)
    vehicles = selectors.enterprise_vehicles(enterprise=request.user.enterprise)
    extra = {"vehicles": [{"v": v, "chosen": None} for v in vehicles], "max_batch": services.MAX_BATCH,
             "batches": list(selectors.enterprise_batches(user=request.user)[:10])}
    if request.method != "POST":
        return _book_page(request, template="portal/counters/batch.html", extra=extra)
    by_id = {v.pk: v for v in vehicles}
    items, chosen = [], {}
    for v in vehicles:
        value = request.POST.get(f"slot_{v.pk}", "")
        if value:
            slot_id = parse_id(value)
            if slot_id is None:  # a tampered form: refuse the batch rather than silently drop the vehicle
                return _book_page(request, template="portal/counters/batch.html", status=400, extra=extra,
                                  error=DomainError("counters.slot_missing", "请选择时段", "Choose a time"))
            items.append(services.BatchItem(slot_id=slot_id, vehicle_id=v.pk))
            chosen[v.pk] = slot_id
    extra["vehicles"] = [{"v": v, "chosen": chosen.get(v.pk)} for v in vehicles]
    if not items:
        return _book_page(request, template="portal/counters/batch.html", status=400, extra=extra,
                          error=DomainError("counters.batch_empty", "请至少为一辆车选择时段",
                                            "Choose a time for at least one vehicle"))

    def run():
        b, _booked = services.batch_book(user=request.user, items=items, actor=actor_of(request))
        return 201, {"reference": b.reference, "items": b.items}

    try:
        _status, body = once_for(request.user, "counter-batch", key=request.POST.get("idempotency_key", ""),
                                 fingerprint=repr([(i.slot_id, i.vehicle_id) for i in items]), run=run)
    except DomainError as exc:
        # name the vehicle of each refused item, not its index
        lines = [exc.message()] + [f"{by_id[items[i].vehicle_id].plate}：{e.message()}"
                                   for i, e in getattr(exc, "items", [])]
        return _book_page(request, template="portal/counters/batch.html", extra=extra, error=lines,
                          status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(request, _("批量预约成功：%(n)s辆车，批次号 %(ref)s。") % {"n": body["items"], "ref": body["reference"]})
    return redirect("portal:counters_portal:home")

