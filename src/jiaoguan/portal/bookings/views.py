"""我的预约 (citizens' bookings across every kind: driving tests, inspections, counters, eastern areas): what I
have booked, applied for or wait for, with deadlines and live rank, and the buttons to confirm a held seat,
release it, cancel, or withdraw. Thin views over ``jiaoguan.bookings``: the selectors and services answer 404
for anything not the user's. Every button is a POST form with a hidden idempotency key (no JavaScript), so a
double click or a resubmitted form is one request.
"""
from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.portal.views import citizen_required

B = selectors.BookingStatus
A = selectors.ApplicationStatus
TONES = {B.HELD: "warn", B.CONFIRMED: "ok", B.ATTENDED: "ok", B.NO_SHOW: "bad", A.PENDING: "warn",
         A.UNSUCCESSFUL: "bad", selectors.WaitlistStatus.WAITING: "warn"}


def _row(item: selectors.MyItem, now) -> dict:
    obj, slot = item.obj, item.slot
    row = {"item": item, "obj": obj, "slot": slot, "type": item.kind, "tone": TONES.get(obj.status, ""),
           "what": bi(slot.resource.name_zh, slot.resource.name_en), "kind_label": slot.resource.get_kind_display(),
           "quota": bi(obj.quota.label_zh, obj.quota.label_en), "actions": []}
    if item.kind == "booking":  # offered from the rules booking_release / booking_cancel enforce
        if selectors.citizen_give_up_block(booking=obj, now=now) is None:
            row["actions"] = ["confirm", "release"] if rules.BOOKING.allows(obj.status, B.CONFIRMED) else ["cancel"]
        row["from_waitlist"] = bool((obj.meta or {}).get("waitlist_entry"))
        row["rank"] = (obj.meta or {}).get("rank")
    elif item.kind == "application":
        if selectors.citizen_withdraw_block(application=obj, now=now) is None:  # as application_withdraw
            row["actions"] = ["withdraw_application"]
    elif item.kind == "waitlist":
        row["actions"] = ["withdraw_waitlist"]
    return row


def _running(row: dict) -> bool:
    """A booking or an application not at an end of its life cycle (rules.BOOKING / rules.APPLICATION)."""
    machine = {"booking": rules.BOOKING, "application": rules.APPLICATION}.get(row["type"])
    return machine is not None and row["obj"].status not in machine.terminal


def _page(request: HttpRequest, *, error: DomainError | None = None, status: int = 200) -> HttpResponse:
    now = clock.now()
    rows = [_row(i, now) for i in selectors.my_items(user=request.user)]
    live = [r for r in rows if r["actions"] or _running(r)]
    past = [r for r in rows if r not in live]
    live.sort(key=lambda r: r["obj"].status != B.HELD)  # a seat waiting for confirmation first: it runs out
    context = {"live": live, "past": past, "error": error.message() if error else "",
               "key": secrets.token_urlsafe(24), "now": now}
    response = render(request, "portal/bookings/list.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@citizen_required
def booking_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _act(request: HttpRequest, scope: str, done: str, service: str, **target: int) -> HttpResponse:
    """The citizen's step ``services.<service>(**target, user=…)`` on their own record, once per the form's
    idempotency key (scope ``scope``, the API's too), then back to the list with ``done``."""
    (object_id,) = target.values()
    key = request.POST.get("idempotency_key", "")
    if not 8 <= len(key) <= 120:
        return _page(request, error=DomainError("core.idempotency_key", "页面已过期，请重新提交",
                                                "The page expired; submit again"), status=400)

    def once():
        getattr(services, service)(**target, user=request.user, actor=actor_of(request))
        return 200, {"id": object_id}

    try:
        once_for(request.user, scope, key=key, fingerprint=str(object_id), run=once)
    except DomainError as exc:
        return _page(request, error=exc, status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(request, done)
    return redirect("portal:bookings_portal:list")


def _step(scope: str, done, service: str):
    """A citizen's POST on one of their records (the URL's id), through ``_act``."""

    @citizen_required
    @require_POST
    def view(request: HttpRequest, **target: int) -> HttpResponse:
        return _act(request, scope, str(done), service, **target)

    view.__name__ = service
    return view


booking_confirm = _step("booking-confirm", gettext_lazy("预约已确认。"), "booking_confirm")
booking_release = _step("booking-release", gettext_lazy("已放弃保留的名额。"), "booking_release")
booking_cancel = _step("booking-cancel", gettext_lazy("预约已取消。"), "booking_cancel")
application_withdraw = _step("booking-withdraw", gettext_lazy("预约申请已撤回。"), "application_withdraw")
waitlist_withdraw = _step("waitlist-withdraw", gettext_lazy("已退出候补。"), "waitlist_withdraw")
