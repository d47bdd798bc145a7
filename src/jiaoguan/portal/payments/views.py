"""Pages under /pay/: the channel simulator's pay page and the e-receipt (电子回单). Thin: parse, authorise,
call a service or selector, render."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jiaoguan.core.errors import DomainError
from jiaoguan.payments import simulator
from jiaoguan.payments.channels import channel_names
from jiaoguan.payments.reference import reference_barcode_svg, reference_display, reference_qr_svg, svg_fluid
from jiaoguan.payments.selectors import order_for_payer, receipt_for_order


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
    return render(request, "portal/payments/sim_pay.html", {"trade": trade, "error": error,
                                                             "reference": reference_display(trade.out_trade_no)},
                  status=409 if error else 200)


@login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """The printable e-receipt of a paid order: only its payer sees it (others get 404, no probing)."""
    person_id = getattr(request.user, "person_id", None)
    if person_id is None:
        raise Http404
    try:
        order = order_for_payer(reference=reference, person_id=person_id)
    except DomainError:  # not a valid order reference, or not this payer's order
        raise Http404 from None
    data = receipt_for_order(order=order)
    if data is None:
        raise Http404
    return render(request, "portal/payments/receipt.html", {
        "r": data, "reference": reference_display(order.reference),
        "barcode_svg": svg_fluid(reference_barcode_svg(order.reference)),
        "qr_svg": svg_fluid(reference_qr_svg(order.reference))})
