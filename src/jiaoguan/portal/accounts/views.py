"""The citizen's account pages: registration, login and logout, password reset, "my" page, changing the phone,
binding vehicles, and the inbox. Parse the form, call an identity / notifications service or selector, render.

No business rule lives here. A service's ``DomainError`` is shown beside the field it concerns, with what the
user typed kept (passwords excepted), and the page answers with the error's 4xx status.
"""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.core.errors import DomainError
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.masking import mask_address, mask_phone
from jiaoguan.identity import rules as identity_rules
from jiaoguan.identity.selectors import (
    binding_of,
    is_enterprise_account,
    my_bindings,
    phone_file_change_latest,
)
from jiaoguan.identity.services import (
    account_phone_change,
    binding_confirm,
    binding_end,
    binding_request,
    citizen_register,
    contact_address_change,
    login_with_password,
    login_with_sms,
    phone_on_file_change_cancel,
    phone_on_file_change_object,
    phone_on_file_change_request,
    sms_code_request,
)
from jiaoguan.identity.services import password_reset as reset_password
from jiaoguan.notifications.selectors import inbox_entries, unread_count
from jiaoguan.notifications.services import message_mark_read
from jiaoguan.portal.forms import (
    AddressChangeForm,
    BindForm,
    CodeForm,
    ObjectionForm,
    PasswordLoginForm,
    PasswordResetForm,
    PhoneChangeForm,
    PhoneFileChangeForm,
    PhoneForm,
    RegisterForm,
    SmsLoginForm,
)
from jiaoguan.portal.records_parts import PAGE_PART
from jiaoguan.portal.views import citizen_required
from jiaoguan.records.selectors import part_for

REGISTER_PHONE = "portal.register_phone"


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

@citizen_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    if is_enterprise_account(user):
        return redirect("portal:enterprise")  # a company has no licence: its home is the enterprise page
    # the licence card, the vehicles and the standing come from the read model (portal.records_parts): one
    # lookup instead of computing them on every visit; the pending bindings and the unread count are read live
    page = json.loads(part_for(user_id=user.pk, part=PAGE_PART, language=get_language()).body() or "{}")
    pending = my_bindings(user=user, status="pending")
    standing = page.get("standing") or {"ok": True}
    context = {
        "page": page,
        "licence_html": mark_safe(page.get("licence_html") or ""),  # noqa: S308 - rendered by our own templates
        "vehicles_html": mark_safe(page.get("vehicles_html") or ""),  # noqa: S308 - (autoescaped) at build time
        "glance_html": mark_safe(page.get("glance_html") or ""),  # noqa: S308 - likewise
        "pending_bindings": pending,
        "unread": unread_count(user=user),
        "standing": standing,
        "standing_notice": standing.get("notice", ""),
    }
    return render(request, "portal/me.html", context)


@citizen_required
@require_http_methods(["GET", "POST"])
def address_change(request: HttpRequest) -> HttpResponse:
    """联系方式变更: the contact address on file (where documents are posted), with the current password; only
    while the records are visible (identity.services.contact_address_change says why not otherwise)."""
    status = 200
    form = AddressChangeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                contact_address_change(user=request.user, address=form.cleaned_data["address"],
                                       password=form.cleaned_data["password"], ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                messages.success(request, _("联系地址已变更，今后证件将邮寄至新地址。"))
                return redirect("portal:me")
        else:
            status = 400
    person = request.user.person if request.user.person_id else None
    current = mask_address(person.address) if person is not None and person.address else ""
    return render(request, "portal/address_change.html", {"form": form, "current": current}, status=status)


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
                    update_session_auth_hash(request, user)  # this session stays; the account's others end
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
def phone_file_change(request: HttpRequest) -> HttpResponse:
    """联系方式变更 of the phone on file: a code to the new number, then the code and the current password; the
    change cools off before it takes effect (identity.services.phone_on_file), and can be withdrawn meanwhile."""
    status = 200
    action = request.POST.get("action")
    if request.method == "POST" and action == "cancel":
        try:
            phone_on_file_change_cancel(user=request.user, ip=client_ip(request))
        except DomainError as exc:
            messages.error(request, exc.message())
        else:
            messages.success(request, _("已撤销预留手机号变更，预留手机号不变。"))
        return redirect("portal:phone_file_change")
    sending = action == "send"
    form = PhoneFileChangeForm(request.POST or None, sending=sending)
    if request.method == "POST":
        try:
            if not form.is_valid():
                status = 400
            elif sending:
                data = form.cleaned_data
                sms_code_request(phone=data["new_phone"], purpose="phone_file", ip=client_ip(request),
                                 user=request.user)
                messages.success(request, _("验证码已发送至 %(phone)s，5分钟内有效。")
                                 % {"phone": mask_phone(data["new_phone"])})
                form = PhoneFileChangeForm(initial={"new_phone": data["new_phone"]})
            elif not form.cleaned_data["code"]:
                form.add_error("code", _("请输入短信验证码"))
                status = 400
            else:
                data = form.cleaned_data
                phone_on_file_change_request(user=request.user, new_phone=data["new_phone"], code=data["code"],
                                             password=data["password"], ip=client_ip(request))
                messages.success(request, _("预留手机号变更已受理，冷静期满后生效。"))
                return redirect("portal:phone_file_change")
        except DomainError as exc:
            status = form_error(form, exc, rename={"phone": "new_phone"})
    person = request.user.person if request.user.person_id else None
    latest = phone_file_change_latest(user=request.user)
    context = {
        "form": form,
        "current": mask_phone(person.phone) if person is not None and person.phone else "",
        "change": latest,
        "cooling": latest is not None and latest.status == latest.Status.COOLING,
        "new_phone": mask_phone(latest.new_phone) if latest is not None and latest.new_phone else "",
        "cooling_hours": settings.JIAOGUAN_PHONE_FILE_COOLING_HOURS,
    }
    return render(request, "portal/phone_file_change.html", context, status=status)


@require_http_methods(["GET", "POST"])
def phone_file_object(request: HttpRequest) -> HttpResponse:
    """撤销预留手机号变更: whoever holds the old phone on file stops a change with the code it was sent; no login."""
    status = 200
    form = ObjectionForm(request.POST or None)
    stopped = False
    if request.method == "POST":
        if form.is_valid():
            try:
                phone_on_file_change_object(code=form.cleaned_data["code"], ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                stopped = True
        else:
            status = 400
    return render(request, "portal/phone_file_object.html", {"form": form, "stopped": stopped}, status=status)


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
    if not identity_rules.BINDINGS.allows(binding.status, "active"):  # only a pending request can be confirmed
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
