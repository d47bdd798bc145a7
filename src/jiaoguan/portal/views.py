"""The citizens' pages: parse the form, call an identity / registry / notifications service or selector, render.

No business rule lives here. A service's ``DomainError`` is shown beside the field it concerns, with what the
user typed kept (passwords excepted), and the page answers with the error's 4xx status.
"""
from __future__ import annotations

import json
import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.idempotency import idempotent
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity.selectors import (
    account_standing,
    binding_of,
    is_enterprise_account,
    my_bindings,
    my_licence,
    my_vehicles,
)
from jiaoguan.identity.services import (
    account_phone_change,
    binding_confirm,
    binding_end,
    binding_request,
    citizen_register,
    login_with_password,
    login_with_sms,
    sms_code_request,
)
from jiaoguan.identity.services import (
    password_reset as reset_password,
)
from jiaoguan.notifications.selectors import inbox_entries, unread_count
from jiaoguan.notifications.services import message_mark_read
from jiaoguan.payments.models import Order
from jiaoguan.payments.reference import (
    reference_barcode_svg,
    reference_display,
    reference_qr_svg,
)
from jiaoguan.payments.selectors import (
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
from jiaoguan.portal.forms import (
    BindForm,
    CodeForm,
    PasswordLoginForm,
    PasswordResetForm,
    PayOrderForm,
    PhoneChangeForm,
    PhoneForm,
    ReferenceLookupForm,
    RegisterForm,
    SmsLoginForm,
)

REGISTER_PHONE = "portal.register_phone"


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


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _after_login(request: HttpRequest, user) -> HttpResponse:
    auth_login(request, user)
    if user.is_police:
        return redirect("console:index")
    return redirect(_safe_next(request, reverse("portal:me")))


# --- home --------------------------------------------------------------------------------------------------------

def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"catalogue": catalogue.CATALOGUE})


