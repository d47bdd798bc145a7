"""The portal's front door: the access rule of "我的" pages (``citizen_required``, used by every portal page
package), the home page, and the citizen's payments (我的缴费). The account pages are in ``portal.accounts``.

No business rule lives here. A service's ``DomainError`` is shown beside the field it concerns, with what the
user typed kept (passwords excepted), and the page answers with the error's 4xx status.
"""
from __future__ import annotations

import json
import secrets
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import actor_of
from jiaoguan.core.idempotency import once_for
from jiaoguan.payments.reference import (
    reference_barcode_svg,
    reference_display,
    reference_qr_svg,
)
from jiaoguan.payments.selectors import (
    OrderStatus,
    order_for_payer,
    order_items,
    orders_for_person,
    payable_amount_due,
    payable_by_reference,
    payables_unpaid_for_person,
    receipt_for_order,
)
from jiaoguan.payments.services import order_create, order_pay, order_reconcile
from jiaoguan.portal.applications import catalogue
from jiaoguan.portal.forms import PayOrderForm, ReferenceLookupForm

# --- access ----------------------------------------------------------------------------------------------------

def citizen_required(view):
    """Pages of "我的": anonymous visitors go to the login page and come back; staff accounts go to the console."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            # come back here after logging in; after a POST (a button on an expired session), to "my" page
            back = request.get_full_path() if request.method == "GET" else reverse("portal:me")
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': back})}")
        if user.is_police:
            return redirect("console:index")
        return view(request, *args, **kwargs)

    return wrapper


# --- home --------------------------------------------------------------------------------------------------------

def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"catalogue": catalogue.CATALOGUE})


# --- my payments (我的缴费) -----------------------------------------------------------------------------------------

def _person_id(request: HttpRequest) -> int:
    """Payments are the registry person's: an account without one has nothing to pay here."""
    person_id = request.user.person_id
    if not person_id:
        raise Http404
    return person_id


def _payable_row(item) -> dict:
    principal, fee, total = payable_amount_due(item=item)
    return {"item": item, "principal_fen": principal, "late_fee_fen": fee, "total_fen": total,
            "reference": reference_display(item.reference), "barcode_svg": reference_barcode_svg(item.reference),
            "qr_svg": reference_qr_svg(item.reference, scale=4)}


def _pay_form(data=None) -> PayOrderForm:
    """The order form; a fresh Idempotency-Key is written into every rendering, so submitting the same page twice
    (a double tap, a browser resend) creates one order."""
    return PayOrderForm(data, initial={"idempotency_key": secrets.token_urlsafe(24)})


@citizen_required
@require_http_methods(["GET", "POST"])
def payments(request: HttpRequest) -> HttpResponse:
    """我的缴费: unpaid items with today's late fee and their codes; ticked items become one order, which goes
    straight to the channel's pay page. Below, past orders with their receipts."""
    person_id = _person_id(request)
    status = 200
    form = _pay_form()
    if request.method == "POST":
        form = _pay_form(request.POST)
        if form.is_valid():
            ids = form.cleaned_data["item_ids"]
            actor = actor_of(request)

            def run():
                order = order_create(payer_person_id=person_id, item_ids=ids, actor=actor)
                return 201, {"reference": order.reference}

            try:
                _, body = once_for(request.user, "payments.order", key=form.cleaned_data["idempotency_key"],
                                   fingerprint=json.dumps(ids), run=run)
            except DomainError as exc:
                status = form_error(form, exc, rename={"Idempotency-Key": "item_ids"})
            else:
                return _go_pay(request, body["reference"], person_id)
        else:
            status = 400
        form.data = form.data.copy()
        form.data["idempotency_key"] = secrets.token_urlsafe(24)  # a new attempt is a new request
    context = {"form": form, "rows": [_payable_row(i) for i in payables_unpaid_for_person(person_id=person_id)],
               "orders": orders_for_person(person_id=person_id), "lookup": ReferenceLookupForm()}
    return render(request, "portal/payments.html", context, status=status)


def _go_pay(request: HttpRequest, reference: str, person_id: int) -> HttpResponse:
    """To the channel's pay page for the order (the same page again for an order already being paid); an order
    that cannot be paid any more (paid meanwhile, expired) goes to its own page, which says why."""
    order = order_for_payer(reference=reference, person_id=person_id)
    try:
        url = order_pay(order=order, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
        return redirect("portal:payment_order", reference=order.reference)
    return redirect(url)


def _my_order(request: HttpRequest, reference: str):
    try:
        return order_for_payer(reference=reference, person_id=_person_id(request))
    except DomainError:  # a malformed reference, or not this person's order: both look like a missing page
        raise Http404 from None


@citizen_required
def payment_order(request: HttpRequest, reference: str) -> HttpResponse:
    """One of my orders: its lines and status; pay (again) while open, the e-receipt once paid."""
    order = _my_order(request, reference)
    context = {"order": order, "lines": order_items(order=order), "reference": reference_display(order.reference),
               "receipt": receipt_for_order(order=order)}
    return render(request, "portal/payment_order.html", context)


@citizen_required
@require_POST
def payment_order_pay(request: HttpRequest, reference: str) -> HttpResponse:
    order = _my_order(request, reference)
    return _go_pay(request, order.reference, order.payer_person_id)


@citizen_required
@require_POST
def payment_order_refresh(request: HttpRequest, reference: str) -> HttpResponse:
    """"I have paid": ask the channel about the order now instead of waiting for its callback."""
    order = _my_order(request, reference)
    try:
        outcome = order_reconcile(order=order, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        order.refresh_from_db(fields=["status"])
        if order.status == OrderStatus.PAID:
            messages.success(request, _("缴费成功，电子回单已生成。"))
        elif outcome == "closed":
            messages.error(request, _("支付渠道未收到付款，订单已关闭，请重新缴费。"))
        else:
            messages.info(request, _("尚未收到支付结果，请稍后再查。"))
    return redirect("portal:payment_order", reference=order.reference)


@citizen_required
def payment_lookup(request: HttpRequest) -> HttpResponse:
    """缴款编号查询: a typed or scanned reference. Its range and check digits are verified before anything is
    looked up; only the citizen's own item is shown (someone else's looks exactly like an unknown one)."""
    person_id = _person_id(request)
    status = 200
    row = None
    form = ReferenceLookupForm(request.GET if "reference" in request.GET else None)
    if form.is_bound:
        if form.is_valid():
            try:
                item = payable_by_reference(text=form.cleaned_data["reference"], person_id=person_id)
            except NotFound as exc:  # unknown, or someone else's: the same answer
                form.add_error("reference", exc.message())
                status = 404
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                row = _payable_row(item)
        else:
            status = 400
    return render(request, "portal/payment_lookup.html",
                  {"form": form, "row": row, "pay_form": _pay_form()}, status=status)
