"""The console's staff accounts: logging in and out, and the administrator's list of staff accounts (create,
disable, enable)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.console.forms import StaffCreateForm, StaffLoginForm
from jiaoguan.console.views import staff_required
from jiaoguan.core import masking
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import choice_label
from jiaoguan.identity.roles import Role
from jiaoguan.identity.selectors import staff_accounts, staff_get
from jiaoguan.identity.services import login_with_password, staff_create, staff_set_active

# --- log in / out ------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    status = 200
    form = StaffLoginForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                user = login_with_password(login=form.cleaned_data["username"], password=form.cleaned_data["password"],
                                           ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc, rename={"login": "username", "phone": "username"})
            else:
                if not user.is_police:
                    form.add_error(None, _("此入口仅供工作人员使用。市民请从市民门户登录。"))
                    status = 403
                else:
                    auth_login(request, user)
                    target = request.POST.get("next") or ""
                    if not (target.startswith("/console/") and url_has_allowed_host_and_scheme(
                            target, allowed_hosts={request.get_host()})):
                        target = reverse("console:index")
                    return redirect(target)
        else:
            status = 400
    return render(request, "console/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("console:login")


# --- staff accounts ----------------------------------------------------------------------------------------------

@staff_required("staff.manage")
@require_http_methods(["GET", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    status = 200
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = staff_create(actor=request.user, username=data["username"].strip(),
                                       display_name=data["display_name"].strip(), role=data["role"],
                                       password=data["password"], phone=data["phone"].strip() or None)
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                messages.success(request, _("已创建工作人员账户 %(username)s") % {"username": created.username})
                return redirect("console:staff")
        else:
            status = 400
    staff = [{
        "user": u, "role": choice_label(Role, u.role), "phone": masking.mask_phone(u.phone),
    } for u in staff_accounts()]
    return render(request, "console/staff.html", {"form": form, "staff": staff}, status=status)


@staff_required("staff.manage")
@require_POST
def staff_active(request: HttpRequest, user_id: int) -> HttpResponse:
    target = staff_get(user_id=user_id)
    if target is None:
        raise NotFound("console.staff_not_found", "工作人员账户不存在", "The staff account does not exist")
    active = request.POST.get("active") == "1"
    staff_set_active(actor=request.user, user=target, active=active)
    if active:
        messages.success(request, _("已启用账户 %(username)s") % {"username": target.username})
    else:
        messages.success(request, _("已停用账户 %(username)s") % {"username": target.username})
    return redirect("console:staff")