# --- registration ------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone number; a code is sent to it (rate-limited per phone and per address)."""

    status = 200
    form = PhoneForm(request.POST or None, initial={"phone": request.session.get(REGISTER_PHONE, "")})
    if request.method == "POST":
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            try:
                sms_code_request(phone=phone, purpose="register", ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                request.session[REGISTER_PHONE] = phone  # step 2 says where the code went
                return redirect("portal:register_details")
        else:
            status = 400
    return render(request, "portal/register_phone.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def register_details(request: HttpRequest) -> HttpResponse:
    """Step 2: the code, the real name and ID number (checked against the registry), the password twice."""

    phone = request.session.get(REGISTER_PHONE)
    if not phone:
        return redirect("portal:register")
    status = 200
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = citizen_register(phone=phone, code=data["code"], name=data["name"], id_number=data["id_number"],
                                        password=data["password"], ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc, rename={"phone": "code"})
            else:
                request.session.pop(REGISTER_PHONE, None)
                auth_login(request, user)
                messages.success(request, _("注册成功，已完成实名认证。"))
                return redirect("portal:me")
        else:
            status = 400
    return render(request, "portal/register_details.html", {"form": form, "phone": mask_phone(phone)}, status=status)


# --- login, logout, password reset -------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Log in with phone + password, or with phone + SMS code (?method=sms). Works without JavaScript: the SMS
    form has two buttons, one asks for a code, the other logs in."""

    method = "sms" if (request.POST.get("method") or request.GET.get("method")) == "sms" else "password"
    status = 200
    if method == "password":
        form = PasswordLoginForm(request.POST or None)
        if request.method == "POST":
            if form.is_valid():
                try:
                    user = login_with_password(login=form.cleaned_data["login"], password=form.cleaned_data["password"],
                                               ip=client_ip(request))
                except DomainError as exc:
                    status = form_error(form, exc, rename={"phone": "login", "username": "login"})
                else:
                    return _after_login(request, user)
            else:
                status = 400
    else:
        form = SmsLoginForm(request.POST or None)
        if request.method == "POST":
            if form.is_valid():
                phone, code = form.cleaned_data["phone"], form.cleaned_data["code"]
                try:
                    if request.POST.get("action") == "send":
                        sms_code_request(phone=phone, purpose="login", ip=client_ip(request))
                        messages.success(request, _("验证码已发送至 %(phone)s，5分钟内有效。") % {"phone": mask_phone(phone)})
                        form = SmsLoginForm(initial={"phone": phone})
                    elif not code:
                        form.add_error("code", _("请输入短信验证码"))
                        status = 400
                    else:
                        user = login_with_sms(phone=phone, code=code, ip=client_ip(request))
                        return _after_login(request, user)
                except DomainError as exc:
                    status = form_error(form, exc)
            else:
                status = 400
    context = {"form": form, "method": method, "next": _safe_next(request, "")}
    return render(request, "portal/login.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.success(request, _("您已安全退出。"))
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    status = 200
    sending = request.POST.get("action") == "send"
    form = PasswordResetForm(request.POST or None, sending=sending)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if sending:
                    sms_code_request(phone=data["phone"], purpose="reset", ip=client_ip(request))
                    messages.success(request, _("验证码已发送至 %(phone)s，5分钟内有效。") % {"phone": mask_phone(data["phone"])})
                    form = PasswordResetForm(initial={"phone": data["phone"]})
                elif not data["code"]:
                    form.add_error("code", _("请输入短信验证码"))
                    status = 400
                else:
                    reset_password(phone=data["phone"], code=data["code"], new_password=data["new_password"],
                                   ip=client_ip(request))
                    messages.success(request, _("密码已重置，请使用新密码登录。"))
                    return redirect("portal:login")
            except DomainError as exc:
                status = form_error(form, exc, rename={"password": "new_password"})
        else:
            status = 400
    return render(request, "portal/password_reset.html", {"form": form}, status=status)


# --- my page -----------------------------------------------------------------------------------------------------

def _in_english() -> bool:
    return (get_language() or "").startswith("en")


@citizen_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    if is_enterprise_account(user):
        return redirect("portal:enterprise")  # a company has no licence: its home is the enterprise page
    pending = [b for b in my_bindings(user=user) if b.status == "pending"]
    standing = account_standing(user=user)
    context = {
        "licence": my_licence(user=user),
        "vehicles": my_vehicles(user=user),
        "pending_bindings": pending,
        "unread": unread_count(user=user),
        "person": user.person,
        "standing": standing,
        "standing_notice": standing.message_en if _in_english() else standing.message_zh,
    }
    return render(request, "portal/me.html", context)


@citizen_required
@require_http_methods(["GET", "POST"])
def phone_change(request: HttpRequest) -> HttpResponse:
    """Change the account's phone (after the phone on file was updated at a window): a code to the new phone,
    then the code and the current password. Two buttons on one form, no JavaScript."""

    status = 200
    sending = request.POST.get("action") == "send"
    form = PhoneChangeForm(request.POST or None, sending=sending)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if sending:
                    sms_code_request(phone=data["new_phone"], purpose="phone", ip=client_ip(request),
                                     user=request.user)
                    messages.success(request, _("验证码已发送至 %(phone)s，5分钟内有效。")
                                     % {"phone": mask_phone(data["new_phone"])})
                    form = PhoneChangeForm(initial={"new_phone": data["new_phone"]})
                elif not data["code"]:
                    form.add_error("code", _("请输入短信验证码"))
                    status = 400
                else:
                    user = account_phone_change(user=request.user, new_phone=data["new_phone"], code=data["code"],
                                                password=data["password"], ip=client_ip(request))
                    messages.success(request, _("手机号已更换为 %(phone)s。") % {"phone": mask_phone(user.phone)})
                    return redirect("portal:me")
            except DomainError as exc:
                status = form_error(form, exc, rename={"phone": "new_phone"})
        else:
            status = 400
    context = {"form": form, "current_phone": mask_phone(request.user.phone) if request.user.phone else ""}
    return render(request, "portal/phone_change.html", context, status=status)


@citizen_required
@require_http_methods(["GET", "POST"])
def bind(request: HttpRequest) -> HttpResponse:
    """Bind someone else's vehicle: plate, plate type, last 4 of the VIN; the owner receives a code by SMS."""

    status = 200
    form = BindForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                binding = binding_request(user=request.user, plate=data["plate"], plate_type=data["plate_type"],
                                          vin_last4=data["vin_last4"])
            except DomainError as exc:
                status = form_error(form, exc, rename={"vin": "vin_last4"})
            else:
                messages.success(request, _("验证码已发送至车主预留的手机号码，请向车主获取验证码。"))
                return redirect("portal:bind_confirm", binding_id=binding.id)
        else:
            status = 400
    return render(request, "portal/bind.html", {"form": form}, status=status)


def _my_binding(user, binding_id: int):
    """One of the user's own bindings, or 404: another citizen's binding id looks exactly like a missing one."""
    binding = binding_of(user=user, binding_id=binding_id)
    if binding is None:
        raise Http404
    return binding


@citizen_required
@require_http_methods(["GET", "POST"])
def bind_confirm(request: HttpRequest, binding_id: int) -> HttpResponse:

    binding = _my_binding(request.user, binding_id)
    if binding.status != "pending":
        return redirect("portal:me")
    status = 200
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                binding_confirm(user=request.user, binding_id=binding.id, code=form.cleaned_data["code"])
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                messages.success(request, _("绑定成功：%(plate)s") % {"plate": _plate(binding)})
                return redirect(reverse("portal:me") + "#vehicles")
        else:
            status = 400
    return render(request, "portal/bind_confirm.html", {"form": form, "binding": binding}, status=status)


@citizen_required
@require_http_methods(["GET", "POST"])
def unbind(request: HttpRequest, binding_id: int) -> HttpResponse:
    """GET asks "are you sure?"; POST ends the binding (the service refuses a binding that is not the user's)."""

    binding = _my_binding(request.user, binding_id)
    if request.method == "POST":
        binding_end(user=request.user, binding_id=binding.id)
        messages.success(request, _("已解绑：%(plate)s") % {"plate": _plate(binding)})
        return redirect(reverse("portal:me") + "#vehicles")
    return render(request, "portal/unbind.html", {"binding": binding})


def _plate(binding) -> str:
    return format_plate(binding.plate)


# --- messages ----------------------------------------------------------------------------------------------------

@citizen_required
def inbox(request: HttpRequest) -> HttpResponse:

    return render(request, "portal/messages.html",
                  {"messages_list": inbox_entries(user=request.user, language=get_language()),
                   "unread": unread_count(user=request.user)})


@citizen_required
@require_POST
def message_read(request: HttpRequest, message_id: int) -> HttpResponse:

    message_mark_read(user=request.user, message_id=message_id)
    return redirect(reverse("portal:messages") + f"#m{message_id}")


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
            actor = Actor.of(request.user, ip=client_ip(request))

            def run():
                order = order_create(payer_person_id=person_id, item_ids=ids, actor=actor)
                return 201, {"reference": order.reference}

            try:
                _, body = idempotent(scope=f"user:{request.user.pk}:payments.order",
                                     key=form.cleaned_data["idempotency_key"],
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
        url = order_pay(order=order, actor=Actor.of(request.user, ip=client_ip(request)))
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
        outcome = order_reconcile(order=order, actor=Actor.of(request.user, ip=client_ip(request)))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        order.refresh_from_db(fields=["status"])
        if order.status == Order.Status.PAID:
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
