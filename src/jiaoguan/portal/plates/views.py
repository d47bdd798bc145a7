"""网上选号 (citizens' plate selection pages): my eligible vehicles, and one selection with the drawn batch as
plate-styled buttons, redraws left, a compose form, the held number with its expiry time, confirm and release.

Thin views over ``jiaoguan.plates`` services and selectors: parse, authorise (selectors answer 404 for anything
not the user's), call, render. Every form that moves a plate carries a hidden idempotency key, so a double click
or a resubmitted form is one request. Works without JavaScript.
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.identifiers import format_plate
from jiaoguan.plates import rules, selectors, services
from jiaoguan.portal.views import citizen_required

if TYPE_CHECKING:
    from jiaoguan.plates.models import Selection


def _key() -> str:
    return secrets.token_urlsafe(24)


class ComposeForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("自编号码"), max_length=12,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                           "placeholder": "A1234"}))


def _selection(request: HttpRequest, selection_id: int) -> Selection:
    try:
        return selectors.my_selection(user=request.user, selection_id=selection_id)
    except NotFound:
        raise Http404 from None


def _kind_label(kind: str) -> str:
    return bi(*rules.KIND_LABELS.get(kind, (kind, kind)))


# --- my vehicles ---------------------------------------------------------------------------------------------------

@citizen_required
def index(request: HttpRequest) -> HttpResponse:
    rows = [{"e": e, "kind_label": _kind_label(e.kind), "reasons": [bi(r.zh, r.en) for r in e.refusals]}
            for e in selectors.my_eligibility(user=request.user)]
    return render(request, "portal/plates/index.html", {"rows": rows})


@citizen_required
@require_POST
def start(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    try:
        sel = services.selection_start(user=request.user, vehicle_id=vehicle_id, ip=client_ip(request))
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message())
        return redirect("portal:plates_portal:index")
    return redirect("portal:plates_portal:selection", sel.pk)


# --- one selection -------------------------------------------------------------------------------------------------

def _page(request: HttpRequest, sel: Selection, *, compose_form: ComposeForm | None = None,
          composed: str = "", error: DomainError | None = None, status: int = 200,
          confirm_error: str = "") -> HttpResponse:
    hold = selectors.current_hold(selection=sel)
    history = []
    if sel.status == selectors.SelectionStatus.OPEN:
        history = [h for h in selectors.history_for(person_id=sel.person_id) if h.plate_type == sel.kind]
    error_lines = []
    if error is not None:
        error_lines = list(dict.fromkeys(error.field_messages().values())) or [error.message()]
    context = {
        "sel": sel,
        "vehicle": sel.vehicle,
        "kind_label": _kind_label(sel.kind),
        "nev": sel.kind in (rules.NEV_SMALL, rules.NEV_LARGE),
        "offered": selectors.offered_numbers(selection=sel),
        "hold": hold,
        "compose_form": compose_form or ComposeForm(),
        "composed": composed,
        "patterns": sel.office.patterns().get(sel.kind, []),
        "history": history,
        "error_lines": error_lines,
        "confirm_error": confirm_error,
        "key": _key,
    }
    return render(request, "portal/plates/selection.html", context, status=status)


@citizen_required
def selection(request: HttpRequest, selection_id: int) -> HttpResponse:
    return _page(request, _selection(request, selection_id))


def _act(request: HttpRequest, selection_id: int, action: str, service, done: str, *, fingerprint: str | None = None,
         **kwargs) -> HttpResponse:
    """One step on the selection, once per form key: ``service(user=, selection_id=, ip=, **kwargs)``."""
    sel = _selection(request, selection_id)
    key = request.POST.get("idempotency_key") or ""
    ip = client_ip(request)

    def run():
        service(user=request.user, selection_id=sel.pk, ip=ip, **kwargs)
        return 200, {"ok": True}

    try:
        once_for(request.user, f"plates-{action}", key=key, fingerprint=f"{sel.pk}:{fingerprint or action}", run=run)
    except DomainError as exc:
        return _page(request, _selection(request, selection_id), error=exc,
                     status=exc.status if 400 <= exc.status < 500 else 400)
    messages.success(request, done)
    return redirect("portal:plates_portal:selection", sel.pk)


@citizen_required
@require_POST
def draw(request: HttpRequest, selection_id: int) -> HttpResponse:
    return _act(request, selection_id, "draw", services.selection_draw, _("已摇出一组新号码"))


@citizen_required
@require_POST
def compose(request: HttpRequest, selection_id: int) -> HttpResponse:
    sel = _selection(request, selection_id)
    form = ComposeForm(request.POST)
    if not form.is_valid():
        return _page(request, sel, compose_form=form, status=400)
    try:
        number = services.selection_compose(user=request.user, selection_id=sel.pk, number=form.cleaned_data["number"],
                                            ip=client_ip(request))
    except DomainError as exc:
        status = form_error(form, exc)
        return _page(request, sel, compose_form=form, status=status)
    return _page(request, sel, compose_form=form, composed=number)


@citizen_required
@require_POST
def hold(request: HttpRequest, selection_id: int) -> HttpResponse:
    number = request.POST.get("number", "")[:16]
    return _act(request, selection_id, "hold", services.selection_hold, _("号码已锁定，请在锁定时间内确认"),
                fingerprint=number, number=number)


@citizen_required
@require_POST
def keep(request: HttpRequest, selection_id: int) -> HttpResponse:
    number = request.POST.get("number", "")[:16]
    return _act(request, selection_id, "keep", services.selection_keep_previous, _("原号牌已锁定，请在锁定时间内确认"),
                fingerprint=number, number=number)


@citizen_required
@require_POST
def confirm(request: HttpRequest, selection_id: int) -> HttpResponse:
    sel = _selection(request, selection_id)
    held = selectors.current_hold(selection=sel)
    if request.POST.get("understood") != "yes":  # irreversible: the explicit tick is required, JavaScript or not
        return _page(request, sel, status=400,
                     confirm_error=_("请勾选“我已核对”：号牌号码确定后不可更改。"))
    done = _("号牌已确定：%(plate)s") % {"plate": format_plate(held.number) if held else ""}
    return _act(request, selection_id, "confirm", services.selection_confirm, done)


@citizen_required
@require_POST
def release(request: HttpRequest, selection_id: int) -> HttpResponse:
    return _act(request, selection_id, "release", services.selection_release, _("已释放号码"))
