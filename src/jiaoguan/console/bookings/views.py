"""Staff pages of the capacity engine: slots (by kind and day), a slot's quotas, bookings, applications with
rank and waiting list; attendance (attended / no-show) once a slot has started; cancelling a booking or a whole
slot with a reason; running the ranked allocation now; penalties in force and lifting them.

Permissions (identity.roles.PERMISSIONS): ``booking.attendance`` to see slots, mark attendance and cancel a
booking; ``booking.manage`` to cancel a slot, run the allocation and lift penalties. Citizens' names and phones
are shown masked only, so these lists write no access-audit rows (console/views.py person_detail is the
audited way to see a person unmasked).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock, masking
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.identity.roles import has_permission

if TYPE_CHECKING:
    from jiaoguan.bookings.models import Booking, Slot

PAGE = 200



class SlotFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("业务类型"), required=False,
                             choices=[("", gettext_lazy("全部"))] + list(selectors.ResourceKind.choices))
    day = forms.DateField(label=gettext_lazy("日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=gettext_lazy("状态"), required=False,
                               choices=[("", gettext_lazy("全部"))] + list(selectors.SlotStatus.choices))

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and not rules.day_ok(day):
            raise forms.ValidationError(_("日期超出范围"))
        return day


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=500)


@staff_required("booking.attendance")
def slot_list(request: HttpRequest) -> HttpResponse:
    """Slots of a day (today unless a filter says otherwise), any kind, with seats and seats taken."""
    form = SlotFilterForm(request.GET if request.GET else {"day": clock.today().isoformat()})
    status = 200
    slots: list[Slot] = []
    if form.is_valid():
        data = form.cleaned_data
        slots = list(selectors.slots_list(kind=data["kind"] or None, day=data["day"],
                                          status=data["status"] or None)[:PAGE])
    else:
        status = 400
    figures = selectors.slots_taken(slot_ids=[s.pk for s in slots])
    rows = [{"slot": s, "what": bi(s.resource.name_zh, s.resource.name_en), "seats": figures[s.pk][0],
             "taken": figures[s.pk][1]} for s in slots]
    return render(request, "console/bookings/slots.html",
                  {"form": form, "rows": rows, "can_manage": has_permission(request.user, "booking.manage")},
                  status=status)


def _slot(slot_id: int) -> Slot:
    try:
        return selectors.slot_get(slot_id=slot_id)
    except NotFound:
        raise Http404 from None


def _offers(b: Booking, now) -> dict:
    """The attendance and cancel buttons, offered from the rules booking_mark / booking_cancel enforce, and why
    not when they are not (shown where the buttons would be)."""
    mark, cancel = selectors.staff_mark_block(booking=b, now=now), selectors.staff_cancel_block(booking=b)
    why = [bi(*selectors.block_text(code)) for code in (mark, cancel) if code]
    return {"can_mark": mark is None, "can_cancel": cancel is None, "why": list(dict.fromkeys(why))}


def _slot_page(request: HttpRequest, slot: Slot, *, error: str = "", status: int = 200,
               reason_form: ReasonForm | None = None) -> HttpResponse:
    now = clock.now()
    started = now >= slot.starts_at
    bookings = []
    for b in selectors.slot_bookings(slot=slot).select_related("user__person")[:2000]:
        person = getattr(b.user, "person", None)
        bookings.append({
            "b": b, "name": masking.mask_name(person.name) if person else "—",
            "phone": masking.mask_phone(b.user.phone) or "—",
            "quota": bi(b.quota.label_zh, b.quota.label_en),
            **_offers(b, now),
        })
    applications = [{"a": a, "rank": rank, "quota": bi(a.quota.label_zh, a.quota.label_en)}
                     for a, rank in selectors.slot_ranked_applications(slot=slot)]
    waitlist = [{"e": e, "quota": bi(e.quota.label_zh, e.quota.label_en)}
                for e in selectors.slot_waitlist(slot=slot)[:500]]
    context = {
        "slot": slot, "what": bi(slot.resource.name_zh, slot.resource.name_en), "started": started,
        "quotas": [{"q": q, "label": bi(q.label_zh, q.label_en)} for q in selectors.slot_availability(slot=slot)],
        "bookings": bookings, "applications": applications, "waitlist": waitlist, "error": error,
        "reason_form": reason_form or ReasonForm(), "can_manage": has_permission(request.user, "booking.manage"),
        "cancellable": rules.SLOT.allows(slot.status, selectors.SlotStatus.CANCELLED),
    }
    response = render(request, "console/bookings/slot.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@staff_required("booking.attendance")
def slot_detail(request: HttpRequest, slot_id: int) -> HttpResponse:
    return _slot_page(request, _slot(slot_id))


def _booking(booking_id: int) -> Booking:
    try:
        return selectors.booking_get(booking_id=booking_id)
    except NotFound:
        raise Http404 from None


def _status_of(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _on_slot(request: HttpRequest, slot: Slot, run, done: str) -> HttpResponse:
    """Run a staff action on (a booking of) ``slot``: back to the slot's page with a message, or the page again
    with the refusal where the buttons are."""
    try:
        run()
    except DomainError as exc:
        return _slot_page(request, slot, error=exc.message(), status=_status_of(exc))
    messages.success(request, done)
    return redirect("console:bookings_console:slot", slot.pk)


@staff_required("booking.attendance")
@require_POST
def booking_attendance(request: HttpRequest, booking_id: int) -> HttpResponse:
    b = _booking(booking_id)
    attended = request.POST.get("attended")
    if attended not in ("1", "0"):
        return _slot_page(request, b.slot, error=_("请选择已到场或未到场。"), status=400)
    return _on_slot(request, b.slot, lambda: services.booking_mark(
        booking_id=b.pk, attended=attended == "1", actor=actor_of(request)),
        _("已登记 %(ref)s 的到场情况。") % {"ref": b.reference})


@staff_required("booking.attendance")
@require_POST
def booking_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    b = _booking(booking_id)
    return _with_reason(request, b.slot, _("取消预约须填写原因。"), lambda reason: services.booking_cancel(
        booking_id=b.pk, actor=actor_of(request), reason=reason), _("预约 %(ref)s 已取消。") % {"ref": b.reference})


@staff_required("booking.manage")
@require_POST
def slot_cancel(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = _slot(slot_id)
    return _with_reason(request, slot, _("取消场次须填写原因。"), lambda reason: services.slot_cancel(
        slot_id=slot.pk, actor=actor_of(request), reason=reason), _("场次已取消，已通知所有预约人。"), keep_form=True)


def _with_reason(request: HttpRequest, slot: Slot, missing: str, run, done: str, *,
                 keep_form: bool = False) -> HttpResponse:
    """A staff action that needs a reason (``ReasonForm``): refused with ``missing`` without one."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _slot_page(request, slot, error=missing, status=400, reason_form=form if keep_form else None)
    return _on_slot(request, slot, lambda: run(form.cleaned_data["reason"]), done)


