"""Pages under /pay/: the channel simulator's pay page and the e-receipt (电子回单). Thin: parse, authorise,
call a service or selector, render."""
from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jiaoguan.core.errors import DomainError
from jiaoguan.payments import simulator
from jiaoguan.payments.channels import channel_names
from jiaoguan.payments.models import Order
from jiaoguan.payments.reference import (
    KIND_ORDER,
    reference_barcode_svg,
    reference_display,
    reference_parse,
    reference_qr_svg,
)
from jiaoguan.payments.selectors import receipt_for_order

_SVG_SIZE = re.compile(r'^<svg([^>]*?)\swidth="([\d.]+)(mm|px)?"\s+height="([\d.]+)(mm|px)?"')
_PX_PER = {"mm": 96 / 25.4, "px": 1.0, None: 1.0}


def svg_fluid(svg: str) -> str:
    """Give an inline SVG from reference_barcode_svg / reference_qr_svg a viewBox, so CSS can size it (fill a
    phone's width, print at a fixed size) without cropping. Its fixed width and height stay as the default size.
    (Belongs next to those two functions in payments.reference.)"""
    svg = str(svg or "")
    m = _SVG_SIZE.match(svg)
    if not m:
        return svg
    w = float(m.group(2)) * _PX_PER[m.group(3)]
    h = float(m.group(4)) * _PX_PER[m.group(5)]
    return (f'<svg{m.group(1)} width="{m.group(2)}{m.group(3) or ""}" height="{m.group(4)}{m.group(5) or ""}" '
            f'viewBox="0 0 {w:.3f} {h:.3f}" preserveAspectRatio="xMidYMid meet"' + svg[m.end():])


@require_http_methods(["GET", "POST"])
def sim_pay(request: HttpRequest, token: str) -> HttpResponse:
    """The simulator's pay page (it stands for the provider's page): the payer confirms or cancels."""
    if "sim" not in channel_names():
        raise Http404
    try:
        trade = simulator.sim_trade_by_token(token)
    except DomainError:
        raise Http404 from None
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                trade = simulator.sim_trade_cancel(token=token)
            else:
                trade = simulator.sim_trade_confirm(token=token)
        except DomainError as exc:
            error = exc.message()
        else:
            return redirect("payments:sim_pay", token=token)
    return render(request, "payments/sim_pay.html", {"trade": trade, "error": error,
                                                      "reference": reference_display(trade.out_trade_no)},
                  status=409 if error else 200)


@login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """The printable e-receipt of a paid order: only its payer sees it (others get 404, no probing)."""
    try:
        ref = reference_parse(reference, kind=KIND_ORDER)
    except DomainError:
        raise Http404 from None
    person_id = getattr(request.user, "person_id", None)
    order = Order.objects.filter(reference=ref.code).first()
    if order is None or person_id is None or order.payer_person_id != person_id:
        raise Http404
    data = receipt_for_order(order=order)
    if data is None:
        raise Http404
    return render(request, "payments/receipt.html", {
        "r": data, "reference": reference_display(order.reference),
        "barcode_svg": svg_fluid(reference_barcode_svg(order.reference)),
        "qr_svg": svg_fluid(reference_qr_svg(order.reference))})