@staff_required("booking.manage")
def allocations(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.slots_close()
        run = services.applications_allocate(actor=actor_of(request))
        messages.success(request, _("分配完成：%(slots)s 个场次，%(apps)s 份申请，%(n)s 个名额已分配。") % {
            "slots": run.slots, "apps": run.applications, "n": run.allocated})
        return redirect("console:bookings_console:allocations")
    due = selectors.slots_due_for_allocation().count()
    return render(request, "console/bookings/allocations.html",
                  {"runs": selectors.allocation_runs(limit=20), "due": due,
                   "every_minutes": rules.ALLOCATE_EVERY_SECONDS // 60})


@staff_required("booking.attendance")
def penalties(request: HttpRequest) -> HttpResponse:
    return _penalties_page(request)


def _penalties_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    party = (request.GET.get("party") or "").strip()[:80]
    rows = [{"p": p, "reason": bi(p.reason_zh, p.reason_en),
             "kind": selectors.ResourceKind(p.kind).label if p.kind in selectors.ResourceKind.values else p.kind}
            for p in selectors.penalties_active(party=party or None)]
    return render(request, "console/bookings/penalties.html",
                  {"rows": rows, "party": party, "error": error, "reason_form": ReasonForm(),
                   "can_manage": has_permission(request.user, "booking.manage")}, status=status)


@staff_required("booking.manage")
@require_POST
def penalty_lift(request: HttpRequest, penalty_id: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _penalties_page(request, error=_("解除限制须填写原因。"), status=400)
    try:
        services.penalty_lift(penalty_id=penalty_id, actor=actor_of(request), reason=form.cleaned_data["reason"])
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        return _penalties_page(request, error=exc.message(), status=_status_of(exc))
    messages.success(request, _("限制已解除。"))
    return redirect("console:bookings_console:penalties")
